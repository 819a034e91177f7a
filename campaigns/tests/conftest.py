"""Fixtures for the campaigns tests: a real HTTP server on 127.0.0.1 playing the data source."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from campaigns.models import Template


class DataSource:
    """What the source answers (status, body, delay) and what it was sent (requests)."""

    def __init__(self):
        self.status = 200
        self.body: bytes | str | dict | list = {}
        self.delay = 0.0
        self.post_status = 200
        self.post_failures = 0  # answer 500 to this many POSTs first
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, body, status=200, delay=0.0):
        self.body, self.status, self.delay = body, status, delay

    @property
    def gets(self):
        return [r for r in self.requests if r["method"] == "GET"]

    @property
    def posts(self):
        return [r for r in self.requests if r["method"] == "POST"]


def _handler(source: DataSource):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _record(self, body=b""):
            parsed = urlparse(self.path)
            with source.lock:
                source.requests.append(
                    {
                        "method": self.command,
                        "path": parsed.path,
                        "query": parse_qs(parsed.query),
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )

        def do_GET(self):
            self._record()
            if source.delay:
                time.sleep(source.delay)
            body = source.body
            if isinstance(body, dict | list):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            try:
                self.send_response(source.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self._record(self.rfile.read(length))
            status = source.post_status
            with source.lock:
                if source.post_failures > 0:
                    source.post_failures -= 1
                    status = 500
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    return Handler


@pytest.fixture
def data_source(settings):
    source = DataSource()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(source))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    source.url = f"http://127.0.0.1:{server.server_address[1]}/contacts"
    settings.TEXTING_API_URL = source.url
    settings.TEXTING_API_KEY = "secret-key"
    settings.TEXTING_API_RETRIES = 0
    settings.TEXTING_API_TIMEOUT_SECONDS = 5
    yield source
    server.shutdown()
    server.server_close()


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
