"""``{greeting}``: a timely, seasonal phrase for the moment a text goes out, in the recipient's
time zone. The rules are data (``GreetingRule`` rows, seeded by a migration, edited by staff);
this module only evaluates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.easter import easter

FALLBACK = "Hello"


@dataclass(frozen=True)
class Rule:
    """A GreetingRule reduced to plain values (evaluated many thousand times per fan-out)."""

    phrase: str
    country: str
    priority: int
    start_time: time | None = None
    end_time: time | None = None
    weekdays: frozenset[int] = frozenset()
    start: tuple[int, int] | None = None  # (month, day)
    end: tuple[int, int] | None = None
    easter_offsets: tuple[int, int] | None = None

    @classmethod
    def from_model(cls, rule) -> Rule:
        both = rule.start_month is not None and rule.end_month is not None
        return cls(
            phrase=rule.phrase,
            country=rule.country.upper(),
            priority=rule.priority,
            start_time=rule.start_time,
            end_time=rule.end_time,
            weekdays=rule.weekday_set(),
            start=(rule.start_month, rule.start_day) if both else None,
            end=(rule.end_month, rule.end_day) if both else None,
            easter_offsets=(rule.easter_offset_start, rule.easter_offset_end)
            if rule.easter_offset_start is not None
            else None,
        )

    def matches(self, local: datetime, country: str) -> bool:
        if self.country and self.country != country:
            return False
        if self.start_time is not None and self.end_time is not None:
            t = local.time()
            if self.start_time <= self.end_time:
                if not (self.start_time <= t < self.end_time):
                    return False
            elif not (t >= self.start_time or t < self.end_time):  # wraps midnight
                return False
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        if self.start is not None and self.end is not None:
            md = (local.month, local.day)
            if self.start <= self.end:
                if not (self.start <= md <= self.end):
                    return False
            elif not (md >= self.start or md <= self.end):  # wraps the year end (31 Dec - 2 Jan)
                return False
        if self.easter_offsets is not None:
            sunday = easter(local.year)
            first, last = self.easter_offsets
            if not (sunday + timedelta(days=first) <= local.date() <= sunday + timedelta(days=last)):
                return False
        return True


def load_rules() -> list[Rule]:
    from campaigns.models import GreetingRule

    return [Rule.from_model(r) for r in GreetingRule.objects.filter(is_active=True)]


def _order(rule: Rule) -> tuple[int, int]:
    return (rule.priority, 1 if rule.country else 0)


class Greeter:
    """Evaluates rules loaded once; caches by (zone, country, local minute) for bulk fan-out."""

    def __init__(self, rules: list[Rule] | None = None):
        self.rules = sorted(load_rules() if rules is None else rules, key=_order, reverse=True)
        self._cache: dict[tuple, str] = {}

    def __call__(self, *, at: datetime, zone: str, country: str | None) -> str:
        local = at.astimezone(ZoneInfo(zone))
        key = (zone, country, local.replace(second=0, microsecond=0, tzinfo=None))
        phrase = self._cache.get(key)
        if phrase is None:
            phrase = self._cache[key] = self._pick(local, (country or "").upper())
        return phrase

    def _pick(self, local: datetime, country: str) -> str:
        for rule in self.rules:
            if rule.matches(local, country):
                return rule.phrase
        return FALLBACK


def greeting_for(*, at: datetime, zone: str, country: str | None = None, rules: list[Rule] | None = None) -> str:
    """The greeting for a text leaving at ``at`` to someone in ``zone`` (and ``country``)."""
    return Greeter(rules)(at=at, zone=zone, country=country)


def easter_sunday(year: int) -> date:
    return easter(year)
