"""Telling the data source how a group's texts went (a durable outbox).

1. ``collect_notifications``: when every first text of a pulled group has left (sent,
   delivered, failed or refused), one Notification row is created *in the same transaction* that
   marks those recipients as notified: nothing is lost if the process dies, and the same
   recipients never go into a second notification.
2. ``send_notifications``: POSTs due rows. A row is claimed with a conditional UPDATE, so two
   runs never POST the same row; a failure is retried with exponential backoff until the source
   answers 2xx; after that the row is never sent again. A run that died mid-POST leaves the row
   in SENDING; it is retried after a time-out with the same ``Idempotency-Key`` header, so a
   source that honours it sees it once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaigns.models import TAG_FIRST, Campaign, CampaignGroup, Notification, Recipient
from campaigns.sources import auth
from sms.models import PENDING_STATES, OutboundMessage

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
STUCK_AFTER = timedelta(minutes=10)


def collect_notifications(*, now: datetime | None = None) -> int:
    """Create a Notification for each pulled group whose texts have all left. Returns how many."""
    now = now or timezone.now()
    unnotified = Recipient.objects.filter(group=OuterRef("pk"), notification__isnull=True)
    pending = OutboundMessage.objects.filter(
        campaign=OuterRef("campaign"), template=OuterRef("template"), tag=TAG_FIRST, state__in=PENDING_STATES
    )
    groups = (
        CampaignGroup.objects.filter(campaign__source=Campaign.Source.PULL)
        .exclude(campaign__source_url="")
        .filter(Exists(unnotified))
        .exclude(Exists(pending))
        .select_related("campaign")
    )
    created = 0
    for group in groups:
        with transaction.atomic():
            recipients = list(
                Recipient.objects.select_for_update()
                .filter(group=group, notification__isnull=True)
                .values_list("pk", "number", "source_number")
            )
            if not recipients:
                continue
            outcomes = dict(
                OutboundMessage.objects.filter(
                    campaign=group.campaign_id, tag=TAG_FIRST, recipient__in=[r[1] for r in recipients]
                ).values_list("recipient", "state")
            )
            numbers = [source or number for _, number, source in recipients]
            payload = {
                "campaign": group.campaign.name,
                "group": group.name,
                "numbers": numbers,
                "outcomes": [
                    {"number": source or number, "e164": number, "state": outcomes.get(number, "unknown")}
                    for _, number, source in recipients
                ],
            }
            notification = Notification.objects.create(
                campaign=group.campaign,
                group=group,
                url=group.campaign.source_url,
                payload=payload,
                next_attempt_at=now,
            )
            Recipient.objects.filter(pk__in=[r[0] for r in recipients]).update(notification=notification)
            created += 1
    return created


@dataclass
class NotifySummary:
    sent: int = 0
    failed: int = 0

    def __str__(self):
        return f"{self.sent} notifications sent, {self.failed} failed (will retry)"


def _post(notification: Notification) -> None:
    payload = notification.payload
    headers, params = auth(settings.TEXTING_API_KEY)
    headers["Idempotency-Key"] = str(notification.key)
    kwargs: dict = {"headers": headers, "params": params}
    if settings.TEXTING_API_NOTIFY_FORMAT == "form":
        kwargs["data"] = {
            "numbers": ", ".join(payload["numbers"]),
            "group": payload["group"],
            "payload": json.dumps(payload),
        }
    else:
        kwargs["json"] = payload
    response = requests.post(notification.url, timeout=settings.TEXTING_API_TIMEOUT_SECONDS, **kwargs)
    if not 200 <= response.status_code < 300:
        raise requests.HTTPError(f"HTTP {response.status_code}: {response.text[:200]!r}")


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=60 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def send_notifications(*, now: datetime | None = None, limit: int = 100) -> NotifySummary:
    now = now or timezone.now()
    summary = NotifySummary()
    Notification.objects.filter(state=Notification.State.SENDING, claimed_at__lt=now - STUCK_AFTER).update(
        state=Notification.State.PENDING
    )
    due = list(
        Notification.objects.filter(state=Notification.State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        claimed_at = timezone.now()
        won = Notification.objects.filter(pk=pk, state=Notification.State.PENDING).update(
            state=Notification.State.SENDING, claimed_at=claimed_at
        )
        if not won:
            continue  # another run took it
        notification = Notification.objects.get(pk=pk)
        try:
            _post(notification)
        except requests.RequestException as exc:
            attempts = notification.attempts + 1
            Notification.objects.filter(pk=pk, state=Notification.State.SENDING).update(
                state=Notification.State.PENDING,
                attempts=attempts,
                last_error=str(exc)[:1000],
                next_attempt_at=timezone.now() + backoff(attempts),
            )
            summary.failed += 1
            logger.warning("Notification %s to %s failed: %s", pk, notification.url, exc)
            continue
        Notification.objects.filter(pk=pk).update(
            state=Notification.State.SENT, attempts=notification.attempts + 1, sent_at=timezone.now(), last_error=""
        )
        summary.sent += 1
    return summary


@dataclass
class SourcesRun:
    """What one ``notify_sources`` run did (the command and the Celery task print it)."""

    paused: list
    created: int
    summary: NotifySummary
    completed: int

    def __str__(self):
        return f"{self.created} new notifications; {self.summary}; {self.completed} campaigns completed"


def notify_sources(*, now: datetime | None = None) -> SourcesRun:
    """The minute's campaign housekeeping: the error-rate guard, completion, then the source's
    notifications (collect, then POST due ones)."""
    from campaigns.control import check_error_rates, refresh_states

    paused = check_error_rates(now=now)
    states = refresh_states(now=now)
    created = collect_notifications(now=now)
    summary = send_notifications(now=now)
    return SourcesRun(paused=paused, created=created, summary=summary, completed=states["completed"])
