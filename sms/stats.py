"""Figures for the dashboard: today's counts, the delivery rate, texts per day.

Read from the hourly roll-ups (``sms.rollups``), so they cost the same at a million texts as
at ten: a text counts on the local day it was queued, by the state it is in now.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from sms import rollups
from sms.models import OutboundMessage, State

FAILED_STATES = (State.ERROR, State.ERROR_UPDATE)
# Texts that reached a gateway able to report delivery (DEBUG never leaves the building).
REPORTABLE_STATES = (State.SENT, State.DELIVERED, State.ERROR_UPDATE)
# Texts that went out (or, UNKNOWN, may have).
SENT_STATES = (State.SENT, State.DELIVERED, State.ERROR_UPDATE, State.UNKNOWN, State.DEBUG)
QUEUED_STATES = (State.WAITING, State.ERROR_RETRY, State.SENDING)


@dataclass
class Today:
    queued: int
    sent: int
    delivered: int
    failed: int
    received: int
    delivery_rate: float | None  # delivered / reached a gateway, texts of the last 7 days; None: none


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _by_day_and_state(days: int) -> tuple[list[date], dict[tuple, int]]:
    last = timezone.localdate()
    dates = [last - timedelta(days=n) for n in range(days - 1, -1, -1)]
    rows = rollups.outbound_counts(by=("day", "state"), first=dates[0])
    return dates, {key: figures["n"] for key, figures in rows.items()}


def _received(dates: list[date]) -> Counter:
    rows = rollups.inbound_counts(by=("day",), first=dates[0])
    return Counter({day: figures["n"] for (day,), figures in rows.items()})


def figures(*, days: int = 14) -> tuple[Today, list[date], dict[str, list[int]]]:
    """Today's figures and the daily series (oldest first), from one pass over the roll-ups."""
    dates, counts = _by_day_and_state(max(days, 7))
    received = _received(dates)

    def count(day_set, states) -> int:
        return sum(n for (day, state), n in counts.items() if day in day_set and state in states)

    today_set, week = {dates[-1]}, set(dates[-7:])
    reached = count(week, REPORTABLE_STATES)
    today = Today(
        # Live: it is "now", not a day, and the state index makes it cheap.
        queued=OutboundMessage.objects.filter(state__in=QUEUED_STATES).count(),
        sent=count(today_set, SENT_STATES),
        delivered=count(today_set, (State.DELIVERED,)),
        failed=count(today_set, FAILED_STATES),
        received=received[dates[-1]],
        delivery_rate=count(week, (State.DELIVERED,)) / reached if reached else None,
    )
    shown = dates[-days:]
    series = {
        "sent": [count({d}, SENT_STATES) for d in shown],
        "delivered": [count({d}, (State.DELIVERED,)) for d in shown],
        "failed": [count({d}, FAILED_STATES) for d in shown],
        "replies": [received[d] for d in shown],
    }
    return today, shown, series


def today() -> Today:
    return figures(days=7)[0]


def daily(*, days: int = 14) -> tuple[list[date], dict[str, list[int]]]:
    """Per local day, oldest first: texts sent, delivered, failed, and replies received."""
    _, dates, series = figures(days=days)
    return dates, series
