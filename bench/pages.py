"""Page times at scale: fill PostgreSQL with a year of texts, time every dashboard and stats page.

Fills a database of its own with 1,000,000 outbound and 200,000 inbound texts spread over the
last 365 days (4 SIMs, 40 campaigns of two templates each, a reply within three days of the
text it answers and on its SIM, replies sorted by keyword / classifier / staff, a consent
ledger), with COPY (triggers off during the load; ``rollups.repair()`` then counts it all,
as ``compact_rollups --repair`` would). Then requests each page through Django's test client
as a logged-in staff user and prints the median milliseconds and the number of queries, next
to a raw ``SELECT COUNT(*)`` of the outbound table measured in the same run (the ratio says how
many full counts a page costs).

    python bench/pages.py                                 # postgres://postgres@127.0.0.1:5432/texting_bench_pages
    python bench/pages.py --outbound 100000 --inbound 20000 --runs 5
    python bench/pages.py --reuse                         # keep the filled database from last time

The database is dropped and created again unless ``--reuse`` is given.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATES = [("delivered", 85), ("sent", 5), ("error_update", 4), ("error", 2), ("refused", 1), ("unknown", 1)]
ERRORS = {"error_update": ["Absent subscriber", "Handset full", "Unknown subscriber"], "error": ["Invalid number"]}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/texting_bench_pages")
    parser.add_argument("--outbound", type=int, default=1_000_000)
    parser.add_argument("--inbound", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=15, help="requests per page (median reported)")
    parser.add_argument("--reuse", action="store_true", help="keep the database filled by an earlier run")
    return parser.parse_args()


def setup(args) -> None:
    import psycopg

    base, name = args.database_url.rsplit("/", 1)
    if not args.reuse:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="texting.settings",
        SMS_DEFAULT_BACKEND="locmem",
        DEBUG="false",
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(args) -> dict:
    from django.db import connection

    from campaigns.models import Campaign, Template
    from modems.models import Network, SimCard
    from replies.models import ReplyType
    from sms import rollups
    from sms.models import InboundMessage, OutboundMessage

    rng = random.Random(12)
    now = datetime.now(UTC)
    networks = [Network.objects.create(name=n) for n in ("Vodafone", "EE", "O2")]
    sims = [
        SimCard.objects.create(
            network=networks[i % 3],
            name=f"SIM {i + 1}",
            backend="locmem",
            daily_limit=100_000,
            price_per_segment="0.035",
        )
        for i in range(4)
    ]
    templates = [Template.objects.create(name=f"Group {i}", slug=f"group-{i}", body="Hi {name}") for i in range(8)]
    campaigns = []
    for i in range(40):
        campaigns.append(
            Campaign.objects.create(name=f"Campaign {i + 1}", created_at=now - timedelta(days=365 - 9 * i))
        )
    types = list(ReplyType.objects.values_list("pk", flat=True))
    weights = [w for _, w in STATES]
    names = [s for s, _ in STATES]
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no triggers while loading
        raw = cursor.cursor
        out = _Copier(raw, OutboundMessage)
        created_times = []  # a reply follows the text it answers (below)
        with out.copy() as write:
            for i in range(args.outbound):
                created = now - timedelta(seconds=rng.random() * 365 * 86400)
                created_times.append(created)
                state = rng.choices(names, weights)[0]
                sent = created + timedelta(seconds=30) if state in ("delivered", "sent", "error_update") else None
                in_campaign = rng.random() < 0.7
                campaign = campaigns[min(39, int((365 - (now - created).days) / 9.2))] if in_campaign else None
                ucs2 = rng.random() < 0.05
                write(
                    reference=uuid.uuid4(), created_at=created, changed_at=created, sent_at=sent,
                    delivered_at=sent if state == "delivered" else None, recipient=f"+4479{i:08d}",
                    content="Hello, your order is ready’" if ucs2 else "Hello, your order is ready",
                    # A campaign's texts use its two groups' templates (not all eight).
                    template_id=templates[(campaign.pk + i % 2) % 8].pk if in_campaign else None, state=state,
                    backend="locmem",
                    error=rng.choice(ERRORS[state]) if state in ERRORS else "", tag="first" if in_campaign else "",
                    number_of_send_attempts=1, external_id=f"x{i}", encoding="ucs2" if ucs2 else "gsm7",
                    segments=1 + (rng.random() < 0.1), sim_id=sims[i % 4].pk,
                    campaign_id=campaign.pk if campaign else None,
                )  # fmt: skip
        cursor.execute("SELECT MIN(id) FROM sms_outboundmessage")
        first_id = cursor.fetchone()[0]
        with _Copier(raw, InboundMessage).copy() as write:
            for i in range(args.inbound):
                # A reply to a random text, within three days of it (most within hours), never in the future.
                answered = rng.randrange(args.outbound)
                delay = timedelta(seconds=min(rng.expovariate(1 / 7200), 3 * 86400))
                write(
                    sender=f"+4479{answered:08d}", content=rng.choice(["Thanks", "STOP", "what time?"]),
                    received_at=min(created_times[answered] + delay, now), backend="locmem",
                    external_id=f"in{i}", sim_id=sims[answered % 4].pk, in_reply_to_id=first_id + answered,
                )  # fmt: skip
        cursor.execute(
            "INSERT INTO replies_reply (message_id, reply_type_id, source, keyword, needs_review, note) "
            "SELECT id, CASE WHEN id %% 10 = 0 THEN NULL ELSE (%s::int[])[1 + id %% %s] END, "
            "CASE WHEN id %% 10 = 0 THEN '' WHEN id %% 3 = 0 THEN 'staff' WHEN id %% 3 = 1 THEN 'classifier' "
            "ELSE 'keyword' END, '', id %% 10 = 0, '' FROM sms_inboundmessage",
            [types, len(types)],
        )
        cursor.execute(
            "INSERT INTO sms_consentevent (number, kind, scope, source, evidence, at) "
            "SELECT sender, CASE WHEN id % 4 = 0 THEN 'opt_in' ELSE 'opt_out' END, 'marketing', "
            "(ARRAY['keyword', 'classifier', 'phone', 'import'])[1 + id % 4], '', received_at "
            "FROM sms_inboundmessage WHERE id % 20 = 0"
        )
        cursor.execute("SET session_replication_role = DEFAULT")
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    keys = rollups.repair()
    rollups.compact()
    counted = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does to a table loaded once
    return {"load_s": loaded, "rollup_s": counted, "keys": keys, "sim": sims[0].pk, "campaign": campaigns[-5].pk}


class _Copier:
    """COPY rows of a model given as keyword arguments; every other column gets its field's
    default, so columns other branches add (with a default) need no change here."""

    def __init__(self, raw_cursor, model):
        from django.db import connection

        self.raw = raw_cursor
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.defaults = {
            f.attname: f.get_db_prep_save(f.get_default(), connection)
            for f in self.fields
            if f.has_default() or not f.null  # "" for a blank CharField, as the ORM would store
        }
        self.connection = connection
        self.table = model._meta.db_table

    def copy(self):
        from contextlib import contextmanager

        columns = ", ".join(f.column for f in self.fields)
        json_fields = {f.attname for f in self.fields if f.get_internal_type() == "JSONField"}

        @contextmanager
        def writer():
            with self.raw.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy:

                def write(**values):
                    row = []
                    for f in self.fields:
                        if f.attname in values:
                            row.append(values[f.attname])
                        elif f.attname in json_fields:
                            row.append("{}")
                        else:
                            row.append(self.defaults.get(f.attname))
                    copy.write_row(row)

                yield write

        return writer()


def new_texts() -> None:
    """What a busy minute brings: a text queued on a SIM and a reply to it, received and sorted
    (through the ORM, so the roll-ups' triggers run as they do in production)."""
    from campaigns.models import Campaign
    from modems.models import SimCard
    from replies.models import Reply, ReplyType, Source
    from sms.models import InboundMessage, OutboundMessage

    sim = SimCard.objects.order_by("pk").first()
    campaign = Campaign.objects.order_by("-pk")[4]
    out = OutboundMessage.objects.create(
        recipient=f"+4478{uuid.uuid4().int % 10**9:09d}",
        content="Hello",
        sim=sim,
        backend="locmem",
        campaign=campaign,
        state="delivered",
    )
    text = InboundMessage.objects.create(
        sender=out.recipient, content="Thanks", backend="locmem", external_id=f"bench-{uuid.uuid4()}", sim=sim,
        in_reply_to=out,
    )  # fmt: skip
    Reply.objects.create(
        message=text, reply_type=ReplyType.objects.first(), source=Source.CLASSIFIER, needs_review=False
    )


def timed(client, url: str, runs: int) -> dict:
    """Median ms and queries of a page: served from the cache; right after a new text and a
    reply (what a visitor meets while a campaign runs: every section and chart's data drawn
    again, the charts' frames still cached); and with nothing cached at all."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    result = {}
    for name, before in (("cached", None), ("new text", new_texts), ("nothing cached", cache.clear)):
        times = []
        for _ in range(runs):
            if before:
                before()
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - start) * 1000)
        result[name] = (statistics.median(times), len(queries))
    return result


def raw_count(runs: int) -> float:
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            start = time.perf_counter()
            cursor.execute("SELECT COUNT(*) FROM sms_outboundmessage")
            cursor.fetchone()
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    args = parse_args()
    setup(args)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    from campaigns.models import Campaign
    from modems.models import SimCard
    from sms.models import InboundMessage, OutboundMessage

    setup_test_environment()  # ALLOWED_HOSTS for the test client
    # No collectstatic manifest here: plain static URLs (as the test suite does).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    if args.reuse and OutboundMessage.objects.exists():
        info = {"sim": SimCard.objects.first().pk, "campaign": Campaign.objects.order_by("-pk")[4].pk}
        print("Reusing the filled database")
    else:
        print(f"Filling {args.outbound:,} outbound and {args.inbound:,} inbound texts...", flush=True)
        info = fill(args)
        print(
            f"  loaded in {info['load_s']:.1f} s; roll-ups counted in {info['rollup_s']:.1f} s ({info['keys']:,} keys)"
        )
    print(f"{OutboundMessage.objects.count():,} outbound, {InboundMessage.objects.count():,} inbound")
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    pages = [
        ("dashboard", "/"),
        *((f"stats: {s}", f"/stats/{s}/") for s in ("sims", "delivery", "replies", "consent", "cost", "sorting")),
        ("stats: sims, last month", "/stats/sims/?range=last-month"),
        (
            "stats: sims, a year (custom)",
            f"/stats/sims/?range=custom&from={datetime.now().date() - timedelta(days=364)}&to={datetime.now().date()}",
        ),
        ("stats: CSV texts per SIM", "/stats/sims/texts-per-sim.csv"),
        ("campaign list", "/campaigns/"),
        ("campaign detail (~25k texts)", f"/campaigns/{info['campaign']}/"),
        ("SIM detail", f"/modems/sims/{info['sim']}/"),
    ]
    baseline = raw_count(args.runs)
    print(f"\nraw SELECT COUNT(*) FROM sms_outboundmessage: {baseline:.1f} ms (median of {args.runs})\n")
    print("cached: served from the cache; new text: right after a text and a reply arrived; nothing cached: cold")
    columns = ("cached", "new text", "nothing cached")
    print(f"{'page':34}" + "".join(f" {c + ' ms':>17} {'q':>3}" for c in columns) + f" {'new text / COUNT(*)':>20}")
    for name, url in pages:
        figures = timed(client, url, args.runs)
        cells = "".join(f" {figures[c][0]:17.1f} {figures[c][1]:3d}" for c in columns)
        print(f"{name:34}{cells} {figures['new text'][0] / baseline:20.2f}")


if __name__ == "__main__":
    main()
