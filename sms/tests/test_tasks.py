"""The task engine: eager tasks without a broker, and real Celery workers on Redis."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from sms import tasks
from sms.models import OutboundMessage, State
from sms.testing import create_message

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEXTING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PG_URL = os.environ.get("TEXTING_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def test_tasks_acknowledge_late():
    for task in (tasks.dispatch_due, tasks.check_delivery, tasks.recover_stuck):
        assert task.acks_late is True


@pytest.mark.django_db
def test_without_a_broker_tasks_run_inline(outbox):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    message = create_message()
    assert outbox == []  # queueing alone never sends when there is no broker
    tasks.dispatch_due.delay()
    message.refresh_from_db()
    assert message.state == State.SENT and len(outbox) == 1


@pytest.mark.django_db
def test_an_unreachable_broker_never_breaks_queueing(settings, outbox, django_capture_on_commit_callbacks):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    from texting.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL
    app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            message = create_message()
        assert len(callbacks) == 1
    finally:
        app.conf.task_always_eager = True
        app.conf.broker_url = None
    assert OutboundMessage.objects.get(pk=message.pk).state == State.WAITING


# --- Real workers on Redis ----------------------------------------------------------------------


def _redis_or_skip():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        pytest.skip(f"Redis is unreachable at {REDIS_URL} ({exc}); the real-worker test needs it")


def _pg_database_or_skip():
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


def _run(env, *args, timeout=120):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


class Rows:
    """Reads the worker's database directly, without this process's Django connection."""

    def __init__(self, url):
        self.url = url

    def query(self, sql):
        if self.url.startswith("sqlite:///"):
            with sqlite3.connect(self.url[len("sqlite:///") :], timeout=30) as conn:
                return conn.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchall()


WORKER = [sys.executable, "-m", "celery", "-A", "texting", "worker", "--pool=solo", "--loglevel=WARNING"]
WORKER += ["--without-gossip", "--without-mingle", "--without-heartbeat"]

MIGRATE = """
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
"""
QUEUE = """
from sms.queueing import build_message, queue_messages
queue_messages([build_message(f"+4479111{i:05d}", f"Hello {i}") for i in range(300)])
"""
ENQUEUE_MORE = """
from sms.tasks import dispatch_due
for _ in range(4):
    dispatch_due.apply_async(kwargs={"batch_size": 25})
"""


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_real_workers_send_every_queued_text_exactly_once(engine, tmp_path):
    _redis_or_skip()
    drop = None
    if engine == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    else:
        database_url, drop = _pg_database_or_skip()
    queue = f"texting-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "texting.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "SMS_DEFAULT_BACKEND": "simulated",
        "LOG_LEVEL": "WARNING",
    }
    workers = []
    try:
        # One Django start-up: migrate, queue (which enqueues dispatch_due through the broker),
        # then more tasks at once so the workers race for rows.
        _run(env, "shell", "-c", MIGRATE + QUEUE + ENQUEUE_MORE)
        rows = Rows(database_url)
        assert rows.query("SELECT state, COUNT(*) FROM sms_outboundmessage GROUP BY state") == [("waiting", 300)]
        for n in range(2):
            workers.append(
                subprocess.Popen(
                    [*WORKER, f"-n=w{n}@%h"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = dict(rows.query("SELECT state, COUNT(*) FROM sms_outboundmessage GROUP BY state"))
            if states.get("sent") == 300:
                break
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.3)
        assert states == {"sent": 300}, states
        assert rows.query(
            "SELECT MAX(number_of_send_attempts), MIN(number_of_send_attempts) FROM sms_outboundmessage"
        ) == [(1, 1)]
        # One SENDING and one SENT entry per text: claimed once, sent once.
        per_message = rows.query(
            "SELECT message_id, COUNT(*) FROM sms_statuschange WHERE state IN ('sending', 'sent') "
            "GROUP BY message_id HAVING COUNT(*) <> 2"
        )
        assert per_message == []
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        if drop:
            drop()
