"""What happens when a link is opened (find it, record the click, hand over to the target) and
the click statistics pages show, in a bounded number of queries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.module_loading import import_string

from links.hook import ALPHABET, TOKEN_LENGTH
from links.models import Click, Link
from sms.models import State

log = logging.getLogger(__name__)

_ALPHABET = frozenset(ALPHABET)


class Gone(Exception):
    """The link exists but cannot hand over any more (its target view vanished)."""


def find(token: str, *, now: datetime | None = None) -> Link | None:
    """The live link of ``token``; None if unknown, expired or revoked (callers answer 404).

    A token of the wrong shape is not looked up at all. Trailing punctuation a phone may have
    taken into the link ("…/l/AbC123.") is forgiven.
    """
    token = token.rstrip("/.,;:!?)")
    if len(token) != TOKEN_LENGTH or not set(token) <= _ALPHABET:
        return None
    return Link.objects.live(now).select_related("message").filter(token=token).first()


def record_click(link: Link, *, user_agent: str, is_bot: bool, at: datetime | None = None) -> Click:
    """Store one opening; the first by a person is the recipient's unique click.

    The conditional UPDATE decides which click is first, so two at once count once.
    """
    at = at or timezone.now()
    with transaction.atomic():
        first = Link.objects.filter(pk=link.pk, first_clicked_at__isnull=True)
        unique = not is_bot and first.update(first_clicked_at=at) == 1
        return Click.objects.create(link=link, at=at, user_agent=user_agent[:500], is_bot=is_bot, is_unique=unique)


def hand_over(request: HttpRequest, link: Link) -> HttpResponse:
    """Redirect to the target URL, or call the target view with the request and the link
    (``link.message`` is the text, ``link.recipient`` its number). Raises Gone."""
    if link.target_url:
        return HttpResponseRedirect(link.target_url)
    try:
        view = import_string(link.target_view)
    except ImportError:
        log.error("Link %s: target view %r cannot be imported", link.pk, link.target_view)
        raise Gone(link.target_view) from None
    return view(request, link)


# --- statistics ---------------------------------------------------------------------------


@dataclass
class ClickStats:
    """Click-through of a set of outbound texts."""

    texts: int = 0  # texts that carried a link
    delivered: int = 0  # of those, delivered to the handset
    unique: int = 0  # recipients who opened their link at least once (people only)
    opens: int = 0  # every opening by a person
    bots: int = 0  # openings by preview fetchers, crawlers, HEAD requests
    days: list[date] = field(default_factory=list)
    series: dict[str, list[int]] = field(default_factory=dict)

    @property
    def click_through(self) -> float | None:
        """Unique clicks / delivered texts, in percent (None before anything is delivered)."""
        return round(100 * self.unique / self.delivered, 1) if self.delivered else None


def click_stats(messages: QuerySet, *, days: int = 14, now: datetime | None = None) -> ClickStats:
    """Click-through and daily clicks of the links in ``messages`` (outbound texts): 4 queries.

    A recipient with several links among ``messages`` (a first text and its follow-up) is one
    unique click, on the day of their first opening of any of them.
    """
    now = now or timezone.now()
    links = Link.objects.filter(message__in=messages.order_by().values("pk"))
    counts = links.aggregate(
        texts=Count("pk"),
        delivered=Count("pk", filter=Q(message__state=State.DELIVERED)),
    )
    stats = ClickStats(texts=counts["texts"], delivered=counts["delivered"])
    if not stats.texts:
        return stats
    tz = timezone.get_current_timezone()
    today = timezone.localdate(now)
    stats.days = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    index = {day: i for i, day in enumerate(stats.days)}
    stats.series = {"opens": [0] * days, "unique": [0] * days, "bots": [0] * days}

    # One row per recipient who clicked: bounded by the recipients, not by the clicks.
    firsts = (
        links.filter(first_clicked_at__isnull=False)
        .order_by()
        .values("recipient")
        .annotate(first=Min("first_clicked_at"))
        .values_list("first", flat=True)
    )
    for first in firsts:
        stats.unique += 1
        i = index.get(timezone.localtime(first, tz).date())
        if i is not None:
            stats.series["unique"][i] += 1

    clicks = Click.objects.filter(link__in=links)
    totals = clicks.aggregate(opens=Count("pk", filter=Q(is_bot=False)), bots=Count("pk", filter=Q(is_bot=True)))
    stats.opens, stats.bots = totals["opens"], totals["bots"]
    rows = (
        clicks.filter(at__gte=now - timedelta(days=days + 1))
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values_list("day", "is_bot")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for day, bot, n in rows:
        i = index.get(day)
        if i is not None:
            stats.series["bots" if bot else "opens"][i] += n
    return stats
