"""Fixtures for the campaigns tests: a real HTTP server on 127.0.0.1 playing the data source."""

from __future__ import annotations

import pytest

from campaigns.models import Template
from sms.fake_http import FakeHTTPServer, Reply


class DataSource(FakeHTTPServer):
    """The data source: what it answers to GET (``answer``) and to POST, and what it was sent."""

    def __init__(self):
        super().__init__(handler=self._reply)
        self.get_reply = Reply(200, {}, content_type="application/json")
        self.post_status = 200
        self.post_failures = 0  # answer 500 to this many POSTs first

    @property
    def contacts_url(self) -> str:
        return f"{self.url}/contacts"

    def answer(self, body, status=200, delay=0.0):
        self.get_reply = Reply(status, body, delay=delay, content_type="application/json")

    def _reply(self, request):
        if request.method != "POST":
            return self.get_reply
        with self._lock:
            failing = self.post_failures > 0
            self.post_failures -= failing
        return Reply(500 if failing else self.post_status, "ok")


@pytest.fixture
def data_source(settings):
    with DataSource() as source:
        settings.TEXTING_API_URL = source.contacts_url
        settings.TEXTING_API_KEY = "secret-key"
        settings.TEXTING_API_RETRIES = 0
        settings.TEXTING_API_TIMEOUT_SECONDS = 5
        yield source


@pytest.fixture(autouse=True)
def _campaign_settings(settings):
    # Tests run at any hour: allow every hour unless a test sets its own window.
    settings.CAMPAIGNS_SENDING_HOURS = "00:00-00:00"  # all day
    settings.CAMPAIGNS_SENDING_HOURS_BY_REGION = ""
    settings.CAMPAIGNS_MAX_PER_DAY = 0
    settings.CAMPAIGNS_MAX_PER_WEEK = 0
    settings.CAMPAIGNS_PULL_IN_BACKGROUND = False


def seed_greetings() -> None:
    """The seeded greeting rules (a transactional test's flush removes migration data)."""
    import importlib

    from django.apps import apps

    from campaigns.models import GreetingRule

    if not GreetingRule.objects.exists():
        importlib.import_module("campaigns.migrations.0003_seed_greeting_rules").seed(apps, None)


@pytest.fixture
def greeting_rules(db):
    seed_greetings()


def make_template(name="Group A", body="{greeting} {name}, our offer!", **fields) -> Template:
    seed_greetings()
    fields.setdefault("slug", name.lower().replace(" ", "-"))
    template = Template(name=name, body=body, **fields)
    template.full_clean()
    template.save()
    return template
