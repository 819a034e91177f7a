"""Polling gateways for delivery states (``check_delivery``), for backends that can be asked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from sms.backends import BackendError, get_backend
from sms.backends.parts import flush_stale_parts
from sms.models import OutboundMessage, State
from sms.receiving import apply_status_report, store_inbound


@dataclass
class DeliverySummary:
    checked: int = 0
    delivered: int = 0
    failed: int = 0
    replies: int = 0
    errors: int = 0

    def __str__(self):
        return (
            f"{self.checked} checked: {self.delivered} delivered, {self.failed} failed, "
            f"{self.replies} replies stored, {self.errors} check errors"
        )


def check_delivery(*, max_age_days: int = 7, chunk: int = 100, progress=None) -> DeliverySummary:
    summary = DeliverySummary()
    # Long inbound texts whose parts stopped coming are stored now, with markers (sms.backends.parts).
    summary.replies += flush_stale_parts()
    since = timezone.now() - timedelta(days=max_age_days)
    for slug in settings.SMS_BACKENDS:
        backend = get_backend(slug)
        if not backend.supports_state_check:
            continue
        pending = OutboundMessage.objects.filter(backend=slug, state=State.SENT, sent_at__gte=since).order_by("pk")
        ids = list(pending.values_list("pk", flat=True))
        for start in range(0, len(ids), chunk):
            batch = list(OutboundMessage.objects.filter(pk__in=ids[start : start + chunk]))
            try:
                reports = backend.bulk_check_sms_states(batch)
            except BackendError:
                summary.errors += 1
                continue
            summary.checked += len(batch)
            delivered = []
            for report in reports:
                message = apply_status_report(slug, report)
                if message is None:
                    continue
                if message.state == State.DELIVERED:
                    summary.delivered += 1
                    delivered.append(message)
                elif message.state == State.ERROR_UPDATE:
                    summary.failed += 1
            fetch = getattr(backend, "fetch_inbound", None)
            if fetch and delivered:
                for data in fetch(delivered):
                    _, created = store_inbound(slug, data)
                    summary.replies += created
            if progress:
                progress(summary)
    return summary
