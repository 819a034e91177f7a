"""Texts to SMPP parts and back: GSM-7 (data_coding 0, one septet per octet as SMPP carries
it, unpacked) or UCS-2 (data_coding 8), long texts as concatenated parts with a user-data
header; deliver_sm read as an inbound text (or part of one) or a delivery receipt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modems import pdu

DATA_CODING_DEFAULT, DATA_CODING_UCS2 = 0x00, 0x08
ESM_UDHI = 0x40
ESM_RECEIPT = 0x04  # the message-type bits (2-5) of esm_class say "SMSC delivery receipt"

# SMPP 3.4 message_state values (5.2.28), and the receipt text's stat: words.
MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
FINAL_FAILURES = {"EXPIRED", "DELETED", "UNDELIV", "REJECTD"}
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427

_RECEIPT_RE = re.compile(r"id:(?P<id>\S+).*?stat:(?P<stat>[A-Z]+)(?:.*?err:(?P<err>\w+))?", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Part:
    short_message: bytes
    data_coding: int
    esm_class: int
    seq: int
    total: int


def split(text: str, *, reference: int) -> list[Part]:
    """The submit_sm bodies for ``text``: one part, or UDH-concatenated parts (8-bit ref)."""
    dcs, chunks = pdu.split_text(text)
    coding = DATA_CODING_DEFAULT if dcs == pdu.DCS_GSM7 else DATA_CODING_UCS2
    encoded = [bytes(chunk) for chunk in chunks]  # septet lists → one octet each; UCS-2 as is
    if len(encoded) == 1:
        return [Part(encoded[0], coding, 0, 1, 1)]
    total = len(encoded)
    ref = reference & 0xFF
    return [
        Part(bytes([5, 0x00, 3, ref, total, seq]) + body, coding, ESM_UDHI, seq, total)
        for seq, body in enumerate(encoded, start=1)
    ]


def decode_text(short_message: bytes, data_coding: int) -> str:
    if data_coding & 0x0F == DATA_CODING_UCS2:
        return short_message.decode("utf-16-be", errors="replace")
    if data_coding & 0x0F in (0x03,):  # Latin-1
        return short_message.decode("latin-1")
    try:
        return pdu.septets_to_text([b & 0x7F for b in short_message])
    except KeyError:
        return short_message.decode("latin-1")


@dataclass(frozen=True)
class Inbound:
    sender: str
    recipient: str
    text: str
    concat: pdu.Concat | None


@dataclass(frozen=True)
class Receipt:
    message_id: str
    stat: str
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.stat == "DELIVRD"

    @property
    def failed(self) -> bool:
        return self.stat in FINAL_FAILURES


def is_receipt(esm_class: int) -> bool:
    return bool(esm_class & ESM_RECEIPT)


def read_receipt(short_message: bytes, *, receipted_message_id: str = "", message_state: int | None = None) -> Receipt:
    """A receipt from its TLVs where present (they win), else the ``id:... stat:...`` text."""
    text = short_message.decode("latin-1", errors="replace")
    match = _RECEIPT_RE.search(text)
    message_id = (receipted_message_id or "").strip("\x00 ") or (match["id"] if match else "")
    stat = MESSAGE_STATES.get(message_state or 0) or (match["stat"].upper() if match else "UNKNOWN")
    if not message_id:
        raise ValueError(f"a receipt without a message id: {text[:80]!r}")
    return Receipt(message_id=message_id, stat=stat, error=(match["err"] or "") if match else "")


def read_text(sender: str, recipient: str, short_message: bytes, *, esm_class: int, data_coding: int) -> Inbound:
    concat = None
    body = short_message
    if esm_class & ESM_UDHI and body:
        header_length = body[0]
        concat, _ = pdu.parse_udh(body[1 : 1 + header_length])
        body = body[1 + header_length :]
    return Inbound(sender=sender, recipient=recipient, text=decode_text(body, data_coding), concat=concat)


def id_variants(message_id: str) -> set[str]:
    """The forms an SMSC may use for the same id: as given, decimal ↔ hex (GATEWAYS.md)."""
    value = message_id.strip().lstrip("0") or "0"
    variants = {message_id.strip(), value}
    if value.isdigit():
        variants.add(format(int(value), "x"))
        variants.add(format(int(value), "X"))
    try:
        variants.add(str(int(value, 16)))
    except ValueError:
        pass
    return variants
