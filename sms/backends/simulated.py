"""Simulated network for the demo: texts are "delivered" a few seconds after sending and some
recipients answer with sample replies, so every page of the dashboard has life in it.

Deterministic: whether and what a recipient replies depends only on the message reference,
so running ``check_delivery`` twice never invents a second reply.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from sms.backends.base import BaseBackend, InboundData, SendResult, StatusReport

SAMPLE_REPLIES = [
    "Thanks!",
    "Thank you, see you soon",
    "STOP",
    "please stop texting me",
    "Who is this?",
    "ok thx 👍",
    "Great, I'll come by on Saturday",
    "Not interested",
    "Merci beaucoup",
    "remove me from your list",
    "Can you call me back?",
    "Auto-reply: I am out of the office",
]


def _digest(message) -> int:
    return int(hashlib.sha256(str(message.reference).encode()).hexdigest()[:8], 16)


class SimulatedBackend(BaseBackend):
    slug = "simulated"
    name = "Simulated network (demo)"
    #: The demo account's credit: this much, less DEMO_PRICE per text it has sent.
    DEMO_CREDIT = 40.0
    DEMO_PRICE = 0.04

    def get_balance(self) -> tuple[float, str]:
        """A demo balance that goes down as the demo sends (the route page and its warning)."""
        from sms.models import OutboundMessage

        sent = OutboundMessage.objects.filter(backend=self.slug).exclude(sent_at=None).count()
        return max(self.DEMO_CREDIT - self.DEMO_PRICE * sent, 0.0), "EUR"

    supports_state_check = True
    deduplicates_on_reference = True

    def publish_message(self, message) -> SendResult:
        return SendResult(message=message, external_id=f"sim-{message.reference}")

    def _delivery_delay(self) -> timedelta:
        return timedelta(seconds=self.option("sms_simulated_delivery_seconds", settings.SMS_SIMULATED_DELIVERY_SECONDS))

    def bulk_check_sms_states(self, messages) -> list[StatusReport]:
        now = timezone.now()
        reports = []
        for message in messages:
            if message.sent_at and now - message.sent_at >= self._delivery_delay():
                failed = _digest(message) % 50 == 0  # about 2% never arrive, like a real network
                reports.append(
                    StatusReport(
                        external_id=message.external_id,
                        state="error_update" if failed else "delivered",
                        gateway_status="undelivered" if failed else "delivered",
                        error="Simulated: handset unreachable" if failed else "",
                        at=now,
                    )
                )
        return reports

    def fetch_inbound(self, delivered_messages) -> list[InboundData]:
        """Sample replies from about a third of the recipients of delivered texts."""
        replies = []
        for message in delivered_messages:
            digest = _digest(message)
            if digest % 3:
                continue
            replies.append(
                InboundData(
                    sender=message.recipient,
                    recipient=message.sender,
                    external_id=f"sim-reply-{message.reference}",
                    content=SAMPLE_REPLIES[(digest // 3) % len(SAMPLE_REPLIES)],
                    # An answer a few minutes after delivery, but never stamped in the future (a
                    # reply "from" later would sort first and read "0 minutes ago").
                    received_at=min(
                        (message.delivered_at or timezone.now()) + timedelta(minutes=digest % 90), timezone.now()
                    ),
                )
            )
        return replies
