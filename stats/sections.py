"""The Stats page's sections (tabs): the tables, charts and figures each one shows.

Each builder returns {"tables": [Table, ...], ...}; the page renders them and
``/stats/<section>/<table>.csv`` writes any of them with the same numbers.
"""

from __future__ import annotations

from replies.models import Reply
from stats import charts, reports
from stats.ranges import Period


def sims(period: Period) -> dict:
    table, extra = reports.per_sim_per_day(period)
    chart = charts.line_chart(period.days, reports.daily_series(period), title=f"Texts per day, {period.label}")
    return {"tables": [table], "chart": chart, **extra}


def delivery(period: Period) -> dict:
    routes, networks = reports.delivery(period)
    return {"tables": [routes, networks, reports.top_errors(period)]}


def replies(period: Period) -> dict:
    rows = reports.reply_rows(period)
    return {
        "tables": [
            reports.replies_by_type(period, rows),
            reports.rates(period, by="campaign", rows=rows),
            reports.rates(period, by="template", rows=rows),
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
