"""Putting outbound texts in the queue: one or many, with the checks every path shares.

Every text, whatever created it (``sms.api.send``, a campaign fan-out, a follow-up, an
auto-reply), goes through ``queue_messages``: the number is normalised to E.164, the content
transliterated when settings ask, encoding and segments computed, and the organisation-wide
opt-out list checked. A refused text is still stored, with its reason, so staff can see why.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sms.bulk import create_rows, insert_rows
from sms.encoding import segment_info, to_gsm7
from sms.models import Contact, OutboundMessage, State, StatusChange
from sms.phone import InvalidNumber, normalise


def build_message(
    recipient: str, content: str, *, region: str | None = None, name: str = "", **fields
) -> OutboundMessage:
    """An unsaved OutboundMessage, WAITING, or REFUSED with the reason if the number is invalid."""
    if not settings.SMS_USE_ACCENT:
        content = to_gsm7(content)
    info = segment_info(content)
    message = OutboundMessage(content=content, encoding=info.encoding, segments=info.segments, **fields)
    try:
        message.recipient = normalise(recipient, region)
    except InvalidNumber as exc:
        message.recipient = str(recipient)[:20]
        message.state = State.REFUSED
        message.error = f"Invalid number: {exc}"
    message._contact_name = name
    return message


def queue_messages(messages: list[OutboundMessage], *, batch_size: int = 2000) -> list[OutboundMessage]:
    """Store built messages in bulk: a handful of queries per batch, never one per row."""
    now = timezone.now()
    stored: list[OutboundMessage] = []
    for start in range(0, len(messages), batch_size):
        chunk = messages[start : start + batch_size]
        with transaction.atomic():
            contacts = _contacts_for(chunk, now)
            for message in chunk:
                message.created_at = message.changed_at = now
                contact = contacts.get(message.recipient)
                message.contact = contact
                if message.state == State.WAITING and contact is not None and contact.is_opted_out:
                    message.state = State.REFUSED
                    message.error = "Recipient opted out" + (
                        f": {contact.opt_out_reason}" if contact.opt_out_reason else ""
                    )
            created = create_rows(chunk)
            insert_rows([StatusChange(message=m, state=m.state, at=now, note=m.error[:500]) for m in created])
        stored.extend(created)
    if any(m.state == State.WAITING for m in stored):
        from sms.tasks import kick_dispatcher  # lazily: sms.tasks loads celery and the dispatcher

        kick_dispatcher()
    return stored


def _contacts_for(messages: Iterable[OutboundMessage], now) -> dict[str, Contact]:
    wanted = {m.recipient: getattr(m, "_contact_name", "") for m in messages if m.state == State.WAITING}
    if not wanted:
        return {}
    insert_rows(
        [Contact(number=number, name=name[:200], created_at=now) for number, name in wanted.items()],
        ignore_conflicts=True,
    )
    return {c.number: c for c in Contact.objects.filter(number__in=list(wanted))}
