"""Sending at real gateway latency: Texting with 1, 2, 4 workers vs bare request loops.

A local HTTP server answers like Twilio (or Clickatell, SMS Broadcast) after a set delay and
counts requests per recipient. In the same run, against the same server:

* a bare sequential ``requests.Session`` loop (one request at a time),
* a 16-thread loop on one pooled ``Session``,
* Texting: N dispatcher processes (``sms.dispatch.dispatch``, what ``send_queued`` and the
  Celery task run) on one database, each sending its claimed batches concurrently.

Texts/second are counted from the moment the processes are told to go (they start Django and
connect first) to the last text recorded. Targets at 20 ms: one worker >= 8x the sequential
loop, 4 workers >= 0.8x the 16-thread loop, 0 duplicates, and with ``--rate`` the route's
messages-per-second limit respected within 10 %.

    python bench/dispatch_latency.py --database-url postgres://postgres@127.0.0.1:5432/texting_bench_latency
    python bench/dispatch_latency.py --delays 0,0.02,0.1 --kinds twilio,clickatell,smsbroadcast
    python bench/dispatch_latency.py --workers 4 --rate 100 --count 1000     # the route limit

The PostgreSQL database is created when missing and emptied before each run (SQLite works
too: ``--database-url sqlite:////tmp/bench.sqlite3``, one writer at a time).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNNER = """
import os, sys, time
import django
django.setup()
from django.db import connection
from sms.dispatch import dispatch
connection.ensure_connection()
print("ready", flush=True)
sys.stdin.readline()
summary = dispatch()
print("done", summary, flush=True)
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/texting_bench_latency")
    parser.add_argument("--count", type=int, default=3000, help="texts per Texting run")
    parser.add_argument(
        "--baseline-count",
        type=int,
        default=0,
        help="texts per loop (default: count; 300 max for the sequential loop at >=20 ms)",
    )
    parser.add_argument("--delays", default="0.02", help="gateway answer delays in seconds, comma-separated")
    parser.add_argument("--kinds", default="twilio", help="twilio, clickatell, smsbroadcast (comma-separated)")
    parser.add_argument("--workers", default="1,2,4", help="dispatcher processes per run, comma-separated")
    parser.add_argument("--concurrency", type=int, default=16, help="SMS_SEND_CONCURRENCY per worker")
    parser.add_argument("--rate", type=float, default=0.0, help="SMS_SEND_RATE_PER_SECOND (0: no limit)")
    parser.add_argument("--cache-url", default="", help="CACHE_URL for the limiter (default: the database)")
    return parser.parse_args()


def setup_django(url: str) -> None:
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "texting.settings",
            "LOG_LEVEL": "WARNING",
            "DEBUG": "false",
            "SMS_PUBLIC_URL": "",
        }
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- What each gateway is sent -------------------------------------------------------------------


def gateway_env(kind: str, gateway) -> dict[str, str]:
    from sms.fake_gateways import twilio_settings

    if kind == "twilio":
        return {**twilio_settings(gateway.url), "SMS_DEFAULT_BACKEND": "twilio"}
    if kind == "clickatell":
        return {
            "SMS_DEFAULT_BACKEND": "clickatell",
            "CLICKATELL_API_ID": "1",
            "CLICKATELL_USER": "bench",
            "CLICKATELL_PASSWORD": "bench",
            "CLICKATELL_HTTPS": "false",
            "CLICKATELL_API_BASE": gateway.address,
        }
    return {
        "SMS_DEFAULT_BACKEND": "smsbroadcast",
        "SMSBROADCAST_USERNAME": "bench",
        "SMSBROADCAST_PASSWORD": "bench",
        "SMSBROADCAST_API_URL": f"{gateway.url}/api-adv.php",
    }


def bare_request(kind: str, gateway, session, i: int) -> None:
    number = f"+447911{i:06d}"
    if kind == "twilio":
        from sms.fake_gateways import TWILIO_ACCOUNT, TWILIO_TOKEN

        response = session.post(
            f"{gateway.url}/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages.json",
            data={"To": number, "From": "+15005550006", "Body": f"Hello {i}"},
            auth=(TWILIO_ACCOUNT, TWILIO_TOKEN),
            timeout=10,
        )
        response.json()["sid"]  # read the answer as the backend does
    elif kind == "clickatell":
        data = {"api_id": "1", "user": "b", "password": "b", "to": number[1:], "text": f"Hello {i}"}
        session.post(f"{gateway.url}/http/sendmsg", data=data, timeout=10).text  # noqa: B018
    else:
        data = {"username": "b", "password": "b", "to": number[1:], "message": f"Hello {i}", "ref": str(i)}
        session.post(f"{gateway.url}/api-adv.php", data=data, timeout=10).text  # noqa: B018


def sequential_loop(kind, gateway, n) -> float:
    from sms.backends.http import new_session

    session = new_session()
    started = time.perf_counter()
    for i in range(n):
        bare_request(kind, gateway, session, i)
    return n / (time.perf_counter() - started)


def threaded_loop(kind, gateway, n, threads=16) -> float:
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=threads))
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: bare_request(kind, gateway, session, i), range(n)))
    return n / (time.perf_counter() - started)


# --- Texting ------------------------------------------------------------------------------------------


def queue_texts(n: int) -> None:
    from sms import ratelimit
    from sms.models import OutboundMessage, RateBucket, StatusChange
    from sms.queueing import build_message, queue_messages

    for model in (StatusChange, OutboundMessage, RateBucket):
        model.objects.all()._raw_delete(model.objects.db)
    ratelimit.reset("backend:twilio")
    for start in range(0, n, 1000):
        queue_messages([build_message(f"+447911{i:06d}", f"Hello {i}") for i in range(start, min(start + 1000, n))])


def texting_run(kind, gateway, n, workers, args) -> tuple[float, str]:
    from sms.models import OutboundMessage

    queue_texts(n)
    env = {
        **os.environ,
        **gateway_env(kind, gateway),
        "SMS_SEND_CONCURRENCY": str(args.concurrency),
        "SMS_SEND_RATE_PER_SECOND": str(args.rate),
        "SMS_GATEWAY_TIMEOUT_SECONDS": "10",
    }
    if args.cache_url:
        env["CACHE_URL"] = args.cache_url
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(workers)
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    gateway.reset()
    started = time.perf_counter()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate()[0].strip() for proc in procs]
    elapsed = time.perf_counter() - started
    sent = OutboundMessage.objects.filter(state="sent").count()
    assert sent == n, f"only {sent} of {n} sent: {outputs}"
    return n / elapsed, "; ".join(outputs)


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)
    from sms.fake_gateways import LatencyGateway

    worker_counts = [int(w) for w in args.workers.split(",")]
    print(f"{args.count} texts per Texting run, SMS_SEND_CONCURRENCY={args.concurrency}, rate={args.rate or 'none'}")
    print(f"database {args.database_url.split('@')[-1]}, {os.cpu_count()} CPUs\n")
    failures = []
    for kind in args.kinds.split(","):
        for delay in [float(d) for d in args.delays.split(",")]:
            with LatencyGateway(kind=kind, delay=delay) as gateway:
                n_seq = args.baseline_count or (min(args.count, 300) if delay >= 0.02 else args.count)
                n_thr = args.baseline_count or args.count
                # The machine is shared: the loops run before and after Texting, and the mean is
                # the baseline, so a change of load during the run moves both sides alike.
                seqs = [sequential_loop(kind, gateway, n_seq)]
                threads = [threaded_loop(kind, gateway, n_thr)]
                runs = []
                for workers in worker_counts:
                    rate, _ = texting_run(kind, gateway, args.count, workers, args)
                    seen = gateway.busiest(2.0) / 2 if args.rate else 0.0
                    runs.append((workers, rate, gateway.duplicates(), gateway.texts, seen))
                    gateway.reset()
                seqs.append(sequential_loop(kind, gateway, n_seq))
                threads.append(threaded_loop(kind, gateway, n_thr))
                gateway.reset()
                seq, threaded = sum(seqs) / 2, sum(threads) / 2
                print(
                    f"{kind} at {delay * 1000:.0f} ms: sequential loop {seq:7.1f}/s ({seqs[0]:.0f} before, "
                    f"{seqs[1]:.0f} after), 16-thread loop {threaded:7.1f}/s ({threads[0]:.0f}, {threads[1]:.0f})"
                )
                for workers, rate, dupes, texts, seen in runs:
                    line = (
                        f"  Texting, {workers} worker(s): {rate:7.1f}/s = {rate / seq:5.1f}x sequential, "
                        f"{rate / threaded:4.2f}x 16-thread; duplicates {dupes}; gateway saw {texts}"
                    )
                    if args.rate:
                        line += f"; busiest 2 s at the gateway {seen:.1f}/s (limit {args.rate:g}, {seen / args.rate - 1:+.1%})"
                        if seen > args.rate * 1.1:
                            failures.append(f"{kind} {delay} {workers}w over the limit")
                    print(line, flush=True)
                    if dupes or texts != args.count:
                        failures.append(f"{kind} {delay} {workers}w: {dupes} duplicates, {texts} texts")
    if failures:
        print("\nFAILED:", *failures, sep="\n  ")
        sys.exit(1)


if __name__ == "__main__":
    main()
