"""Figures for the dashboard: today's counts, the delivery rate, texts per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from sms.models import InboundMessage, OutboundMessage, State

FAILED_STATES = (State.ERROR, State.ERROR_UPDATE)
# Texts that reached a gateway able to report delivery (DEBUG never leaves the building).
REPORTABLE_STATES = (State.SENT, State.DELIVERED, State.ERROR_UPDATE)


@dataclass
class Today:
    queued: int
    sent: int
    delivered: int
    failed: int
    received: int
    delivery_rate: float | None  # delivered / sent over the last 7 days; None when nothing was sent


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def today() -> Today:
    midnight = local_midnight(timezone.localdate())
    week_ago = timezone.now() - timedelta(days=7)
    figures = OutboundMessage.objects.aggregate(
        queued=Count("pk", filter=Q(state__in=(State.WAITING, State.ERROR_RETRY, State.SENDING))),
        sent=Count("pk", filter=Q(sent_at__gte=midnight)),
        delivered=Count("pk", filter=Q(delivered_at__gte=midnight)),
        failed=Count("pk", filter=Q(state__in=FAILED_STATES, changed_at__gte=midnight)),
        week_sent=Count("pk", filter=Q(sent_at__gte=week_ago, state__in=REPORTABLE_STATES)),
        week_delivered=Count("pk", filter=Q(sent_at__gte=week_ago, state=State.DELIVERED)),
    )
    received = InboundMessage.objects.filter(received_at__gte=midnight).count()
    rate = figures["week_delivered"] / figures["week_sent"] if figures["week_sent"] else None
    return Today(
        queued=figures["queued"],
        sent=figures["sent"],
        delivered=figures["delivered"],
        failed=figures["failed"],
        received=received,
        delivery_rate=rate,
    )


def _per_day(queryset, field: str, since: datetime) -> dict[date, int]:
    rows = (
        queryset.filter(**{f"{field}__gte": since})
        .annotate(day=TruncDate(field, tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return dict(rows)


def daily(*, days: int = 14) -> tuple[list[date], dict[str, list[int]]]:
    """Per local day, oldest first: texts sent, delivered, failed, and replies received."""
    last = timezone.localdate()
    dates = [last - timedelta(days=n) for n in range(days - 1, -1, -1)]
    since = local_midnight(dates[0])
    counts = {
        "sent": _per_day(OutboundMessage.objects.all(), "sent_at", since),
        "delivered": _per_day(OutboundMessage.objects.all(), "delivered_at", since),
        "failed": _per_day(OutboundMessage.objects.filter(state__in=FAILED_STATES), "changed_at", since),
        "replies": _per_day(InboundMessage.objects.all(), "received_at", since),
    }
    return dates, {name: [per_day.get(day, 0) for day in dates] for name, per_day in counts.items()}
