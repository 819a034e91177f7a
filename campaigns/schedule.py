"""Sending hours: when a marketing text may reach a recipient, in the recipient's own time zone.

The zone comes from the number: a number of the site's own region uses the site's TIME_ZONE;
any other number uses the zones phonenumbers knows for its prefix. A number whose prefix spans
several zones (+1, +7, +61...) may only be texted when it is inside the window in all of them.
Texts due outside the window wait for it to open; they are never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from phonenumbers import timezone as pn_timezone


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start == self.end:  # 00:00-00:00: any time of day
            return True
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # wraps midnight

    def __str__(self):
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_window(text: str) -> Window:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ImproperlyConfigured(f"Sending hours must look like 08:00-21:00, got {text!r}") from None
    return Window(start, end)


@lru_cache(maxsize=16)
def _windows(default: str, by_region: str) -> tuple[Window, dict[str, Window]]:
    overrides = {}
    for item in by_region.split(","):
        if item.strip():
            region, _, window = item.partition("=")
            overrides[region.strip().upper()] = parse_window(window)
    return parse_window(default), overrides


def window_for(region: str | None) -> Window:
    default, overrides = _windows(settings.CAMPAIGNS_SENDING_HOURS, settings.CAMPAIGNS_SENDING_HOURS_BY_REGION)
    return overrides.get((region or "").upper(), default)


def _zones_and_region(number: str, home_region: str, site_zone: str) -> tuple[tuple[str, ...], str | None]:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return (site_zone,), home_region
    region = phonenumbers.region_code_for_number(parsed) or None
    if region == home_region:
        return (site_zone,), region
    zones = tuple(z for z in pn_timezone.time_zones_for_number(parsed) if z != pn_timezone.UNKNOWN_TIMEZONE)
    return (zones or (site_zone,)), region


#: Regions and time zones are assigned to number prefixes far shorter than this, so numbers
#: sharing these leading characters share the answer: a fan-out parses a handful of numbers
#: instead of every one.
PREFIX_LENGTH = 9
_by_prefix: dict[tuple[str, str, str], tuple[tuple[str, ...], str | None]] = {}


def zones_and_region(number: str) -> tuple[tuple[str, ...], str | None]:
    """The time zones a recipient may be in, and the number's ISO region."""
    key = (number[:PREFIX_LENGTH], settings.SMS_DEFAULT_REGION.upper(), settings.TIME_ZONE)
    found = _by_prefix.get(key)
    if found is None:
        if len(_by_prefix) > 100_000:
            _by_prefix.clear()
        found = _by_prefix[key] = _zones_and_region(number, key[1], key[2])
    return found


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _next_open(at: datetime, zone: ZoneInfo, window: Window) -> datetime:
    """``at`` if inside the window in ``zone``, else the next moment the window opens there."""
    local = at.astimezone(zone)
    if window.contains(local.time()):
        return at
    day = local.date()
    if window.start <= window.end and local.time() >= window.end:
        day += timedelta(days=1)
    opening = datetime.combine(day, window.start, tzinfo=zone)
    # A window opening inside a DST gap (e.g. 01:30 on a spring-forward night) round-trips
    # through UTC to the first real instant after it.
    return opening.astimezone(at.tzinfo)


def next_allowed(at: datetime, zones: tuple[str, ...], region: str | None) -> datetime:
    """The earliest moment >= ``at`` inside the sending window in every one of ``zones``."""
    window = window_for(region)
    candidate = at
    for _ in range(8):  # zones of one number overlap within a day or two; this converges fast
        moved = candidate
        for name in zones:
            moved = _next_open(moved, _zone(name), window)
        if moved == candidate:
            return candidate
        candidate = moved
    return candidate


def next_allowed_for(number: str, at: datetime) -> datetime:
    zones, region = zones_and_region(number)
    return next_allowed(at, zones, region)


def local_zone_for(number: str) -> str:
    """The zone a greeting is computed in (the first one the number's prefix names)."""
    return zones_and_region(number)[0][0]
