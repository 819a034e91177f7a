"""Texts that gateways hand over in parts: long inbound texts (reassembled here) and delivery
reports sent per part (one state for the whole text).

Inbound: a gateway such as Vonage delivers each part of a concatenated text as its own call
(``concat-ref`` / ``concat-part`` / ``concat-total``). Each part is stored
(``GatewayInboundPart``, idempotent on the part's own id); the call that brings the last part
locks the group, stores the whole text and marks its parts assembled in one transaction, so a
crash stores nothing (the gateway's retry does it all) and two last parts arriving at once
store one text. Groups that never complete are stored by ``flush_stale_parts`` after
``SMS_INBOUND_PART_MAX_AGE_HOURS`` with a marker where parts are missing: nothing is dropped.

Delivery reports: a long text sent as N parts gets N reports (Vonage, Plivo). The text is
delivered once every part is, failed as soon as one part fails; earlier parts are recorded in
``extra_sender_data["part_states"]`` under a row lock.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from sms.backends.base import InboundData, StatusReport

logger = logging.getLogger(__name__)

MISSING = "[part {seq} of {total} missing]"


def receive_part(backend: str, data: InboundData, *, concat_ref: str, seq: int, total: int) -> None:
    """Keep one part; store the whole text (through the inbound pipeline) once all are here."""
    from sms.models import GatewayInboundPart

    if total < 1 or not 1 <= seq <= total or total > 255:
        raise ValueError(f"part {seq} of {total} is not a valid concatenation")
    try:
        with transaction.atomic():
            GatewayInboundPart.objects.create(
                backend=backend,
                sender=data.sender[:20],
                recipient=(data.recipient or "")[:20],
                concat_ref=str(concat_ref)[:50],
                total=total,
                seq=seq,
                content=data.content,
                external_id=data.external_id[:100],
                received_at=data.received_at or timezone.now(),
                raw=data.raw,
            )
    except IntegrityError:
        logger.info("%s part %s delivered again: already kept", backend, data.external_id)
    _assemble_if_complete(backend, data.sender[:20], str(concat_ref)[:50], total)


def _group(backend: str, sender: str, concat_ref: str, total: int):
    from sms.models import GatewayInboundPart

    return GatewayInboundPart.objects.filter(
        backend=backend, sender=sender, concat_ref=concat_ref, total=total, assembled=False
    ).order_by("seq", "first_seen_at", "pk")


def _assemble_if_complete(backend: str, sender: str, concat_ref: str, total: int, *, force: bool = False) -> bool:
    from sms.receiving import store_inbound

    with transaction.atomic():
        parts = list(_group(backend, sender, concat_ref, total).select_for_update())
        by_seq = {}
        for part in parts:
            by_seq.setdefault(part.seq, part)  # a second part with the same number waits for the next text
        if not by_seq or (len(by_seq) < total and not force):
            return False
        first = by_seq[min(by_seq)]
        content = "".join(
            by_seq[seq].content if seq in by_seq else MISSING.format(seq=seq, total=total)
            for seq in range(1, total + 1)
        )
        whole = InboundData(
            sender=sender,
            recipient=first.recipient,
            content=content,
            external_id=f"{first.external_id}+{total}"[:100],
            received_at=max(part.received_at for part in by_seq.values()),
            raw={
                "parts": [by_seq[seq].raw for seq in sorted(by_seq)],
                "missing": sorted(set(range(1, total + 1)) - set(by_seq)),
            },
        )
        store_inbound(backend, whole)
        type(first).objects.filter(pk__in=[part.pk for part in by_seq.values()]).update(assembled=True)
    return True


def flush_stale_parts(*, now=None) -> int:
    """Store the texts whose parts stopped coming (markers where parts are missing) and forget
    assembled parts past the age limit. Returns the number of texts stored."""
    from sms.models import GatewayInboundPart

    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.SMS_INBOUND_PART_MAX_AGE_HOURS)
    stale = (
        GatewayInboundPart.objects.filter(assembled=False, first_seen_at__lt=cutoff)
        .values_list("backend", "sender", "concat_ref", "total")
        .distinct()
    )
    stored = sum(_assemble_if_complete(*group, force=True) for group in list(stale))
    GatewayInboundPart.objects.filter(assembled=True, first_seen_at__lt=cutoff).delete()
    return stored


def settle_part(backend: str, report: StatusReport, *, part_id: str, total: int | None = None) -> StatusReport:
    """The report for the whole text, given a report about one of its ``total`` parts (None:
    the ``part_count`` the gateway gave when it took the text, else its segments).

    Every part delivered → delivered; any part failed → failed (its error kept); else the
    report is "in flight" (state None) and the part's state is remembered on the message.
    """
    from sms.models import OutboundMessage

    if (total is not None and total <= 1) or report.state is None:
        return report
    with transaction.atomic():
        query = OutboundMessage.objects.select_for_update()
        message = None
        if report.reference:
            from sms.receiving import _uuid_or_none

            reference = _uuid_or_none(report.reference)
            message = query.filter(reference=reference).first() if reference else None
        if message is None and report.external_id:
            message = query.filter(backend=backend, external_id=report.external_id).first()
        if message is None:
            return report
        total = total or int(message.extra_sender_data.get("part_count") or message.segments or 1)
        if total <= 1:
            return report
        states = dict(message.extra_sender_data.get("part_states") or {})
        states[str(part_id)[:100]] = report.state
        OutboundMessage.objects.filter(pk=message.pk).update(
            extra_sender_data={**message.extra_sender_data, "part_states": states}
        )
    done = f"{sum(state == 'delivered' for state in states.values())} of {total} parts delivered"
    if report.state == "error_update":
        return dataclasses.replace(report, gateway_status=f"{report.gateway_status} ({done})")
    if sum(state == "delivered" for state in states.values()) >= total:
        return dataclasses.replace(report, state="delivered", gateway_status=f"{report.gateway_status} ({done})")
    return dataclasses.replace(report, state=None, gateway_status=f"{report.gateway_status} ({done})")
