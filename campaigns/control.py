"""Campaign-wide housekeeping: the error-rate guard, completion, and loose ends of aborts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from campaigns.models import Campaign, PullRun
from sms.models import DUE_STATES, PENDING_STATES, OutboundMessage, State

FAILED = (State.ERROR, State.ERROR_RETRY, State.ERROR_UPDATE)
ATTEMPTED = (*FAILED, State.SENT, State.DELIVERED, State.DEBUG)


def check_error_rates(*, campaign_ids: Iterable[int] | None = None, now: datetime | None = None) -> list[Campaign]:
    """Pause running campaigns whose texts failed too often in the last few minutes (one query).

    Counts texts that changed within the window: failed (error, will-retry, failed after
    sending) against all that were tried. Returns the campaigns it paused.
    """
    now = now or timezone.now()
    threshold = settings.CAMPAIGNS_ERROR_RATE_THRESHOLD
    if threshold <= 0:
        return []
    window = settings.CAMPAIGNS_ERROR_RATE_WINDOW_MINUTES
    recent = OutboundMessage.objects.filter(
        campaign__state__in=[Campaign.State.RUNNING, Campaign.State.SCHEDULED],
        changed_at__gte=now - timedelta(minutes=window),
        state__in=ATTEMPTED,
    )
    if campaign_ids is not None:
        recent = recent.filter(campaign_id__in=list(campaign_ids))
    rows = (
        recent.order_by()
        .values("campaign_id")
        .annotate(tried=Count("pk"), failed=Count("pk", filter=Q(state__in=FAILED)))
        .filter(tried__gte=settings.CAMPAIGNS_ERROR_RATE_MIN_MESSAGES)
    )
    paused = []
    for row in rows:
        rate = row["failed"] / row["tried"]
        if rate >= threshold:
            campaign = Campaign.objects.get(pk=row["campaign_id"])
            reason = (
                f"Paused automatically: {row['failed']} of {row['tried']} texts failed in the last "
                f"{window} minutes ({rate:.0%} ≥ {threshold:.0%}). Check the gateway, then resume."
            )
            if campaign.pause(reason=reason):
                paused.append(campaign)
    return paused


def refresh_states(*, now: datetime | None = None) -> dict[str, int]:
    """Complete campaigns with nothing left to send; refuse what an abort left waiting."""
    now = now or timezone.now()
    Campaign.objects.filter(state=Campaign.State.SCHEDULED, scheduled_for__lte=now).update(state=Campaign.State.RUNNING)
    pending = OutboundMessage.objects.filter(campaign=OuterRef("pk"), state__in=PENDING_STATES)
    pulling = PullRun.objects.filter(campaign=OuterRef("pk"), state__in=[PullRun.State.QUEUED, PullRun.State.RUNNING])
    # A campaign is done when its fan-out has produced something (recipients, or only rejected
    # rows, e.g. a pasted list of invalid numbers), no pull is still filling it, and nothing of
    # it is waiting or being sent.
    completed = (
        Campaign.objects.filter(state__in=[Campaign.State.RUNNING, Campaign.State.SCHEDULED])
        .annotate(busy=Exists(pending), filling=Exists(pulling))
        .filter(busy=False, filling=False)
        .filter(Q(recipients__isnull=False) | Q(rejected_rows__isnull=False))
        .distinct()
    )
    ids = list(completed.values_list("pk", flat=True))
    sent_something = OutboundMessage.objects.filter(campaign=OuterRef("pk"))
    empty = Campaign.objects.filter(pk__in=ids).exclude(Exists(sent_something))
    empty.update(state=Campaign.State.NOTHING_TO_SEND, finished_at=now)
    done = (
        Campaign.objects.filter(pk__in=ids)
        .exclude(state=Campaign.State.NOTHING_TO_SEND)
        .update(state=Campaign.State.COMPLETED, finished_at=now)
    )
    # A text claimed while its campaign was being aborted is deferred, not refused, by the
    # router: refuse it now.
    aborted = OutboundMessage.objects.filter(campaign__state=Campaign.State.ABORTED, state__in=DUE_STATES).abort(
        "Campaign aborted"
    )
    return {"completed": done, "refused": aborted}
