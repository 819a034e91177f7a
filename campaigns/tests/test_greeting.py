"""The greeting engine with the seeded rules, at fixed dates (year ends, Easter, DST)."""

from datetime import UTC, datetime

import pytest

from campaigns.greeting import Greeter, greeting_for
from campaigns.models import GreetingRule

pytestmark = pytest.mark.usefixtures("greeting_rules")

LONDON = "Europe/London"


def at(*args, zone=UTC):
    return datetime(*args, tzinfo=zone)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(2026, 11, 24, 9, 0), "Good morning"),  # a Tuesday
        (at(2026, 11, 24, 12, 0), "Good afternoon"),  # boundary: 12:00 is day
        (at(2026, 11, 24, 11, 59), "Good morning"),
        (at(2026, 11, 24, 18, 0), "Good evening"),
        (at(2026, 11, 24, 2, 0), "Good evening"),  # night wraps midnight
        (at(2026, 11, 28, 10, 0), "Have a lovely weekend"),  # Saturday
        (at(2026, 11, 28, 21, 0), "Good evening"),  # weekend rule ends at 20:00
        (at(2026, 12, 25, 10, 0), "Merry Christmas"),
        (at(2026, 12, 31, 23, 59), "Happy New Year"),
        (at(2027, 1, 1, 0, 0), "Happy New Year"),  # across the year boundary
        (at(2027, 1, 2, 23, 0), "Happy New Year"),
        (at(2027, 1, 3, 10, 0), "Have a lovely weekend"),  # Sunday after New Year
        (at(2027, 2, 14, 10, 0), "Happy Valentine's Day"),
        (at(2026, 10, 31, 10, 0), "Happy Halloween"),
        (at(2026, 4, 3, 10, 0), "Happy Easter"),  # Good Friday 2026 (Easter 5 April)
        (at(2026, 4, 6, 10, 0), "Happy Easter"),  # Easter Monday
        (at(2026, 4, 7, 10, 0), "Good morning"),
        (at(2027, 3, 28, 10, 0), "Happy Easter"),  # Easter moves: 28 March 2027
        (at(2026, 3, 28, 10, 0), "Have a lovely weekend"),  # ... a year earlier it is a plain Saturday
    ],
)
def test_seeded_rules_in_london(when, expected):
    assert greeting_for(at=when, zone=LONDON, country="GB") == expected


def test_new_year_arrives_at_local_midnight_not_utc():
    # 31 Dec 2026 10:30 UTC: already 1 Jan in Auckland, still 30/31 Dec morning in New York.
    when = at(2026, 12, 30, 11, 30)
    assert greeting_for(at=when, zone="Pacific/Auckland", country="NZ") == "Happy New Year"
    assert greeting_for(at=when, zone="America/New_York", country="US") != "Happy New Year"


def test_time_of_day_follows_dst_changes():
    # 04:30 UTC is 04:30 in London the day before the clocks go forward (night) and 05:30 BST
    # the day after (morning); in October it flips back.
    assert greeting_for(at=at(2026, 3, 27, 4, 30), zone=LONDON) == "Good evening"
    assert greeting_for(at=at(2026, 3, 30, 4, 30), zone=LONDON) == "Good morning"
    assert greeting_for(at=at(2026, 10, 23, 4, 30), zone=LONDON) == "Good morning"  # 05:30 BST
    assert greeting_for(at=at(2026, 10, 26, 4, 30), zone=LONDON) == "Good evening"  # 04:30 GMT


def test_country_rule_beats_the_general_one():
    when = at(2026, 12, 21, 15, 0)
    assert greeting_for(at=when, zone="America/New_York", country="US") == "Happy Holidays"
    assert greeting_for(at=when, zone=LONDON, country="GB") == "Good afternoon"
    assert greeting_for(at=at(2026, 12, 25, 15, 0), zone="America/New_York", country="US") == "Happy Holidays"


def test_staff_can_change_boundaries_and_add_rules():
    GreetingRule.objects.filter(name="Morning").update(end_time="10:00")
    assert greeting_for(at=at(2026, 11, 24, 10, 30), zone=LONDON) == "Hello"  # a gap until "Day" moves
    GreetingRule.objects.filter(name="Day").update(start_time="10:00")
    assert greeting_for(at=at(2026, 11, 24, 10, 30), zone=LONDON) == "Good afternoon"
    GreetingRule.objects.create(
        name="Bonfire Night",
        phrase="Happy Bonfire Night",
        country="GB",
        priority=80,
        start_month=11,
        start_day=5,
        end_month=11,
        end_day=5,
    )
    assert greeting_for(at=at(2026, 11, 5, 12, 0), zone=LONDON, country="GB") == "Happy Bonfire Night"
    assert greeting_for(at=at(2026, 11, 5, 12, 0), zone="Europe/Paris", country="FR") == "Good afternoon"


def test_inactive_rules_are_ignored_and_fallback_is_hello():
    GreetingRule.objects.update(is_active=False)
    assert greeting_for(at=at(2026, 12, 25, 10, 0), zone=LONDON) == "Hello"


def test_greeter_caches_per_minute_and_zone():
    greeter = Greeter()
    assert greeter(at=at(2026, 11, 24, 9, 0), zone=LONDON, country="GB") == "Good morning"
    greeter.rules = []  # cached answers do not look at the rules again
    assert greeter(at=at(2026, 11, 24, 9, 0, 30), zone=LONDON, country="GB") == "Good morning"
    assert greeter(at=at(2026, 11, 24, 9, 1), zone=LONDON, country="GB") == "Hello"


def test_rule_validation_requires_pairs():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        GreetingRule(name="x", phrase="y", start_time="10:00").clean()
    with pytest.raises(ValidationError):
        GreetingRule(name="x", phrase="y", weekdays="7").clean()
