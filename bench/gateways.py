"""Dispatch throughput through the HTTP gateway backends, against a local fake gateway.

Queues N texts (same words, different numbers, as a campaign does) and dispatches them
through each backend over real HTTP on 127.0.0.1. Baseline, measured in the same run: the
in-memory backend (no HTTP at all). SMS Broadcast batches up to 100 numbers per request;
Twilio and Clickatell make one request per text.

    python bench/gateways.py [N]
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
DB = Path(tempfile.mkdtemp()) / "bench_gateways.sqlite3"
os.environ.setdefault("DATABASE_URL", f"sqlite:///{DB}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "texting.settings")
os.environ["LOG_LEVEL"] = "ERROR"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from sms.dispatch import dispatch  # noqa: E402
from sms.fake_http import FakeHTTPServer, Reply  # noqa: E402
from sms.models import OutboundMessage, State  # noqa: E402
from sms.queueing import build_message, queue_messages  # noqa: E402

ids = itertools.count(1)


def configure(slug: str, gateway: FakeHTTPServer) -> None:
    settings.SMS_DEFAULT_BACKEND = slug
    settings.SMS_PUBLIC_URL = "https://texting.example.com"
    settings.SMS_DEFAULT_SENDER = "Texting"
    if slug == "twilio":
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
        settings.TWILIO_API_BASE = gateway.url
        gateway.handler = lambda r: Reply(201, {"sid": f"SM{next(ids):032d}", "status": "queued"})
    elif slug == "clickatell":
        settings.CLICKATELL_API_ID, settings.CLICKATELL_USER, settings.CLICKATELL_PASSWORD = "1", "u", "p"
        settings.CLICKATELL_API_BASE = gateway.url
        gateway.handler = lambda r: Reply(200, f"ID: {next(ids):032x}")
    elif slug == "smsbroadcast":
        settings.SMSBROADCAST_USERNAME, settings.SMSBROADCAST_PASSWORD = "u", "p"
        settings.SMSBROADCAST_API_URL = f"{gateway.url}/api-adv.php"
        gateway.handler = lambda r: Reply(200, "\n".join(f"OK:{n}:{next(ids)}" for n in r.params["to"].split(",")))


def run(slug: str, n: int) -> tuple[float, int]:
    OutboundMessage.objects.all().delete()
    queue_messages([build_message(f"+4479111{i:05d}", "Doors open at 7, see you there!") for i in range(n)])
    with FakeHTTPServer() as gateway:
        configure(slug, gateway)
        started = time.perf_counter()
        summary = dispatch(batch_size=200)
        elapsed = time.perf_counter() - started
        requests = len(gateway.requests)
    assert summary.sent == n, (slug, str(summary))
    assert OutboundMessage.objects.filter(state=State.SENT).count() == n
    return n / elapsed, requests


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    call_command("migrate", verbosity=0)
    baseline, _ = run("locmem", n)
    print(f"{n} texts, dispatch batch 200, SQLite {DB}")
    print(f"{'backend':<14}{'texts/s':>10}{'HTTP requests':>15}{'vs locmem':>11}")
    print(f"{'locmem':<14}{baseline:>10.0f}{0:>15}{1:>10.2f}x")
    for slug in ("smsbroadcast", "twilio", "clickatell"):
        rate, requests = run(slug, n)
        print(f"{slug:<14}{rate:>10.0f}{requests:>15}{rate / baseline:>10.2f}x")


if __name__ == "__main__":
    main()
