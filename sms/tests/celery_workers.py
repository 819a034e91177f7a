"""Real Celery workers on Redis for tests: a throwaway database (a SQLite file or a fresh
PostgreSQL database), Django commands run in it, worker subprocesses, and their clean-up.

Shared by the sms task-engine tests and the project-wide Celery tests, so both start,
watch and stop workers the same way.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEXTING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_URL = os.environ.get("TEXTING_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
WORKER = [sys.executable, "-m", "celery", "-A", "texting", "worker", "--pool=solo", "--loglevel=WARNING"]
WORKER += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
MIGRATE = """
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
"""


def redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        pytest.skip(f"Redis is unreachable at {REDIS_URL} ({exc}); the real-worker test needs it")


def pg_database_or_skip():
    import psycopg

    name = f"texting_celery_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=2) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        pytest.skip(f"PostgreSQL is unreachable at {PG_URL} ({exc})")

    def drop():
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return PG_URL.rsplit("/", 1)[0] + f"/{name}", drop


class Workers:
    """``with Workers("sqlite", tmp_path) as w:`` a database and a queue of the test's own."""

    def __init__(self, engine: str, tmp_path: Path, **env: str):
        redis_or_skip()
        self.drop = None
        if engine == "sqlite":
            self.database_url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
        else:
            self.database_url, self.drop = pg_database_or_skip()
        self.queue = f"texting-test-{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "texting.settings",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "SMS_DEFAULT_BACKEND": "simulated",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        for worker in self.processes:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.processes:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        if self.drop:
            self.drop()

    def shell(self, code: str, timeout: float = 120) -> str:
        """Run Python in ``manage.py shell`` against the test's database (one Django start-up)."""
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self, name: str) -> None:
        self.processes.append(
            subprocess.Popen(
                [*WORKER, f"-n={name}@%h"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        )

    def query(self, sql: str) -> list[tuple]:
        """Read the workers' database directly, without this process's Django connection."""
        if self.database_url.startswith("sqlite:///"):
            with sqlite3.connect(self.database_url[len("sqlite:///") :], timeout=30) as conn:
                return conn.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql).fetchall()

    def wait_for_states(self, expected: dict[str, int], timeout: float = 60) -> dict[str, int]:
        """Poll outbound states until they equal ``expected`` (or time out); fail if a worker dies."""
        deadline = time.monotonic() + timeout
        states: dict[str, int] = {}
        while time.monotonic() < deadline:
            states = dict(self.query("SELECT state, COUNT(*) FROM sms_outboundmessage GROUP BY state"))
            if states == expected:
                break
            assert all(w.poll() is None for w in self.processes), "a worker died"
            time.sleep(0.3)
        return states
