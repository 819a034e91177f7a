"""SMS PDUs (3GPP TS 23.040) for modems in PDU mode (AT+CMGF=0).

PDU mode is the robust way to talk to a modem: text mode depends on the modem's character
set setting (AT+CSCS), mangles ``@`` and non-Latin text, and cannot carry the user-data
header that concatenated texts need. Here: GSM-7 packing with the extension table, UCS-2,
8-bit data, concatenation headers with 8-bit and 16-bit references, service-centre time
stamps, SMS-SUBMIT encoding (what we send) and SMS-DELIVER decoding (what we read), plus
the reverse of each so the modem simulator can speak the same language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from sms.encoding import GSM7_BASIC, GSM7_EXTENDED

ESC = 0x1B
# GSM 03.38 extension table: character -> code after ESC.
_EXT_CODES = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40}
_EXT_CODES["€"] = 0x65
assert set(_EXT_CODES) == set(GSM7_EXTENDED)
_BASIC_CODES = {ch: code for code, ch in enumerate(GSM7_BASIC[:27] + "\x1b" + GSM7_BASIC[27:])}
_BASIC_CODES.pop("\x1b")
assert len(_BASIC_CODES) == 127
_BASIC_CHARS = {code: ch for ch, code in _BASIC_CODES.items()}
_EXT_CHARS = {code: ch for ch, code in _EXT_CODES.items()}

DCS_GSM7, DCS_8BIT, DCS_UCS2 = 0x00, 0x04, 0x08
IEI_CONCAT_8, IEI_CONCAT_16 = 0x00, 0x08

#: Per-part capacity once a concatenation header takes its room (septets / octets).
GSM7_PART_SEPTETS = 153
UCS2_PART_OCTETS = 134


class PDUError(ValueError):
    """A PDU we cannot read (truncated, not hex, an unknown layout)."""


# --- GSM-7 -----------------------------------------------------------------------------------


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC_CODES or ch in _EXT_CODES for ch in text)


def gsm7_septets(text: str) -> list[int]:
    """Septet codes for ``text`` (extension characters become ESC + code)."""
    septets = []
    for ch in text:
        if ch in _BASIC_CODES:
            septets.append(_BASIC_CODES[ch])
        elif ch in _EXT_CODES:
            septets.extend((ESC, _EXT_CODES[ch]))
        else:
            raise ValueError(f"{ch!r} is not in the GSM-7 alphabet")
    return septets


def septets_to_text(septets: list[int]) -> str:
    chars, escaped = [], False
    for code in septets:
        if escaped:
            # An unknown extension code shows as a space, as 23.038 asks.
            chars.append(_EXT_CHARS.get(code, " "))
            escaped = False
        elif code == ESC:
            escaped = True
        else:
            chars.append(_BASIC_CHARS[code])
    return "".join(chars)


def pack_septets(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack 7-bit codes into octets, least significant bit first, after ``fill_bits`` zero bits.

    The fill bits align the first septet after a user-data header on a septet boundary.
    """
    acc, nbits, out = 0, fill_bits, bytearray()
    for septet in septets:
        acc |= (septet & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    value = int.from_bytes(data, "little")
    value >>= fill_bits
    if len(data) * 8 < fill_bits + count * 7:
        raise PDUError("user data shorter than its length says")
    return [(value >> (7 * i)) & 0x7F for i in range(count)]


# --- Addresses and time stamps ---------------------------------------------------------------


def _swap_digits(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2)))


def _unswap_digits(data: bytes, count: int) -> str:
    text = "".join(f"{b:02X}"[::-1] for b in data)
    return text[:count].replace("*", "").translate(str.maketrans("ABC", "*#a"))


def encode_address(number: str) -> bytes:
    """Destination address: length in digits, type (0x91 international / 0x81 unknown), BCD."""
    international = number.startswith("+")
    digits = number.lstrip("+")
    if not digits.isdigit():
        raise ValueError(f"cannot address {number!r}: digits only")
    return bytes([len(digits), 0x91 if international else 0x81]) + _swap_digits(digits)


def decode_address(data: bytes, pos: int) -> tuple[str, int]:
    """Originating address at ``pos``: returns (number or alphanumeric sender, next position)."""
    length, toa = data[pos], data[pos + 1]
    octets = (length + 1) // 2
    body = data[pos + 2 : pos + 2 + octets]
    if len(body) < octets:
        raise PDUError("address truncated")
    if (toa & 0x70) == 0x50:  # alphanumeric sender id, GSM-7 packed; length counts semi-octets
        text = septets_to_text(unpack_septets(body, length * 4 // 7))
        return text, pos + 2 + octets
    digits = _unswap_digits(body, length)
    return ("+" + digits if (toa & 0x70) == 0x10 else digits), pos + 2 + octets


def encode_scts(when: datetime) -> bytes:
    offset = when.utcoffset() or timedelta(0)
    quarters = int(offset.total_seconds() // 900)
    tz = _swap_digits(f"{abs(quarters):02d}")[0] | (0x08 if quarters < 0 else 0)
    stamp = f"{when.year % 100:02d}{when.month:02d}{when.day:02d}{when.hour:02d}{when.minute:02d}{when.second:02d}"
    return _swap_digits(stamp) + bytes([tz])


def decode_scts(data: bytes) -> datetime:
    """Service-centre time stamp: 7 swapped-BCD octets, the last a signed quarter-hour offset."""
    if len(data) != 7:
        raise PDUError("time stamp truncated")
    digits = "".join(f"{b:02X}"[::-1] for b in data[:6])
    tz_octet = data[6]
    negative = bool(tz_octet & 0x08)
    tz_swapped = f"{tz_octet & 0xF7:02X}"[::-1]
    try:
        quarters = int(tz_swapped)
        year, month, day, hour, minute, second = (int(digits[i : i + 2]) for i in range(0, 12, 2))
        zone = timezone(timedelta(minutes=15 * quarters * (-1 if negative else 1)))
        # Two-digit years: 23.040 predates Y2K windowing; anything from 70 on is the 1900s.
        century = 1900 if year >= 70 else 2000
        return datetime(century + year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError as exc:
        raise PDUError(f"bad time stamp {data.hex()}: {exc}") from None


# --- User-data headers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Concat:
    """Concatenation information element: part ``seq`` of ``total`` of text ``ref``."""

    ref: int
    total: int
    seq: int
    ref16: bool = False

    def header_element(self) -> bytes:
        if self.ref16:
            return bytes([IEI_CONCAT_16, 4, self.ref >> 8, self.ref & 0xFF, self.total, self.seq])
        return bytes([IEI_CONCAT_8, 3, self.ref & 0xFF, self.total, self.seq])


def parse_udh(udh: bytes) -> tuple[Concat | None, dict[int, bytes]]:
    """Information elements of a header (without its length octet); the concat one parsed."""
    elements, pos, concat = {}, 0, None
    while pos + 2 <= len(udh):
        iei, length = udh[pos], udh[pos + 1]
        value = udh[pos + 2 : pos + 2 + length]
        if len(value) < length:
            raise PDUError("user-data header truncated")
        elements[iei] = value
        if iei == IEI_CONCAT_8 and length == 3:
            concat = Concat(ref=value[0], total=value[1], seq=value[2])
        elif iei == IEI_CONCAT_16 and length == 4:
            concat = Concat(ref=(value[0] << 8) | value[1], total=value[2], seq=value[3], ref16=True)
        pos += 2 + length
    if concat and not (1 <= concat.seq <= concat.total):
        concat = None  # 23.040: ignore an element whose sequence number is out of range
    return concat, elements


# --- SMS-SUBMIT (what we send) ---------------------------------------------------------------


@dataclass
class SubmitPart:
    pdu: str  # hex, without SMSC prefix octet... see ``tpdu_length``
    tpdu_length: int  # the length AT+CMGS wants: octets after the SMSC field


def split_text(text: str) -> tuple[int, list]:
    """(DCS, chunks): GSM-7 septet lists or UCS-2 byte strings, one per part.

    An ESC pair or a UTF-16 surrogate pair is never split across two parts.
    """
    if is_gsm7(text):
        septets = gsm7_septets(text)
        if len(septets) <= 160:
            return DCS_GSM7, [septets]
        chunks, current = [], []
        for ch in text:
            codes = gsm7_septets(ch)
            if len(current) + len(codes) > GSM7_PART_SEPTETS:
                chunks.append(current)
                current = []
            current.extend(codes)
        chunks.append(current)
        return DCS_GSM7, chunks
    data = text.encode("utf-16-be")
    if len(data) <= 140:
        return DCS_UCS2, [data]
    chunks, current = [], b""
    for ch in text:
        units = ch.encode("utf-16-be")
        if len(current) + len(units) > UCS2_PART_OCTETS:
            chunks.append(current)
            current = b""
        current += units
    chunks.append(current)
    return DCS_UCS2, chunks


def encode_submit(
    number: str,
    text: str,
    *,
    reference: int = 0,
    ref16: bool = False,
    request_status_report: bool = False,
    validity_hours: int | None = 24,
) -> list[SubmitPart]:
    """SMS-SUBMIT PDUs (hex) for ``text`` to ``number``; several with headers when long.

    The SMSC field is "00" (use the one stored on the SIM). ``reference`` is the
    concatenation reference shared by the parts (0-255, or 0-65535 with ``ref16``).
    """
    dcs, chunks = split_text(text)
    total = len(chunks)
    parts = []
    for seq, chunk in enumerate(chunks, start=1):
        udh = b""
        if total > 1:
            element = Concat(ref=reference, total=total, seq=seq, ref16=ref16).header_element()
            udh = bytes([len(element)]) + element
        first = 0x01 | (0x40 if udh else 0) | (0x20 if request_status_report else 0)
        vp = b""
        if validity_hours is not None:
            first |= 0x10  # relative validity period
            vp = bytes([_relative_validity(validity_hours)])
        if dcs == DCS_GSM7:
            fill = (7 - (len(udh) * 8) % 7) % 7 if udh else 0
            ud = udh + pack_septets(chunk, fill)
            udl = (len(udh) * 8 + fill) // 7 + len(chunk)
        else:
            ud = udh + chunk
            udl = len(ud)
        tpdu = bytes([first, 0x00]) + encode_address(number) + bytes([0x00, dcs]) + vp + bytes([udl]) + ud
        parts.append(SubmitPart(pdu=("00" + tpdu.hex()).upper(), tpdu_length=len(tpdu)))
    return parts


def _relative_validity(hours: int) -> int:
    if hours <= 12:
        return max(hours * 12 - 1, 0)
    if hours <= 24:
        return 143 + (hours - 12) * 2
    days = min(max(hours // 24, 2), 30)
    return 166 + days


# --- SMS-DELIVER / SMS-SUBMIT decoding -------------------------------------------------------

#: One part carries at most 140 bytes of user data: 160 GSM-7 characters (23.040 9.2.3.24).
MAX_USER_DATA = 140
MAX_SEPTETS = 160


@dataclass
class Decoded:
    kind: str  # "deliver" or "submit"
    number: str  # the sender (deliver) or the recipient (submit)
    text: str
    dcs: int
    concat: Concat | None = None
    scts: datetime | None = None
    smsc: str = ""
    message_reference: int | None = None
    elements: dict = field(default_factory=dict)
    #: What had to be worked around to decode it (over-long or short user data); the text is
    #: kept with what could be read, and marked.
    problems: list[str] = field(default_factory=list)


def decode(pdu_hex: str, *, has_smsc: bool = True) -> Decoded:
    """Decode an SMS-DELIVER (a received text) or an SMS-SUBMIT (a stored or sent one)."""
    try:
        data = bytes.fromhex(pdu_hex.strip())
    except ValueError:
        raise PDUError(f"not a hex PDU: {pdu_hex[:40]!r}") from None
    try:
        return _decode(data, has_smsc)
    except IndexError:
        raise PDUError("PDU truncated") from None


def _decode(data: bytes, has_smsc: bool) -> Decoded:
    pos, smsc = 0, ""
    if has_smsc:
        smsc_len = data[0]
        if smsc_len:
            smsc = "+" + _unswap_digits(data[2 : 1 + smsc_len], (smsc_len - 1) * 2).rstrip("F")
            if data[1] != 0x91:
                smsc = smsc[1:]
        pos = 1 + smsc_len
    first = data[pos]
    mti = first & 0x03
    pos += 1
    reference = None
    if mti == 0x00:
        kind = "deliver"
        number, pos = decode_address(data, pos)
    elif mti == 0x01:
        kind = "submit"
        reference = data[pos]
        number, pos = decode_address(data, pos + 1)
    else:
        raise PDUError(f"not a text (message type {mti})")
    pos += 1  # protocol identifier
    dcs = data[pos]
    pos += 1
    scts = None
    if kind == "deliver":
        scts = decode_scts(data[pos : pos + 7])
        pos += 7
    else:
        vpf = (first >> 3) & 0x03
        pos += {0: 0, 2: 1, 1: 7, 3: 7}[vpf]
    udl = data[pos]
    ud = data[pos + 1 :]
    alphabet = _alphabet(dcs)
    concat, elements, header_len = None, {}, 0
    if first & 0x40:  # user-data header indicator
        header_len = ud[0] + 1
        if header_len > len(ud):
            raise PDUError("user-data header longer than the user data")
        concat, elements = parse_udh(ud[1:header_len])
    problems: list[str] = []
    if len(ud) > MAX_USER_DATA:
        problems.append(f"user data of {len(ud)} bytes, more than one part's {MAX_USER_DATA}")
    if alphabet == DCS_GSM7:
        fill = (7 - (header_len * 8) % 7) % 7 if header_len else 0
        header_septets = (header_len * 8 + fill) // 7
        if udl > MAX_SEPTETS:
            problems.append(f"{udl} GSM-7 characters, more than one part's {MAX_SEPTETS}")
        # Take what the bytes hold when the length claims more (or less) than is there.
        available = (len(ud[header_len:]) * 8 - fill) // 7 if header_len else len(ud) * 8 // 7
        wanted = udl - header_septets if header_len else udl
        if wanted > available:
            problems.append(f"user data shorter than its length says ({available} of {wanted} characters)")
            wanted = available
        body = ud[header_len:] if header_len else ud
        septets = unpack_septets(body, max(wanted, 0), fill if header_len else 0)
        text = septets_to_text(septets)
    else:
        if len(ud) < udl:
            problems.append(f"user data shorter than its length says ({len(ud)} of {udl} bytes)")
        body = ud[header_len:udl]
        if alphabet == DCS_UCS2 and len(body) % 2:
            problems.append("UCS-2 text with an odd number of bytes")
            body = body[:-1]
        text = body.decode("utf-16-be", errors="replace") if alphabet == DCS_UCS2 else body.hex()
    return Decoded(
        kind=kind,
        number=number,
        text=text,
        dcs=dcs,
        concat=concat,
        scts=scts,
        smsc=smsc,
        message_reference=reference,
        elements=elements,
        problems=problems,
    )


def _alphabet(dcs: int) -> int:
    """Character set of a data coding scheme (23.038 section 4), GSM-7 when in doubt."""
    group = dcs >> 4
    if group in (0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7):
        if dcs & 0x20:  # compressed: not supported by any handset we know; treat as data
            return DCS_8BIT
        return dcs & 0x0C if (dcs & 0x0C) != 0x0C else DCS_GSM7
    if group == 0xE:
        return DCS_UCS2
    if group == 0xF:
        return DCS_8BIT if dcs & 0x04 else DCS_GSM7
    return DCS_GSM7


def encode_deliver(
    sender: str,
    text: str,
    *,
    when: datetime | None = None,
    concat: Concat | None = None,
    smsc: str = "+447785016005",
) -> str:
    """An SMS-DELIVER PDU (hex, with SMSC) as a modem stores a received text (simulator, tests)."""
    when = when or datetime.now(UTC)
    smsc_field = b"\x00"
    if smsc:
        body = bytes([0x91]) + _swap_digits(smsc.lstrip("+"))
        smsc_field = bytes([len(body)]) + body
    udh = b""
    if concat:
        element = concat.header_element()
        udh = bytes([len(element)]) + element
    if is_gsm7(text):
        dcs, septets = DCS_GSM7, gsm7_septets(text)
        fill = (7 - (len(udh) * 8) % 7) % 7 if udh else 0
        ud = udh + pack_septets(septets, fill)
        udl = (len(udh) * 8 + fill) // 7 + len(septets)
    else:
        dcs = DCS_UCS2
        ud = udh + text.encode("utf-16-be")
        udl = len(ud)
    if sender.lstrip("+").isdigit():
        address = encode_address(sender)
    else:  # alphanumeric sender id
        packed = pack_septets(gsm7_septets(sender))
        address = bytes([len(packed) * 2, 0xD0]) + packed
    first = 0x04 | (0x40 if udh else 0)  # more-messages-to-send bit clear (0x04 set = no more)
    tpdu = bytes([first]) + address + bytes([0x00, dcs]) + encode_scts(when) + bytes([udl]) + ud
    return (smsc_field + tpdu).hex().upper()
