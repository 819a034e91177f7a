"""A contact's conversation: every text in and out, oldest first (two queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch

from replies.models import Label
from sms.models import Contact, InboundMessage, OutboundMessage


@dataclass
class Entry:
    at: datetime
    direction: str  # "in" or "out"
    message: InboundMessage | OutboundMessage


def timeline(contact: Contact, *, limit: int = 500) -> list[Entry]:
    inbound = (
        InboundMessage.objects.filter(sender=contact.number)
        .select_related("reply__reply_type", "reply__suggested_type", "sim")
        .prefetch_related(Prefetch("labels", queryset=Label.objects.select_related("by").order_by("at", "pk")))
        .order_by("-received_at")[:limit]
    )
    outbound = (
        OutboundMessage.objects.filter(recipient=contact.number)
        .select_related("campaign", "template", "sim")
        .order_by("-created_at")[:limit]
    )
    entries = [Entry(m.received_at, "in", m) for m in inbound] + [Entry(m.created_at, "out", m) for m in outbound]
    entries.sort(key=lambda e: (e.at, 0 if e.direction == "out" else 1))
    return entries[-limit:]
