"""Queue 50,000 texts through sms.queueing and dispatch them through the in-memory backend.

Prints messages/second for queueing (build_message + queue_messages) and for dispatch, next
to a raw ``executemany`` INSERT of the same rows into the same database, and the ratios.

    python bench/dispatch.py                      # throwaway SQLite file
    python bench/dispatch.py --database-url postgres://postgres@127.0.0.1:5432/texting_bench
    python bench/dispatch.py --count 5000 --profile queue   # cProfile of one phase

The PostgreSQL database is created when missing and its tables emptied before each run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--database-url", default="", help="default: a throwaway SQLite file")
    parser.add_argument("--batch-size", type=int, default=None, help="dispatch batch size (SMS_DISPATCH_BATCH_SIZE)")
    parser.add_argument("--profile", choices=["queue", "dispatch"], help="print a cProfile of one phase")
    return parser.parse_args()


def setup_django(args) -> str:
    if args.database_url:
        url = args.database_url
        if url.startswith("postgres"):
            _create_pg_database(url)
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='texting-bench-')}/bench.sqlite3"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "texting.settings"
    os.environ["SMS_DEFAULT_BACKEND"] = "locmem"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEBUG", "false")  # as in production: DEBUG keeps every query in memory
    os.environ.pop("CELERY_BROKER_URL", None)
    if args.batch_size:
        os.environ["SMS_DISPATCH_BATCH_SIZE"] = str(args.batch_size)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def _create_pg_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def empty_tables() -> None:
    from sms.models import ConsentEvent, Contact, InboundMessage, OutboundMessage, StatusChange

    for model in (StatusChange, InboundMessage, OutboundMessage, ConsentEvent, Contact):
        model.objects.all()._raw_delete(model.objects.db)


def build(count: int):
    from sms.queueing import build_message

    return [
        build_message(
            f"07{400000000 + i * 7:09d}", f"Hi {i}, your order #{i} is ready to collect. Reply STOP to opt out."
        )
        for i in range(count)
    ]


def raw_insert(count: int) -> float:
    """Baseline: the same rows, one executemany INSERT in one transaction, nothing else."""
    from django.db import connection, transaction

    from sms.models import OutboundMessage

    messages = build(count)
    for m in messages:
        m.created_at = m.changed_at = time_now()
    fields = [f for f in OutboundMessage._meta.concrete_fields if not f.primary_key]
    rows = [tuple(f.get_db_prep_save(f.pre_save(m, True), connection) for f in fields) for m in messages]
    table = OutboundMessage._meta.db_table
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    elapsed = time.perf_counter() - start
    empty_tables()
    return elapsed


def time_now():
    from django.utils import timezone

    return timezone.now()


def queue(count: int) -> float:
    from sms.queueing import queue_messages

    start = time.perf_counter()
    queue_messages(build(count))
    return time.perf_counter() - start


def dispatch_all() -> tuple[float, object]:
    from sms.dispatch import dispatch

    start = time.perf_counter()
    summary = dispatch()
    return time.perf_counter() - start, summary


def profiled(fn, *args):
    profile = cProfile.Profile()
    result = profile.runcall(fn, *args)
    pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
    return result


def main():
    args = parse_args()
    url = setup_django(args)
    from django.conf import settings
    from django.db import connection

    from sms.backends import locmem
    from sms.models import OutboundMessage, State, StatusChange
    from sms.phone import _normalise

    empty_tables()
    engine = connection.vendor
    print(f"Texting dispatch benchmark: {args.count:,} texts on {engine} ({url.split('@')[-1]})")
    print(f"dispatch batch size {settings.SMS_DISPATCH_BATCH_SIZE}")

    raw = raw_insert(args.count)
    _normalise.cache_clear()  # queueing must parse every number itself, as in production
    q = profiled(queue, args.count) if args.profile == "queue" else queue(args.count)
    assert OutboundMessage.objects.filter(state=State.WAITING).count() == args.count
    locmem.reset()
    if args.profile == "dispatch":
        d, summary = profiled(dispatch_all)
    else:
        d, summary = dispatch_all()
    assert summary.sent == args.count, summary
    assert len(locmem.outbox) == args.count
    assert OutboundMessage.objects.filter(state=State.SENT).count() == args.count
    assert StatusChange.objects.count() == 3 * args.count  # WAITING, SENDING, SENT for each

    def rate(seconds):
        return args.count / seconds

    print(f"{'':32}{'seconds':>10}{'texts/s':>12}{'vs raw insert':>16}")
    print(f"{'raw executemany INSERT':32}{raw:10.2f}{rate(raw):12,.0f}{'1.00x':>16}")
    print(f"{'queue (build + queue_messages)':32}{q:10.2f}{rate(q):12,.0f}{f'{raw / q:.2f}x':>16}")
    print(f"{'dispatch (claim, send, record)':32}{d:10.2f}{rate(d):12,.0f}{f'{raw / d:.2f}x':>16}")
    print(f"ratio: queueing takes {q / raw:.1f}x and dispatch {d / raw:.1f}x the time of the raw insert")
    empty_tables()


if __name__ == "__main__":
    main()
