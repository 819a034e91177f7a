"""Inbound webhook throughput under gunicorn, against a bare Django view in the same run.

    python bench/inbound.py [--requests 1500] [--connections 8] [--outbound 1000000] [--inbound 200000]

Production set-up: PostgreSQL (a database of its own, created and emptied here), persistent
connections with health checks (``texting.settings_production``), a Redis broker and one Celery
worker running the deferred pipeline (classifier, auto-replies), ``gunicorn -w 2``. The load
generator is a pool of threads, each on its own ``requests`` session, posting Twilio-signed
inbound texts (``/sms/inbound/twilio/``) or the same form to ``/bench/bare/`` (a view returning
"OK" through the same middleware). Measured at an empty database and again after filling it
with ``--outbound`` / ``--inbound`` rows; at each size, the SQL queries of one request are
counted and each is EXPLAINed. Afterwards: every text stored once and sorted by the worker.

Targets (issue 11): inbound >= 0.25x the bare view; within 10 % between the two sizes;
<= 8 queries in the request; 0 errors; every text stored once and sorted.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-twilio-auth-token-0123456789ab"


def number(i: int) -> str:
    return f"+44791{i:07d}"  # the numbers bench/fill.py gives its contacts


SENDERS = 500  # a pool of customers replying (at the filled size they have texts from us)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="posts per measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--threads", type=int, default=1,
        help="threads per gunicorn worker (more than 1: the gthread worker; the webhook waits on the database)",
    )  # fmt: skip
    parser.add_argument("--outbound", type=int, default=1_000_000)
    parser.add_argument("--inbound", type=int, default=200_000)
    parser.add_argument("--numbers", type=int, default=100_000, help="distinct customers in the filled tables")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/texting_bench_inbound")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--worker-nice", type=int, default=10,
        help="niceness of the Celery worker (on one shared machine the webhook goes first; the worker catches up)",
    )  # fmt: skip
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(args, queue: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.inbound_settings",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SMS_PUBLIC_URL": "",
        "SMS_DEFAULT_BACKEND": "locmem",
        "LOCMEM_WEBHOOK_SECRET": "unused",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "MEDIA_ROOT": tempfile.mkdtemp(prefix="texting-bench-media-"),
    }


def create_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- Load ------------------------------------------------------------------------------------


class Load:
    """Posts from ``connections`` threads; each its own session (gunicorn's sync workers close
    the connection after each answer, as they would behind a proxy)."""

    def __init__(self, base_url: str, connections: int):
        self.base_url = base_url
        self.connections = connections
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.posted: list[str] = []

    def form(self, i: int) -> dict[str, str]:
        return {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": "AC" + "0" * 32,
            "From": number(i % SENDERS),
            "To": "+447700900001",
            "Body": ["Yes please", "Thanks!", "See you then", "Can we make it 11?", "OK"][i % 5],
            "NumMedia": "0",
        }

    def run(self, path: str, total: int, *, sign: bool) -> dict:
        import requests
        from twilio.request_validator import RequestValidator

        validator = RequestValidator(TOKEN)
        url = self.base_url + path
        local = threading.local()
        latencies: list[float] = []
        errors: list[str] = []
        posted: list[str] = []

        def one(_):
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            i = next(self.ids)
            form = self.form(i)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if sign:
                headers["X-Twilio-Signature"] = validator.compute_signature(url, form)
            started = time.perf_counter()
            try:
                response = session.post(url, data=urlencode(form), headers=headers, timeout=30)
                ok = response.status_code == 200
                detail = f"HTTP {response.status_code}: {response.text[:80]}"
            except requests.RequestException as exc:
                ok, detail = False, repr(exc)
            elapsed = time.perf_counter() - started
            with self.lock:
                latencies.append(elapsed)
                if ok:
                    posted.append(form["MessageSid"])
                else:
                    errors.append(detail)

        for i in range(min(20, total)):  # warm-up: imports, connections, first contacts
            one(i)
        latencies.clear()
        errors.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(self.connections) as pool:
            list(pool.map(one, range(total)))
        seconds = time.perf_counter() - started
        if sign:
            self.posted.extend(posted)
        latencies.sort()
        return {
            "rate": total / seconds,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "errors": errors,
        }


# --- In-process checks (Django in this process, on the same database) ----------------------------


def queries_of_one_request(explain: bool, posted: list[str]) -> list[tuple[str, str]]:
    """(SQL, plan summary) of one signed inbound post, through Django's test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from twilio.request_validator import RequestValidator

    form = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": number(7), "To": "+447700900001", "Body": "Yes"}
    url = "http://testserver/sms/inbound/twilio/"
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    with CaptureQueriesContext(connection) as captured:
        response = Client().post(
            "/sms/inbound/twilio/",
            urlencode(form),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )
    assert response.status_code == 200, response.content
    posted.append(form["MessageSid"])
    rows = []
    for query in captured.captured_queries:
        sql = query["sql"]
        plan = ""
        if explain and sql.lstrip().upper().startswith(("SELECT", "UPDATE")):
            analyse = "ANALYZE, TIMING OFF, " if sql.lstrip().upper().startswith("SELECT") else ""  # no second UPDATE
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN ({analyse}COSTS OFF) " + sql)
                lines = [line for (line,) in cursor.fetchall()]
                nodes = [line.strip(" ->") for line in lines if "Scan" in line]
                plan = "; ".join(nodes) or lines[0].strip()
                plan += " | " + next((line.strip() for line in lines if "Execution Time" in line), "")
        rows.append((sql, plan))
    return rows


def print_queries(rows) -> None:
    for number, (sql, plan) in enumerate(rows, 1):
        short = " ".join(sql.split())
        short = short[:110] + ("…" if len(short) > 110 else "")
        print(f"    {number}. {short}")
        if plan:
            print(f"       plan: {plan}")


def wait_sorted(posted: list[str], timeout: float) -> dict:
    from replies.models import Reply
    from sms.models import InboundMessage

    deadline = time.monotonic() + timeout
    ours = InboundMessage.objects.filter(backend="twilio").exclude(external_id__startswith="fill-")
    while time.monotonic() < deadline and ours.exclude(pipeline_state="done").exists():
        time.sleep(0.5)
    stored = list(ours.values_list("external_id", flat=True))
    return {
        "stored": len(stored),
        "same_ids": set(stored) == set(posted),
        "unsorted": ours.exclude(pipeline_state="done").count(),
        "replies": Reply.objects.filter(message__in=ours).count(),
    }


def main() -> None:
    args = parse_args()
    queue = f"texting-bench-{uuid.uuid4().hex[:8]}"
    env = environment(args, queue)
    os.environ.update(env)
    create_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _train_small_classifier()
    _seed_senders()

    port = free_port()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", str(args.threads), "-b", f"127.0.0.1:{port}",
             "texting.wsgi",
             "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        ),
        subprocess.Popen(
            [*(["nice", "-n", str(args.worker_nice)] if args.worker_nice else []),
             sys.executable, "-m", "celery", "-A", "texting", "worker", "--pool=solo", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    try:
        _wait_for(port)
        load = Load(f"http://127.0.0.1:{port}", args.connections)
        results = {}
        for size in ("empty", "filled"):
            if size == "filled":
                print(f"\nFilling: {args.outbound:,} outbound, {args.inbound:,} inbound, {args.numbers:,} contacts")
                started = time.perf_counter()
                from bench.fill import fill

                fill(outbound=args.outbound, inbound=args.inbound, numbers=args.numbers, progress=lambda _: None)
                print(f"  filled in {time.perf_counter() - started:.0f} s")
            rows = queries_of_one_request(explain=True, posted=load.posted)
            print(f"\n[{size} database] SQL of one inbound request: {len(rows)} queries")
            print_queries(rows)
            bare1 = load.run("/bench/bare/", args.requests, sign=False)
            inbound = load.run("/sms/inbound/twilio/", args.requests, sign=True)
            bare2 = load.run("/bench/bare/", args.requests, sign=False)
            bare = (bare1["rate"] + bare2["rate"]) / 2
            results[size] = (inbound, bare, len(rows))
            print(
                f"  bare view:       {bare1['rate']:7.1f} / {bare2['rate']:7.1f} req/s "
                f"(p50 {bare1['p50']:.1f} ms, p99 {bare1['p99']:.1f} ms)"
            )
            print(
                f"  inbound webhook: {inbound['rate']:7.1f} req/s (p50 {inbound['p50']:.1f} ms, "
                f"p99 {inbound['p99']:.1f} ms), errors {len(inbound['errors'])}  -> {inbound['rate'] / bare:.2f}x bare"
            )
            for error in inbound["errors"][:5] + bare1["errors"][:3]:
                print(f"    error: {error}")
        started = time.perf_counter()
        check = wait_sorted(load.posted, timeout=600)
        drained = time.perf_counter() - started
        empty, filled = results["empty"], results["filled"]
        change = filled[0]["rate"] / empty[0]["rate"] - 1
        print("\nSummary")
        print(f"  ratio to the bare view: empty {empty[0]['rate'] / empty[1]:.2f}x, filled {filled[0]['rate'] / filled[1]:.2f}x"
              " (target >= 0.25x)")  # fmt: skip
        print(f"  filled vs empty: {change:+.1%} (target within 10 %)")
        print(f"  queries in the request: {empty[2]} / {filled[2]} (target <= 8)")
        print(f"  errors: {len(empty[0]['errors']) + len(filled[0]['errors'])} (target 0)")
        print(
            f"  texts accepted {len(load.posted)} (distinct ids {len(set(load.posted))}), stored {check['stored']}, "
            f"the same ids: {check['same_ids']}; sorted by the worker: {check['replies']} "
            f"(unsorted {check['unsorted']}; queue drained {drained:.0f} s after the last post)"
        )
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        import redis

        redis.Redis.from_url(args.redis_url).delete(queue)


def _train_small_classifier() -> None:
    """A real model for the worker to classify with (logreg on 50 labelled texts per type)."""
    from replies.classifier import train
    from replies.testing import label_texts

    label_texts(50, sender_prefix="+4479800")
    row = train(algorithms=("logreg",), folds=3)
    print(f"Classifier v{row.version}: {row.algorithm}, {row.status}")


def _seed_senders() -> None:
    """The customers who reply: each had a text from us (so the empty database measures the same
    path as the filled one: a reply from a known contact)."""
    from bench.fill import number
    from sms.models import Contact, OutboundMessage, State

    Contact.objects.bulk_create([Contact(number=number(i)) for i in range(SENDERS)])
    OutboundMessage.objects.bulk_create(
        [OutboundMessage(recipient=number(i), content="See you Saturday?", state=State.SENT) for i in range(SENDERS)]
    )


def _wait_for(port: int, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.post(f"http://127.0.0.1:{port}/bench/bare/", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not start")


if __name__ == "__main__":
    main()
