"""In-memory backend for tests: every "sent" text lands in ``sms.backends.locmem.outbox``.

Like Django's locmem e-mail backend. It behaves as a real gateway would (SENT with an id,
delivery reports through ``deliver()``), and can be told to fail the next sends.
"""

from __future__ import annotations

import itertools
import threading

from sms.backends.base import BackendError, BaseBackend, InboundData, SendResult, StatusReport, webhook_params

outbox: list[dict] = []
#: Errors to raise for the next sends, consumed in order (tests push BackendError objects).
fail_next: list[BackendError] = []
_lock = threading.Lock()
_ids = itertools.count(1)
_by_reference: dict[str, str] = {}


def reset() -> None:
    with _lock:
        outbox.clear()
        fail_next.clear()
        _by_reference.clear()


class LocmemBackend(BaseBackend):
    slug = "locmem"
    name = "In-memory (tests)"
    supports_state_check = True
    deduplicates_on_reference = True
    webhook_secret_setting = "LOCMEM_WEBHOOK_SECRET"

    @classmethod
    def is_configured(cls) -> bool:
        from django.conf import settings

        return bool(getattr(settings, "LOCMEM_WEBHOOK_SECRET", ""))

    def publish_message(self, message) -> SendResult:
        with _lock:
            if fail_next:
                raise fail_next.pop(0)
            reference = str(message.reference)
            if reference in _by_reference:  # like a gateway that deduplicates on client reference
                return SendResult(message=message, external_id=_by_reference[reference], sender=message.sender)
            external_id = _by_reference[reference] = f"locmem-{next(_ids)}"
            outbox.append(
                {
                    "to": message.recipient,
                    "body": message.content,
                    "id": external_id,
                    "reference": str(message.reference),
                    "pk": message.pk,
                    "sender": message.sender,
                }
            )
        return SendResult(message=message, external_id=external_id, sender=message.sender)

    def bulk_check_sms_states(self, messages) -> list[StatusReport]:
        return [
            StatusReport(external_id=m.external_id, state="delivered", gateway_status="delivered") for m in messages
        ]

    def parse_inbound(self, request) -> list[InboundData]:
        params = webhook_params(request)
        return [
            InboundData(
                sender=params.get("from", ""),
                recipient=params.get("to", ""),
                content=params.get("text", ""),
                external_id=params.get("id", ""),
                raw=params,
            )
        ]

    def parse_status(self, request) -> list[StatusReport]:
        params = webhook_params(request)
        return [
            StatusReport(
                external_id=params.get("id", ""),
                reference=params.get("ref", ""),
                state=params.get("state") or None,
                raw=params,
            )
        ]
