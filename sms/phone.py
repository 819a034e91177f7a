"""Phone numbers: parse whatever people type (national, international, spaces) into E.164."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from django.conf import settings


class InvalidNumber(ValueError):
    """Raised with a reason a person can read ("not a valid number for GB")."""


@lru_cache(maxsize=100_000)
def _normalise(raw: str, region: str) -> str:
    text = raw.strip()
    if not text:
        raise InvalidNumber("empty number")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"not a phone number: {raw!r} ({exc._msg})") from None
    if not _is_valid(parsed, region):
        where = phonenumbers.region_code_for_number(parsed) or region
        raise InvalidNumber(f"not a valid number for {where}: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


#: Numbers this process has already produced as valid E.164: normalising one again (a fan-out
#: passes its normalised numbers on to build_message) needs no second parse. E.164 does not
#: depend on the region, so one set serves every region.
_KNOWN_E164: set[str] = set()


def _is_valid(parsed, region: str) -> bool:
    """``phonenumbers.is_valid_number``, with a shortcut for the usual case.

    ``is_valid_number`` first works out which of the regions sharing the country code the
    number belongs to (GB, GG, IM, JE for +44), trying each region's patterns, then validates
    it there: half of the cost of queueing a text. When the default region is the main
    country of the number's code, a number valid for it is what ``is_valid_number`` would
    find too (the main country is tried first), so one check is enough; anything else takes
    the full path.
    """
    if (
        parsed.country_code == phonenumbers.country_code_for_region(region)
        and phonenumbers.region_code_for_country_code(parsed.country_code) == region
        and phonenumbers.is_valid_number_for_region(parsed, region)
    ):
        return True
    return phonenumbers.is_valid_number(parsed)


def normalise(raw: str | int, region: str | None = None) -> str:
    """Return ``raw`` as E.164 (``+447450000000``) or raise InvalidNumber with the reason."""
    if raw in _KNOWN_E164:
        return raw
    number = _normalise(str(raw), (region or settings.SMS_DEFAULT_REGION).upper())
    if len(_KNOWN_E164) > 200_000:
        _KNOWN_E164.clear()
    _KNOWN_E164.add(number)
    return number


def try_normalise(raw: str | int, region: str | None = None) -> str | None:
    try:
        return normalise(raw, region)
    except InvalidNumber:
        return None


def region_of(number: str) -> str | None:
    """ISO region of an E.164 number, e.g. "GB"."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return None
