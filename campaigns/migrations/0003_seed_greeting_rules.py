"""Seed the greeting rules (staff change or extend them in the admin)."""

from datetime import time

from django.db import migrations

RULES = [
    # name, phrase, country, priority, extra fields
    ("Christmas", "Merry Christmas", "", 100, {"start_month": 12, "start_day": 24, "end_month": 12, "end_day": 26}),
    ("New Year", "Happy New Year", "", 100, {"start_month": 12, "start_day": 31, "end_month": 1, "end_day": 2}),
    ("Easter", "Happy Easter", "", 90, {"easter_offset_start": -2, "easter_offset_end": 1}),
    ("Halloween", "Happy Halloween", "", 80, {"start_month": 10, "start_day": 31, "end_month": 10, "end_day": 31}),
    ("Valentine's Day", "Happy Valentine's Day", "", 80, {"start_month": 2, "start_day": 14, "end_month": 2, "end_day": 14}),
    ("Holidays (US)", "Happy Holidays", "US", 100, {"start_month": 12, "start_day": 20, "end_month": 12, "end_day": 26}),
    ("Weekend", "Have a lovely weekend", "", 50, {"weekdays": "5,6", "start_time": time(8), "end_time": time(20)}),
    ("Morning", "Good morning", "", 10, {"start_time": time(5), "end_time": time(12)}),
    ("Day", "Good afternoon", "", 10, {"start_time": time(12), "end_time": time(18)}),
    ("Night", "Good evening", "", 10, {"start_time": time(18), "end_time": time(5)}),
    ("Anytime", "Hello", "", 0, {}),
]


def seed(apps, schema_editor):
    GreetingRule = apps.get_model("campaigns", "GreetingRule")
    for name, phrase, country, priority, extra in RULES:
        GreetingRule.objects.get_or_create(name=name, country=country, defaults={"phrase": phrase, "priority": priority, **extra})


def unseed(apps, schema_editor):
    GreetingRule = apps.get_model("campaigns", "GreetingRule")
    GreetingRule.objects.filter(name__in=[r[0] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0002_campaign_fanout")]

    operations = [migrations.RunPython(seed, unseed)]
