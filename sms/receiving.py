"""Inbound texts and delivery reports, whichever way they arrive (webhook, modem, polling)."""

from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from sms import signals
from sms.backends import InboundData, StatusReport
from sms.backends.http import without_nul
from sms.models import Contact, InboundMessage, OutboundMessage, State
from sms.phone import try_normalise

logger = logging.getLogger(__name__)

# Order of progress: a late "sent" report never moves a delivered text backwards.
_RANK = {State.SENDING: 0, State.SENT: 1, State.DELIVERED: 2, State.ERROR_UPDATE: 2}


def store_inbound(backend: str, data: InboundData, *, sim_id: int | None = None) -> tuple[InboundMessage, bool]:
    """Store an inbound text once (idempotent on backend + gateway id) and run the pipeline.

    Returns (message, created). A duplicate callback returns the stored row with created=False
    and runs nothing again.

    The row and the pipeline's work (its link, its sorting, an opt-out and its confirmation)
    commit together: a process that dies half-way leaves nothing, so the gateway's retry (or
    the next ``read_in`` of a text still on the SIM) runs it all. A step that *raises* is
    rolled back alone (a savepoint), logged, and the text kept; a retry does not run it again.
    """
    data = without_nul_fields(data)  # PostgreSQL cannot store NUL; a %00 must not be a 500
    sender = try_normalise(data.sender) or data.sender.strip()[:20]
    recipient = try_normalise(data.recipient) or (data.recipient or "").strip()[:20] if data.recipient else ""
    external_id = data.external_id or _fallback_id(data)
    existing = InboundMessage.objects.filter(backend=backend, external_id=external_id).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            with transaction.atomic():
                message = InboundMessage.objects.create(
                    sender=sender,
                    recipient=recipient,
                    content=data.content,
                    backend=backend,
                    external_id=external_id[:100],
                    received_at=data.received_at or timezone.now(),
                    raw=data.raw,
                    sim_id=sim_id,
                )
            for step in pipeline():
                try:
                    with transaction.atomic():
                        step(message)
                except Exception:
                    # A failing step (a classifier bug, say) must not lose the text or make the
                    # gateway retry forever: its own work is rolled back, later steps still run.
                    logger.exception("Inbound pipeline step %s failed on message %s", step, message.pk)
    except IntegrityError:  # the same callback, twice at once: the other one stored it
        return InboundMessage.objects.get(backend=backend, external_id=external_id), False
    signals.message_received.send(sender=InboundMessage, message=message)
    return message, True


def _fallback_id(data: InboundData) -> str:
    """Gateways without ids: sender + time + content identify a text well enough."""
    import hashlib

    when = (data.received_at or timezone.now()).isoformat(timespec="seconds")
    return "h-" + hashlib.sha256(f"{data.sender}|{when}|{data.content}".encode()).hexdigest()[:40]


@lru_cache(maxsize=4)
def _pipeline(paths: tuple[str, ...]):
    return [import_string(path) for path in paths]


def pipeline():
    return _pipeline(tuple(settings.SMS_INBOUND_PIPELINE))


def link_conversation(message: InboundMessage) -> None:
    """Pipeline step: link to the contact and to the last outbound text to that number."""
    contact, _ = Contact.objects.get_or_create(number=message.sender)
    last = (
        OutboundMessage.objects.filter(recipient=message.sender, created_at__lte=message.received_at)
        .exclude(state__in=(State.REFUSED, State.ABORTED))
        .order_by("-created_at", "-pk")
        .first()
    )
    message.contact = contact
    message.in_reply_to = last
    message.save(update_fields=["contact", "in_reply_to"])


def apply_status_report(backend: str, report: StatusReport) -> OutboundMessage | None:
    """Apply one delivery report. Unknown ids are logged and ignored (never an error)."""
    report = without_nul_fields(report)
    message = None
    if report.reference:
        message = (
            OutboundMessage.objects.filter(reference=_uuid_or_none(report.reference)).first()
            if _uuid_or_none(report.reference)
            else None
        )
    if message is None and report.external_id:
        message = OutboundMessage.objects.filter(backend=backend, external_id=report.external_id).first()
    if message is None:
        logger.info(
            "Status report for an unknown message (%s id=%r ref=%r): ignored",
            backend,
            report.external_id,
            report.reference,
        )
        return None
    if report.external_id and not message.external_id:
        # The report arrived before the dispatcher stored the gateway's id.
        OutboundMessage.objects.filter(pk=message.pk, external_id="").update(external_id=report.external_id[:100])
        message.external_id = report.external_id[:100]
    if report.opt_out:
        contact, _ = Contact.objects.get_or_create(number=message.recipient)
        contact.opt_out(
            reason=f"Gateway reported opt-out ({report.error_code or report.gateway_status})",
            source="gateway",
            evidence=str(report.raw)[:2000],
        )
    if report.state is None:
        return message
    if _RANK.get(report.state, 0) < _RANK.get(message.state, 0):
        return message  # out-of-order report: keep the later state
    note = f"{backend}: {report.gateway_status}" + (
        f" [{report.error_code}] {report.error}" if report.error or report.error_code else ""
    )
    if report.state == State.DELIVERED:
        message.mark_delivered(at=report.at, note=note)
    elif report.state == State.ERROR_UPDATE:
        message.mark_failed_after_send(error=note)
    elif report.state == State.SENT and message.state in (State.SENDING, State.UNKNOWN):
        message.set_state(State.SENT, note=note, sent_at=message.sent_at or timezone.now())
    return message


def _uuid_or_none(value: str):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def without_nul_fields(data):
    """A copy of an InboundData/StatusReport without NUL characters in its text fields."""
    import dataclasses

    changes = {
        f.name: without_nul(getattr(data, f.name))
        for f in dataclasses.fields(data)
        if isinstance(getattr(data, f.name), str | dict)
    }
    return dataclasses.replace(data, **changes)
