"""Opt-outs that staff may still take back: the grace period of a staff "End" label, and the
correction of an opt-out the classifier made by mistake.

The consent ledger stays append-only: an undone label within the grace period never reaches
it (nothing stood yet), and a correction is a new event naming the one it corrects. A
customer's own STOP keyword goes straight to ``Contact.opt_out`` and is never correctable.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from sms.models import ConsentEvent, Contact, InboundMessage, PendingOptOut

#: Only opt-outs read by the classifier may be marked "not an opt-out": a keyword STOP, a staff
#: label that outlived its grace period or a recorded phone call are what the person said.
CORRECTABLE_SOURCES = ("classifier",)


def schedule_opt_out(
    *,
    contact: Contact,
    message: InboundMessage | None,
    reason: str,
    source: str,
    evidence: str,
    by=None,
    confirmation: str = "",
    grace_seconds: int,
) -> PendingOptOut:
    """Opt ``contact`` out in ``grace_seconds`` unless cancelled first. A second "End" on the
    same text while one is pending keeps the first (and its deadline)."""
    existing = PendingOptOut.objects.active().filter(message=message).first() if message else None
    if existing is not None:
        return existing
    now = timezone.now()
    return PendingOptOut.objects.create(
        contact=contact,
        number=contact.number,
        message=message,
        reason=reason[:300],
        source=source,
        evidence=evidence,
        confirmation=confirmation,
        created_by=by,
        created_at=now,
        due_at=now + timedelta(seconds=grace_seconds),
    )


def cancel_pending(*, message: InboundMessage, by=None) -> int:
    """Cancel the opt-out waiting on ``message`` (Undo, or a new label). Returns how many."""
    return (
        PendingOptOut.objects.active()
        .filter(message=message)
        .update(status=PendingOptOut.Status.CANCELLED, resolved_at=timezone.now(), resolved_by=by)
    )


def apply(pending: PendingOptOut) -> bool:
    """Make a pending opt-out stand (once, whoever calls first) and queue its confirmation."""
    from sms.api import send_opt_out_confirmation

    with transaction.atomic():
        won = PendingOptOut.objects.filter(pk=pending.pk, status=PendingOptOut.Status.PENDING).update(
            status=PendingOptOut.Status.APPLIED, resolved_at=timezone.now()
        )
        if not won:
            return False
        contact = Contact.objects.get(pk=pending.contact_id)
        if contact.is_opted_out:  # a STOP came meanwhile: that one stands, nothing more to record
            return True
        newly = contact.opt_out(
            reason=pending.reason,
            source=pending.source,
            evidence=pending.evidence,
            recorded_by=pending.created_by,
            message=pending.message,
        )
    if newly and pending.confirmation:
        event = contact.consent_events.filter(kind=ConsentEvent.Kind.OPT_OUT).order_by("-at", "-pk").first()
        send_opt_out_confirmation(event=event, content=pending.confirmation)
    return True


def apply_due_opt_outs(*, now=None) -> int:
    """The periodic step (``send_queued``, the ``dispatch_due`` task): apply every opt-out whose
    grace period is over. Returns how many now stand."""
    return sum(apply(pending) for pending in PendingOptOut.objects.due(now).select_related("contact", "message"))


def correctable(event: ConsentEvent) -> bool:
    """May staff mark ``event`` "not an opt-out"? Only a classifier's opt-out that is still the
    number's latest consent event and that actually changed it (it was not opted out before)."""
    if event.kind != ConsentEvent.Kind.OPT_OUT or event.source not in CORRECTABLE_SOURCES:
        return False
    history = list(ConsentEvent.objects.filter(number=event.number).order_by("-at", "-pk")[:2])
    if not history or history[0].pk != event.pk:
        return False
    return len(history) < 2 or history[1].kind != ConsentEvent.Kind.OPT_OUT


def correct_opt_out(*, event: ConsentEvent, by, reason: str) -> ConsentEvent:
    """Record that ``event`` was not an opt-out and lift it. Raises ValueError if it may not be."""
    with transaction.atomic():
        event = ConsentEvent.objects.select_for_update(of=("self",)).select_related("message").get(pk=event.pk)
        if not correctable(event):
            raise ValueError("This opt-out cannot be corrected (not the classifier's, or not the latest event)")
        text = event.message.content if event.message else event.evidence
        who = by.get_username() if by else "staff"
        correction = ConsentEvent.objects.create(
            contact=event.contact,
            number=event.number,
            kind=ConsentEvent.Kind.CORRECTION,
            scope=event.scope,
            source="staff",
            evidence=f"Not an opt-out: the classifier read {text!r} as one. Marked by {who}. Reason: {reason}",
            recorded_by=by,
            message=event.message,
            corrects=event,
        )
        Contact.objects.filter(number=event.number).update(opted_out_at=None, opt_out_reason="")
    return correction
