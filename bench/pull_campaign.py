"""Benchmark: pull a 100,000-contact source and queue it, against a raw executemany insert.

    python bench/pull_campaign.py                 # throwaway SQLite file
    python bench/pull_campaign.py --pg            # PostgreSQL database texting_bench_campaigns
    python bench/pull_campaign.py --rows 20000 --profile

The data source is a real HTTP server on 127.0.0.1 serving both payload shapes. The pull time
covers fetch + parse + validate/normalise + dedupe + opt-out check + render + bulk insert of the
outbound texts, their status history, contacts and campaign recipients. The baseline inserts
the same rows (already normalised, already rendered) into sms_outboundmessage with one
``executemany`` in one transaction: the floor any fan-out must pay. Prints the ratio.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_database(pg: bool) -> str:
    if pg:
        import psycopg

        name = "texting_bench_campaigns"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgres://postgres@127.0.0.1:5432/{name}"
    path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    return f"sqlite:///{path}"


def payload(rows: int) -> bytes:
    groups = ["Group A", "Group B", "Group C", "Group D"]
    data = {g: [] for g in groups}
    for i in range(rows):
        group = groups[i % 4]
        number = f"07{450000000 + i:09d}" if i % 2 else f"+447{450000000 + i:09d}"
        if i % 3:
            data[group].append([number, f"Name{i}"])
        else:
            data[group].append({"number": number, "name": f"Name{i}", "city": "Leeds"})
    return json.dumps(data).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = setup_database(args.pg)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "texting.settings")
    os.environ["SMS_DEFAULT_BACKEND"] = "locmem"
    os.environ["CAMPAIGNS_SENDING_HOURS"] = "00:00-23:59"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from campaigns.models import Template
    from campaigns.pull import pull_campaign
    from sms.models import OutboundMessage

    call_command("migrate", verbosity=0)
    for group in ("Group A", "Group B", "Group C", "Group D"):
        Template.objects.create(
            name=group, slug=group.lower().replace(" ", "-"), body="{greeting} {name}, 20% off in store today!"
        )
    from sms.fake_http import FakeHTTPServer, Reply

    body = payload(args.rows)
    server = FakeHTTPServer(default=Reply(200, body, content_type="application/json")).start()
    url = f"{server.url}/contacts"
    print(f"database: {connection.vendor}; {args.rows:,} contacts; payload {len(body) / 1e6:.1f} MB")

    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    run = pull_campaign(url=url)
    if profiler:
        profiler.disable()
    pull_seconds = time.perf_counter() - started
    assert run.state == "succeeded", run.error
    assert run.queued == args.rows, run.summary
    print(f"pull_campaign: {pull_seconds:.2f} s ({args.rows / pull_seconds:,.0f} contacts/s) - {run.summary}")

    # Baseline: the same texts, already normalised and rendered, in one executemany.
    texts = list(
        OutboundMessage.objects.values_list(
            "recipient", "content", "sender", "encoding", "segments", "tag", "template_slug", "campaign_id"
        )
    )
    OutboundMessage.objects.all().delete()
    now = timezone.now()
    columns = [
        "reference",
        "created_at",
        "changed_at",
        "recipient",
        "sender",
        "content",
        "template_slug",
        "state",
        "backend",
        "error",
        "extra_data",
        "extra_sender_data",
        "tag",
        "number_of_send_attempts",
        "retry",
        "external_id",
        "encoding",
        "segments",
        "campaign_id",
    ]
    vendor_uuid = (lambda u: u) if connection.vendor == "postgresql" else (lambda u: u.hex)
    rows = [
        (
            vendor_uuid(uuid.uuid4()),
            now,
            now,
            r,
            s,
            c,
            slug,
            "waiting",
            "",
            "",
            "{}",
            "{}",
            tag,
            0,
            True,
            "",
            enc,
            seg,
            cid,
        )
        for (r, c, s, enc, seg, tag, slug, cid) in texts
    ]
    sql = f"INSERT INTO sms_outboundmessage ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    raw_seconds = time.perf_counter() - started
    print(
        f"raw executemany of the same {len(rows):,} rows: {raw_seconds:.2f} s ({len(rows) / raw_seconds:,.0f} rows/s)"
    )
    print(f"ratio pull / raw insert: {pull_seconds / raw_seconds:.1f}x")
    server.stop()
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(30)


if __name__ == "__main__":
    main()
