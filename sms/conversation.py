"""A contact's conversation: every text to and from the number, oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sms.models import Contact, InboundMessage, OutboundMessage


@dataclass
class Entry:
    at: datetime
    direction: str  # "out" or "in"
    message: OutboundMessage | InboundMessage


def conversation(contact: Contact, *, limit: int = 500) -> list[Entry]:
    """The latest ``limit`` texts each way, merged in time order (two queries)."""
    outbound = OutboundMessage.objects.filter(recipient=contact.number).order_by("-created_at", "-pk")[:limit]
    inbound = InboundMessage.objects.filter(sender=contact.number).order_by("-received_at", "-pk")[:limit]
    entries = [Entry(m.created_at, "out", m) for m in outbound] + [Entry(m.received_at, "in", m) for m in inbound]
    entries.sort(key=lambda entry: (entry.at, entry.direction == "in"))
    return entries
