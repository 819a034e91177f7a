"""Export 1,000,000 sent texts as CSV through the export view, next to a raw cursor in the same run.

Prints, for Texting's streamed CSV (``/sms/outbound/export/``, the view a browser downloads) and
for a baseline (a bare psycopg/sqlite3 cursor writing the same columns with ``csv.writer``):
seconds to the first row, total seconds, rows/second, and the peak memory of the process
(each variant runs in a process of its own, so one's peak cannot hide the other's).

    python bench/exports.py                                   # 1,000,000 rows, throwaway SQLite file
    python bench/exports.py --database-url postgres://postgres@127.0.0.1:5432/texting_bench
    python bench/exports.py --count 100000

The table is filled with COPY (PostgreSQL) or executemany (SQLite) first, once per database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
#: The same 19 columns and joins the export writes, for the baseline.
COLUMNS = ["o.id", "o.created_at", "o.recipient", "o.sender", "o.content", "o.state", "o.sent_at", "o.delivered_at",
           "o.error", "o.backend", "s.name", "c.name", "o.template_slug", "o.tag", "o.encoding", "o.segments",
           "o.number_of_send_attempts", "o.external_id", "o.reference"]  # fmt: skip
JOINS = (
    "sms_outboundmessage o LEFT JOIN modems_simcard s ON s.id = o.sim_id"
    " LEFT JOIN campaigns_campaign c ON c.id = o.campaign_id"
)


def setup(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "texting.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "false"
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


def fill(url: str, count: int) -> None:
    setup(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from sms.models import OutboundMessage

    have = OutboundMessage.objects.count()
    if have == count:
        print(f"{count:,} rows already there")
        return
    OutboundMessage.objects.all()._raw_delete(OutboundMessage.objects.db)
    started = time.perf_counter()
    fields = ["reference", "created_at", "changed_at", "recipient", "sender", "content", "state", "backend", "error"]
    fields += ["template_slug", "extra_data", "extra_sender_data", "tag", "number_of_send_attempts", "retry"]
    fields += ["external_id", "encoding", "segments", "sent_at", "delivered_at"]

    def rows():
        for i in range(count):
            at = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d} 10:{i % 60:02d}:00+00"
            yield (str(uuid.uuid4()), at, at, f"+4479{i:08d}", "Shop", f"Your order {i} is ready to collect",
                   "delivered" if i % 10 else "error", "twilio", "" if i % 10 else "[30003] Unreachable",
                   "", "{}", "{}", "orders", 1, True, f"SM{i:032d}", "gsm7", 1, at, at if i % 10 else None)  # fmt: skip

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            with raw.copy(f"COPY sms_outboundmessage ({', '.join(fields)}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            import sqlite3

            raw = sqlite3.connect(url.removeprefix("sqlite:///"))
            marks = ", ".join(["?"] * len(fields))
            raw.executemany(f"INSERT INTO sms_outboundmessage ({', '.join(fields)}) VALUES ({marks})", rows())
            raw.commit()
            raw.close()
    print(f"filled {count:,} rows in {time.perf_counter() - started:.1f} s")


def run_texting(url: str) -> dict:
    setup(url)
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    from sms.views import export

    request = RequestFactory().get("/sms/outbound/export/")
    request.user = get_user_model()(username="bench", is_staff=True)
    started = time.perf_counter()
    response = export(request, "outbound")
    first = None
    chunks = lines = 0
    with open(os.devnull, "wb") as out:
        for chunk in response.streaming_content:
            chunks += 1
            if first is None and chunks >= 3:  # the BOM, the header, then the first rows
                first = time.perf_counter() - started
            lines += chunk.count(b"\n")
            out.write(chunk)
    return {"first": first, "total": time.perf_counter() - started, "rows": lines - 1}


def run_baseline(url: str) -> dict:
    import csv

    started = time.perf_counter()
    query = f"SELECT {', '.join(COLUMNS)} FROM {JOINS} ORDER BY o.id"
    if url.startswith("postgres"):
        import psycopg

        conn = psycopg.connect(url.replace("postgres://", "postgresql://"))
        cursor = conn.cursor(name="bench")  # server-side, as Django's iterator() uses
    else:
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        cursor = conn.cursor()
    cursor.execute(query)
    first = None
    rows = 0
    with open(os.devnull, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        while batch := cursor.fetchmany(2000):
            if first is None:
                first = time.perf_counter() - started
            writer.writerows(batch)
            rows += len(batch)
    conn.close()
    return {"first": first, "total": time.perf_counter() - started, "rows": rows}


def child(kind: str, url: str) -> None:
    result = run_texting(url) if kind == "texting" else run_baseline(url)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--child", choices=["fill", "texting", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.gettempdir()) / 'texting-bench-exports.sqlite3'}"
    if args.child == "fill":
        fill(url, args.count)
        return
    if args.child:
        child(args.child, url)
        return
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, __file__, "--count", str(args.count), "--database-url", url, "--child", "fill"],
        check=True, cwd=ROOT,
    )  # fmt: skip
    results = {}
    for kind in ("baseline", "texting"):
        out = subprocess.run(
            [sys.executable, __file__, "--database-url", url, "--child", kind],
            check=True, capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"\nCSV export of {args.count:,} sent texts ({engine})")
    print(f"{'':28} {'first row':>10} {'total':>9} {'rows/s':>10} {'peak RSS':>9}")
    for kind, label in (("baseline", "raw cursor, same columns"), ("texting", "Texting /sms/outbound/export/")):
        r = results[kind]
        print(f"{label:28} {r['first'] * 1000:>8.0f} ms {r['total']:>7.1f} s {r['rows'] / r['total']:>10,.0f}"
              f" {r['peak_mb']:>6.0f} MB")  # fmt: skip
    ratio = results["texting"]["total"] / results["baseline"]["total"]
    print(f"Texting takes {ratio:.2f}× the raw cursor's time; rows checked: {results['texting']['rows']:,}")


if __name__ == "__main__":
    main()
