"""Benchmark: what per-recipient links cost.

    python bench/links.py                  # throwaway SQLite file, 20,000 rows
    python bench/links.py --pg             # PostgreSQL database texting_bench_links
    python bench/links.py --rows 5000 --opens 1000

1. Fan-out of ``--rows`` campaign rows whose template holds ``{link}`` (a token, the text's
   segments recounted and one Link row per text) against the same fan-out of a template
   without it, in the same run: the ratio is the links' share of queueing.
2. ``--opens`` openings of ``/l/<token>`` through the full Django stack (middleware, the
   lookup, the click's UPDATE + INSERT, the redirect) against ``/healthz`` (middleware and
   one ``SELECT 1``), both through Django's test client in this process.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_database(pg: bool) -> str:
    if pg:
        import psycopg

        name = "texting_bench_links"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgres://postgres@127.0.0.1:5432/{name}"
    return f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--opens", type=int, default=2_000)
    parser.add_argument("--pg", action="store_true")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = setup_database(args.pg)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "texting.settings")
    os.environ["SMS_DEFAULT_BACKEND"] = "locmem"
    os.environ["SMS_PUBLIC_URL"] = "https://texting.example.com"
    os.environ["CAMPAIGNS_SENDING_HOURS"] = "00:00-00:00"
    os.environ["CAMPAIGNS_MAX_PER_DAY"] = os.environ["CAMPAIGNS_MAX_PER_WEEK"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from campaigns.fanout import SourceRow, fan_out
    from campaigns.models import Campaign, Template
    from links.models import Link

    call_command("migrate", verbosity=0)
    plain = Template.objects.create(name="Plain", slug="plain", body="{name}, 15% off this week with THANKYOU15")
    linked = Template.objects.create(
        name="Linked", slug="linked", body="{name}, 15% off this week: {link}", link_url="https://shop.example.com/"
    )

    def fan(template, offset):
        campaign = Campaign.objects.create(name=template.name)
        rows = [SourceRow(template.name, f"+447{offset + i:09d}", f"Name{i}") for i in range(args.rows)]
        started = time.perf_counter()
        result = fan_out(campaign=campaign, rows=rows)
        assert result.queued == args.rows, result
        return time.perf_counter() - started

    base = fan(plain, 400_000_000)
    with_links = fan(linked, 500_000_000)
    assert Link.objects.count() == args.rows
    print(f"fan-out of {args.rows:,} rows ({os.environ['DATABASE_URL'].split(':')[0]}):")
    print(f"  without {{link}}: {base:6.2f} s  {args.rows / base:8,.0f} texts/s (baseline)")
    print(
        f"  with {{link}}:    {with_links:6.2f} s  {args.rows / with_links:8,.0f} texts/s  ratio {with_links / base:.2f}x"
    )

    client = Client()
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
    tokens = list(Link.objects.values_list("token", flat=True)[: args.opens])

    def timed(urls):
        started = time.perf_counter()
        for url in urls:
            assert client.get(url, HTTP_USER_AGENT=phone).status_code in (200, 302)
        return time.perf_counter() - started

    health = timed(["/healthz"] * len(tokens))
    opens = timed([f"/l/{token}" for token in tokens])
    print(f"{len(tokens):,} requests through the Django stack:")
    print(f"  /healthz:     {health:6.2f} s  {len(tokens) / health:8,.0f} req/s (baseline)")
    print(f"  /l/<token>:   {opens:6.2f} s  {len(tokens) / opens:8,.0f} req/s  ratio {opens / health:.2f}x")


if __name__ == "__main__":
    main()
