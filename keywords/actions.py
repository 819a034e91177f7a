"""What the standard words and a keyword's reply do: opt out, opt in, answer.

``opt_out`` is the one opt-out of the project (replies' "End" categorisation and the consent
page call it too): the consent ledger, every queued text refused, and exactly one confirmation
per opt-out event.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from keywords.models import StandardWords
from sms.api import send, send_opt_out_confirmation
from sms.models import ConsentEvent, Contact, InboundMessage, OutboundMessage

logger = logging.getLogger(__name__)

#: Tags of automatic answers; together at most REPLIES_AUTO_REPLY_DAILY_LIMIT a day per number
#: (stops loops with other robots).
AUTO_REPLY_TAG = "auto-reply"
KEYWORD_REPLY_TAG = "keyword-reply"
AUTOMATIC_TAGS = (AUTO_REPLY_TAG, KEYWORD_REPLY_TAG)


def evidence(message: InboundMessage) -> str:
    when = f"{message.received_at:%Y-%m-%d %H:%M:%S %Z}"
    return f"Text {message.content!r} from {message.sender} received {when} ({message.backend} #{message.external_id})"


def contact_of(message: InboundMessage) -> Contact:
    if message.contact_id:
        return message.contact
    contact, _ = Contact.objects.get_or_create(number=message.sender)
    InboundMessage.objects.filter(pk=message.pk).update(contact=contact)
    message.contact = contact
    return contact


def opt_out(
    *, contact: Contact, reason: str, source: str, evidence: str, by=None, confirm: bool = True, message=None
) -> bool:
    """Opt ``contact`` out (queued texts refused at once) and send the one confirmation.

    Returns False if the number was already opted out (then no second confirmation is sent).
    """
    newly = contact.opt_out(reason=reason, source=source, evidence=evidence, recorded_by=by, message=message)
    content = StandardWords.load().opt_out_confirmation
    if newly and confirm and content:
        event = contact.consent_events.filter(kind=ConsentEvent.Kind.OPT_OUT).order_by("-at", "-pk").first()
        send_opt_out_confirmation(event=event, content=content)
    return newly


def opt_out_by_text(message: InboundMessage) -> None:
    opt_out(
        contact=contact_of(message),
        reason=f"Texted {message.content.strip()[:50]!r}",
        source="keyword",
        evidence=evidence(message),
    )


def opt_in_by_text(message: InboundMessage) -> OutboundMessage | None:
    contact = contact_of(message)
    if not contact.is_opted_out:
        return None
    contact.opt_in(source="keyword", evidence=evidence(message))
    content = StandardWords.load().opt_in_confirmation
    if content:
        return send(contact.number, content, tag="opt-in-confirmation", sim=message.sim)
    return None


def answer(*, message: InboundMessage, content: str, tag: str = AUTO_REPLY_TAG, **extra) -> OutboundMessage | None:
    """Text ``content`` back to the sender, unless automatic answers hit the daily limit."""
    if not content:
        return None
    since = timezone.now() - timedelta(hours=24)
    sent = OutboundMessage.objects.filter(recipient=message.sender, tag__in=AUTOMATIC_TAGS, created_at__gte=since)
    if sent.count() >= settings.REPLIES_AUTO_REPLY_DAILY_LIMIT:
        logger.info("Automatic answer to %s skipped: daily limit reached", message.sender)
        return None
    return send(message.sender, content, tag=tag, sim=message.sim, **extra)


class _Keep(dict):
    def __missing__(self, key):
        return "{" + key + "}"  # {link} is filled in when queued (links app), unknown braces stay


def render_reply(template: str, *, word: str, argument: str, name: str) -> str:
    return template.format_map(_Keep(word=word, argument=argument, name=name or "there")).strip()
