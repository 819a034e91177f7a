"""Re-sending UNKNOWN texts on purpose (the outbound list's bulk action).

A text is UNKNOWN when the dispatcher stopped while the gateway had its request: it may have
reached the recipient. Texting never re-sends those by itself; staff may, after checking the
gateway's logs, knowing the recipient may get the text twice. The re-send is a conditional
UPDATE (only rows still UNKNOWN), back to the queue with a history row naming the staff
member; the dispatcher then treats it like any queued text (opt-out checked again, routed,
sent once more).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sms import signals
from sms.models import OutboundMessage, State, StatusChange

NOTE = "Re-sent deliberately by {user}: the recipient may get this text twice"


def resend_unknown(queryset, *, user) -> int:
    """Queue again every UNKNOWN text of ``queryset``; returns how many went back."""
    now = timezone.now()
    pks = list(queryset.filter(state=State.UNKNOWN).values_list("pk", flat=True))
    if not pks:
        return 0
    note = NOTE.format(user=user.get_username())[:500]
    with transaction.atomic():
        # Lock and re-read: two staff members confirming at once re-queue each text once.
        moved = list(
            OutboundMessage.objects.select_for_update()
            .filter(pk__in=pks, state=State.UNKNOWN)
            .values_list("pk", flat=True)
        )
        OutboundMessage.objects.filter(pk__in=moved, state=State.UNKNOWN).update(
            state=State.WAITING,
            changed_at=now,
            next_attempt_at=now,
            claim_token=None,
            request_started_at=None,
            error="",
        )
        StatusChange.objects.bulk_create(
            [StatusChange(message_id=pk, state=State.WAITING, at=now, note=note, by=user) for pk in moved]
        )
        from sms.tasks import kick_dispatcher

        kick_dispatcher()
    for message in OutboundMessage.objects.filter(pk__in=moved):
        signals.status_changed.send(
            sender=OutboundMessage, message=message, previous=State.UNKNOWN, state=State.WAITING
        )
    return len(moved)
