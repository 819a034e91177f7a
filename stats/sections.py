"""The Stats page's sections (tabs): the tables, charts and figures each one shows.

Each builder returns {"tables": [Table, ...], ...}; the page renders them and
``/stats/<section>/<table>.csv`` writes any of them with the same numbers.
"""

from __future__ import annotations

import hashlib

from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from replies.models import Reply
from stats import charts, reports
from stats.ranges import Period

#: Longest a section is served from the cache (names of SIMs, campaigns, reply types show
#: this late); any new text, state change, label or consent event makes it stale at once.
CACHE_SECONDS = 60


def sims(period: Period) -> dict:
    received = reports.received_per_route(period)  # one read for the table and the chart
    table, extra = reports.per_sim_per_day(period, received)
    series = reports.daily_series(period, received)
    chart = charts.line_chart(period.days, series, title=f"Texts per day, {period.label}")
    return {"tables": [table], "chart": chart, **extra}


def delivery(period: Period) -> dict:
    routes, networks = reports.delivery(period)
    return {"tables": [routes, networks, reports.top_errors(period)]}


def replies(period: Period) -> dict:
    rows, sent = reports.reply_rows(period), reports.sent_rows(period)  # shared by the three tables
    return {
        "tables": [
            reports.replies_by_type(period, rows),
            reports.rates(period, by="campaign", rows=rows, sent_by=sent),
            reports.rates(period, by="template", rows=rows, sent_by=sent),
        ]
    }


def consent(period: Period) -> dict:
    table, series = reports.consent(period)
    chart = charts.line_chart(period.days, series, title=f"Opt-outs and opt-ins per day, {period.label}")
    return {"tables": [table], "chart": chart}


def cost(period: Period) -> dict:
    table, figures = reports.cost(period)
    return {"tables": [table], **figures}


def sorting(period: Period) -> dict:
    table, series = reports.sorting(period)
    chart = charts.stacked_bar_chart(
        period.days, series, title=f"Texts received per day by how they were sorted, {period.label}"
    )
    return {"tables": [table], "chart": chart, "waiting_now": Reply.objects.needs_review().count()}


SECTIONS = {
    "sims": ("Texts per SIM", sims),
    "delivery": ("Delivery", delivery),
    "replies": ("Replies", replies),
    "consent": ("Opt-outs", consent),
    "cost": ("Cost", cost),
    "sorting": ("Sorting", sorting),
}


def data_version() -> tuple:
    """Changes whenever a figure of any section may have: every text created or changed
    appends a roll-up delta (the triggers), every reply sorted or sent back to review a reply
    delta, every label a label, every opt-out/in a ledger row, every click a click. One query of
    an index lookup per table."""
    tables = [
        "sms_outboundcountdelta",
        "sms_inboundcountdelta",
        "replies_replycountdelta",
        "replies_label",
        "sms_consentevent",
        *(["links_click"] if apps.is_installed("links") else []),  # click-through
    ]
    newest = ", ".join(f"(SELECT MAX(id) FROM {table})" for table in tables)  # noqa: S608  (our table names)
    with connection.cursor() as cursor:
        # + the compactions: right after one no delta is left, as right after the one before.
        cursor.execute(f"SELECT {newest}, (SELECT MAX(compactions) FROM sms_rollupzone)")  # noqa: S608
        return cursor.fetchone()


def build(section: str, period: Period) -> dict:
    """The section's tables and charts, from the cache while the data has not changed."""
    raw = f"{section}|{period.query}|{timezone.localdate()}|{data_version()}"
    key = "stats:" + hashlib.sha256(raw.encode()).hexdigest()
    data = cache.get(key)
    if data is None:
        data = SECTIONS[section][1](period)
        cache.set(key, data, CACHE_SECONDS)
    return data
