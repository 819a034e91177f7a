"""Sending hours in the recipient's time zone."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from campaigns.schedule import next_allowed, next_allowed_for, parse_window, zones_and_region


@pytest.fixture(autouse=True)
def hours(settings):
    settings.CAMPAIGNS_SENDING_HOURS = "08:00-21:00"
    settings.CAMPAIGNS_SENDING_HOURS_BY_REGION = "DE=09:00-20:00"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_inside_the_window_is_now():
    assert next_allowed_for("+447450000001", utc(2026, 11, 24, 12, 0)) == utc(2026, 11, 24, 12, 0)


def test_evening_waits_for_next_morning_in_local_time():
    assert next_allowed_for("+447450000001", utc(2026, 11, 24, 21, 0)) == utc(2026, 11, 25, 8, 0)
    assert next_allowed_for("+447450000001", utc(2026, 6, 24, 20, 30)) == utc(2026, 6, 25, 7, 0)  # BST


def test_early_morning_waits_until_the_window_opens_the_same_day():
    assert next_allowed_for("+447450000001", utc(2026, 11, 24, 3, 0)) == utc(2026, 11, 24, 8, 0)


def test_across_the_spring_dst_change():
    # Saturday 28 March 2026 22:00 UTC (22:00 GMT) -> Sunday 08:00 BST = 07:00 UTC.
    assert next_allowed_for("+447450000001", utc(2026, 3, 28, 22, 0)) == utc(2026, 3, 29, 7, 0)


def test_per_country_override():
    # Germany: 09:00-20:00 Berlin time (UTC+1 in winter).
    assert next_allowed_for("+4915123456789", utc(2026, 11, 24, 7, 30)) == utc(2026, 11, 24, 8, 0)
    assert next_allowed_for("+4915123456789", utc(2026, 11, 24, 19, 30)) == utc(2026, 11, 25, 8, 0)


def test_home_region_uses_the_site_zone_others_their_own():
    assert zones_and_region("+447450000001") == (("Europe/London",), "GB")
    zones, region = zones_and_region("+61412345678")
    assert region == "AU" and {"Australia/Perth", "Australia/Sydney"} <= set(zones)


def test_number_spanning_zones_must_be_inside_the_window_everywhere():
    zones = ("America/New_York", "America/Los_Angeles")
    # 13:00 UTC = 08:00 New York but 05:00 Los Angeles: wait for 08:00 LA = 16:00 UTC.
    assert next_allowed(utc(2026, 11, 24, 13, 0), zones, "US") == utc(2026, 11, 24, 16, 0)


def test_window_wrapping_midnight():
    window = parse_window("22:00-06:00")
    assert window.contains(datetime(2026, 1, 1, 23, 0).time())
    assert not window.contains(datetime(2026, 1, 1, 12, 0).time())


def test_malformed_window_fails_loudly():
    with pytest.raises(ImproperlyConfigured):
        parse_window("8 to 9")
