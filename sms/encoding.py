"""GSM 03.38 (GSM-7) and UCS-2: which encoding a text needs and how many segments it costs.

A single GSM-7 SMS holds 160 septets; once concatenated, each part loses 7 septets to the
user-data header and holds 153. Extension-table characters (``^{}\\[~]|€`` and form feed) are
sent as ESC + char and cost two septets, and an ESC pair is never split across two parts.
UCS-2 holds 70 UTF-16 code units, 67 per part; a character outside the BMP (most emoji) is a
surrogate pair (two units) that is likewise never split.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from unidecode import unidecode

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENDED = frozenset(GSM7_EXTENDED)

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "gsm7" or "ucs2"
    length: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of each segment at this length
    remaining: int  # units left in the last segment before another one is needed


#: The longest text sent anywhere (Compose, replies, templates, campaigns): what gateways
#: concatenate at most (Twilio refuses longer, error 21617). 11 segments in GSM-7, 24 in UCS-2.
MAX_LENGTH = 1600


def length_error(text: str) -> str:
    """Why ``text`` may not be sent ("" when it may): the one limit every form applies."""
    if len(text) <= MAX_LENGTH:
        return ""
    return f"Too long: {len(text):,} characters; a text may have at most {MAX_LENGTH:,} (as in Compose)."


def segments_warning(text: str) -> str:
    """The warning Compose's counter gives, in words: more than one segment costs more."""
    info = segment_info(text)
    if info.segments <= 1:
        return ""
    kind = "GSM-7" if info.encoding == "gsm7" else "UCS-2"
    return f"{info.segments} segments ({kind}): each recipient is charged {info.segments} texts."


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENDED for ch in text)


def _pack(unit_sizes: list[int], single: int, part: int) -> tuple[int, int]:
    """Number of segments for characters of the given sizes, and units left in the last."""
    total = sum(unit_sizes)
    if total <= single:
        return 1, single - total
    segments, used = 1, 0
    for size in unit_sizes:
        if used + size > part:  # never split an ESC pair or a surrogate pair
            segments += 1
            used = 0
        used += size
    return segments, part - used


def segment_info(text: str) -> SegmentInfo:
    if is_gsm7(text):
        sizes = [2 if ch in _EXTENDED else 1 for ch in text]
        segments, remaining = _pack(sizes, GSM7_SINGLE, GSM7_PART)
        return SegmentInfo("gsm7", sum(sizes), segments, GSM7_SINGLE if segments == 1 else GSM7_PART, remaining)
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    segments, remaining = _pack(sizes, UCS2_SINGLE, UCS2_PART)
    return SegmentInfo("ucs2", sum(sizes), segments, UCS2_SINGLE if segments == 1 else UCS2_PART, remaining)


# Look-alikes that unidecode would spell differently from what a reader expects in an SMS.
_PREFERRED = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
}


@lru_cache(maxsize=4096)
def _transliterate_char(ch: str) -> str:
    if ch in _BASIC or ch in _EXTENDED:
        return ch
    if ch in _PREFERRED:
        return _PREFERRED[ch]
    ascii_ = unidecode(ch)
    # Characters unidecode cannot spell (emoji, most symbols) are kept: the text then stays
    # UCS-2, which is better than silently dropping what the author wrote.
    return ascii_ if ascii_ and is_gsm7(ascii_) else ch


def to_gsm7(text: str) -> str:
    """Replace characters outside GSM-7 with GSM-7 look-alikes where one exists."""
    return "".join(_transliterate_char(ch) for ch in text)
