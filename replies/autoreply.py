"""Automatic answers: a reply type's auto-reply text, HELP, and the opt-out/opt-in confirmations.

Guards against loops with other robots: never answer a "Bot" text, answer each incoming text
at most once, and at most ``REPLIES_AUTO_REPLY_DAILY_LIMIT`` automatic texts to one number in
24 hours. All of them go through ``sms.api.send``, so an opted-out number is refused there.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from sms.api import send
from sms.models import InboundMessage, OutboundMessage

logger = logging.getLogger(__name__)

AUTO_REPLY_TAG = "auto-reply"


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def greeting(now=None) -> str:
    hour = timezone.localtime(now or timezone.now()).hour
    if hour < 12:
        return "Good morning"
    if hour < 18:
        return "Good afternoon"
    return "Good evening"


def render(text: str, *, name: str, now=None) -> str:
    """Fill ``{name}`` (the contact's name, or "there") and ``{greeting}``; other braces stay."""
    return text.format_map(_Blank(name=name or "there", greeting=greeting(now))).strip()


def sent_today(number: str, *, now=None) -> int:
    now = now or timezone.now()
    return OutboundMessage.objects.filter(
        recipient=number, tag=AUTO_REPLY_TAG, created_at__gte=now - timedelta(hours=24)
    ).count()


def auto_reply(*, message: InboundMessage, content: str) -> OutboundMessage | None:
    """Send ``content`` back to the sender of ``message`` unless the daily limit is reached.

    The caller has already made sure this inbound text has not been answered (Reply.claim_auto_reply).
    """
    if not content:
        return None
    if sent_today(message.sender) >= settings.REPLIES_AUTO_REPLY_DAILY_LIMIT:
        logger.info("Auto-reply to %s skipped: daily limit reached", message.sender)
        return None
    return send(message.sender, content, tag=AUTO_REPLY_TAG, sim=message.sim)
