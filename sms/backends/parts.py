"""Texts that gateways hand over in parts: long inbound texts (reassembled here) and delivery
reports sent per part (one state for the whole text).

Inbound: a gateway such as Vonage delivers each part of a concatenated text as its own call
(``concat-ref`` / ``concat-part`` / ``concat-total``). Each part is stored
(``GatewayInboundPart``, idempotent on the part's own id, committed before the answer); the
call that brings the last part hands the whole text to the webhook, which stores it like any
other (the pipeline, "retry later"). Its id is derived from its first part's, so two last parts
at once, or a retry, store it once; a crash before it is stored leaves the parts waiting for
the gateway's retry. Groups that never complete are stored by ``flush_stale_parts`` after
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


def receive_part(backend: str, data: InboundData, *, concat_ref: str, seq: int, total: int) -> InboundData | None:
    """Keep one part; once all parts are here, the whole text (for the webhook to store).

    The whole text's id is the first part's id plus the count, so however many times (or at
    once) the last part arrives, ``store_inbound`` stores it once, and a delivery again of a
    text still ``pending`` re-runs its inline steps as for any other text.
    """
    from sms.models import GatewayInboundPart

    if total < 1 or not 1 <= seq <= total or total > 255:
        raise ValueError(f"part {seq} of {total} is not a valid concatenation")
    sender, concat_ref = data.sender[:20], str(concat_ref)[:50]
    try:
        with transaction.atomic():
            GatewayInboundPart.objects.create(
                backend=backend,
                sender=sender,
                recipient=(data.recipient or "")[:20],
                concat_ref=concat_ref,
                total=total,
                seq=seq,
                content=data.content,
                external_id=data.external_id[:100],
                received_at=data.received_at or timezone.now(),
                raw=data.raw,
            )
    except IntegrityError:
        logger.info("%s part %s delivered again", backend, data.external_id)
    return _whole_text(backend, sender, concat_ref, total, arriving=data.external_id[:100])


def _group(backend: str, sender: str, concat_ref: str, total: int):
    from sms.models import GatewayInboundPart

    return GatewayInboundPart.objects.filter(
        backend=backend, sender=sender, concat_ref=concat_ref, total=total, assembled=False
    ).order_by("seq", "first_seen_at", "pk")


def _assemble(parts, total: int, *, force: bool = False) -> tuple[InboundData | None, list]:
    by_seq = {}
    for part in parts:
        by_seq.setdefault(part.seq, part)  # a second part with the same number belongs to a later text
    if not by_seq or (len(by_seq) < total and not force):
        return None, []
    first = by_seq[min(by_seq)]
    content = "".join(
        by_seq[seq].content if seq in by_seq else MISSING.format(seq=seq, total=total) for seq in range(1, total + 1)
    )
    whole = InboundData(
        sender=first.sender,
        recipient=first.recipient,
        content=content,
        external_id=f"{first.external_id}+{total}"[:100],
        received_at=max(part.received_at for part in by_seq.values()),
        raw={
            "parts": [by_seq[seq].raw for seq in sorted(by_seq)],
            "missing": sorted(set(range(1, total + 1)) - set(by_seq)),
        },
    )
    return whole, list(by_seq.values())


def _whole_text(backend, sender, concat_ref, total, *, arriving: str) -> InboundData | None:
    """The whole text if its parts are all here. Groups already stored (their text exists) are
    marked assembled first, so a later text reusing the same concat-ref starts afresh."""
    from sms.models import GatewayInboundPart, InboundMessage

    for _ in range(8):  # a few stored groups under the same reference at most
        whole, used = _assemble(list(_group(backend, sender, concat_ref, total)), total)
        if whole is None:
            return None
        if not InboundMessage.objects.filter(backend=backend, external_id=whole.external_id).exists():
            return whole  # not stored yet: the webhook stores it (and a retry finds it unmarked)
        GatewayInboundPart.objects.filter(pk__in=[part.pk for part in used]).update(assembled=True)
        if any(part.external_id == arriving for part in used):
            return whole  # a part of a stored text, again: store_inbound recognises the text
    return None


def flush_stale_parts(*, now=None) -> int:
    """Store the texts whose parts stopped coming (markers where parts are missing) and forget
    parts past the age limit. Returns the number of texts stored."""
    from sms.models import GatewayInboundPart, InboundMessage
    from sms.receiving import store_inbound

    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.SMS_INBOUND_PART_MAX_AGE_HOURS)
    stale = (
        GatewayInboundPart.objects.filter(assembled=False, first_seen_at__lt=cutoff)
        .values_list("backend", "sender", "concat_ref", "total")
        .distinct()
    )
    stored = 0
    for backend, sender, concat_ref, total in list(stale):
        with transaction.atomic():
            parts = list(
                _group(backend, sender, concat_ref, total).filter(first_seen_at__lt=cutoff).select_for_update()
            )
            whole, used = _assemble(parts, total, force=True)
            if whole is None:
                continue
            if not InboundMessage.objects.filter(backend=backend, external_id=whole.external_id).exists():
                store_inbound(backend, whole)
                stored += 1
            GatewayInboundPart.objects.filter(pk__in=[part.pk for part in used]).update(assembled=True)
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
