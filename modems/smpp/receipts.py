"""SMSC ids and what comes back for them: receipts matched to parts (a receipt that overtakes
its submit_sm_resp kept until the id arrives), a text DELIVERED when every part is, and
inbound deliver_sm texts stored (long ones reassembled)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from modems.models import SimCard, SmppEarlyReceipt, SmppPart
from modems.smpp import codec
from sms.models import OutboundMessage

BACKEND = "smpp"


def body_of(pdu) -> bytes:
    """short_message, or the message_payload TLV some SMSCs use for long texts instead."""
    body = pdu.short_message or getattr(pdu, "message_payload", None) or b""
    return body.encode("latin-1") if isinstance(body, str) else body


def text_of(value) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1").strip("\x00")
    return (value or "").strip("\x00") if isinstance(value, str) else ""


def store_part_ids(sim: SimCard, answered: list) -> None:
    """Store parts' SMSC ids ((message, part, id) each), then apply receipts that came first."""
    with transaction.atomic():
        SmppPart.objects.bulk_create(
            [
                SmppPart(message=message, sim=sim, seq=part.seq, total=part.total, smsc_id=smsc_id)
                for message, part, smsc_id in answered
            ]
        )
        variants = {v: (message, part) for message, part, smsc_id in answered for v in codec.id_variants(smsc_id)}
        early = list(SmppEarlyReceipt.objects.filter(sim=sim, smsc_id__in=list(variants)))
        for receipt in early:
            message, part = variants[receipt.smsc_id]
            SmppPart.objects.filter(message=message, seq=part.seq).update(stat=receipt.stat)
        SmppEarlyReceipt.objects.filter(pk__in=[r.pk for r in early]).delete()


def apply_receipt(sim: SimCard, receipt: codec.Receipt) -> None:
    variants = codec.id_variants(receipt.message_id)
    parts = list(SmppPart.objects.filter(sim=sim, smsc_id=receipt.message_id))
    parts = parts or list(SmppPart.objects.filter(sim=sim, smsc_id__in=variants))
    if not parts:
        SmppEarlyReceipt.objects.create(sim=sim, smsc_id=receipt.message_id, stat=receipt.stat, error=receipt.error)
        return
    part = parts[-1]  # the most recent part with that id (an SMSC may reuse ids, much later)
    SmppPart.objects.filter(pk=part.pk).update(stat=receipt.stat)
    apply_delivery(part.message)


def apply_delivery(message: OutboundMessage) -> None:
    """DELIVERED when every part is; failed after sending as soon as one part is."""
    stats = list(SmppPart.objects.filter(message=message).values_list("stat", "total"))
    if not stats:
        return
    total = stats[0][1]
    failed = [s for s, _ in stats if s in codec.FINAL_FAILURES]
    if failed:
        message.mark_failed_after_send(error=f"SMPP receipt: {failed[0]} ({len(failed)} of {total} parts)")
    elif len(stats) == total and all(s == "DELIVRD" for s, _ in stats):
        message.mark_delivered(note=f"SMPP receipt: DELIVRD ({total} part(s))")


def store_deliver_sm(sim: SimCard, pdu) -> None:
    """An inbound text (or one part of a long one, kept until its siblings arrive)."""
    from modems.models import InboundPart
    from modems.reading import ReadSummary, _assemble
    from sms.backends import InboundData
    from sms.receiving import store_inbound

    inbound = codec.read_text(
        text_of(pdu.source_addr),
        text_of(pdu.destination_addr),
        body_of(pdu),
        esm_class=int(pdu.esm_class or 0),
        data_coding=int(pdu.data_coding or 0),
    )
    sender = "+" + inbound.sender if inbound.sender.isdigit() else inbound.sender
    if inbound.concat is None:
        store_inbound(
            BACKEND,
            InboundData(sender=sender, content=inbound.text, external_id="", recipient=sim.number, raw={}),
            sim_id=sim.pk,
        )
        return
    concat = inbound.concat
    InboundPart.objects.get_or_create(
        sim=sim,
        sender=sender[:20],
        reference=concat.ref,
        total=concat.total,
        seq=concat.seq,
        assembled_into__isnull=True,
        defaults={"text": inbound.text, "sent_at": timezone.now()},
    )
    _assemble(sim, ReadSummary(), backend=BACKEND)
