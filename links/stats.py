"""Click-through per campaign or per template over a period, for the Stats page.

The same rule as ``links.services.click_stats`` (a campaign's page): click-through is the
recipients who opened a link (people, not preview bots) over the texts with a link that were
delivered. A text counts in the period it was queued, like every other figure of the page.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from links.models import Link
from sms.models import State

FIELDS = {"campaign": "message__campaign_id", "template": "message__template_id"}


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def clicks(*, field: str, pks, first: date, last: date) -> dict[int, dict[str, int]]:
    """{pk: {"links": texts with a link, "delivered": of them delivered, "unique": recipients who
    clicked}} of the texts queued from local day ``first`` to ``last``. One query."""
    column = FIELDS[field]
    pks = [pk for pk in pks if pk]
    if not pks:
        return {}
    rows = (
        Link.objects.filter(
            **{f"{column}__in": pks},
            message__created_at__gte=_midnight(first),
            message__created_at__lt=_midnight(last + timedelta(days=1)),
        )
        .values(column)
        .annotate(
            links=Count("pk"),
            delivered=Count("pk", filter=Q(message__state=State.DELIVERED)),
            unique=Count("recipient", filter=Q(first_clicked_at__isnull=False), distinct=True),
        )
        .order_by()
    )
    return {row[column]: {k: row[k] for k in ("links", "delivered", "unique")} for row in rows}
