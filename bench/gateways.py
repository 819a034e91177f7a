"""Dispatch throughput through the HTTP gateway backends, against a local fake gateway.

Queues N texts (same words, different numbers, as a campaign does) and dispatches them
through each backend over real HTTP on 127.0.0.1. Baseline, measured in the same run: the
in-memory backend (no HTTP at all). SMS Broadcast batches up to 100 numbers per request, ATS
and SMS Operator a whole batch per XML document; the others make one request per text.

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
    else:
        _configure_provider(slug, gateway)


def _configure_provider(slug: str, gateway: FakeHTTPServer) -> None:
    """The issue-14 providers, each answered in its own format."""
    import xml.etree.ElementTree as ET

    if slug == "vonage":
        settings.VONAGE_API_KEY, settings.VONAGE_API_SECRET, settings.VONAGE_API_BASE = "k", "s", gateway.url
        gateway.handler = lambda r: Reply(200, {"messages": [{"status": "0", "message-id": f"V{next(ids)}"}]})
    elif slug == "plivo":
        settings.PLIVO_AUTH_ID, settings.PLIVO_AUTH_TOKEN, settings.PLIVO_API_BASE = "MA1", "t", gateway.url
        settings.PLIVO_FROM_NUMBER = "+14155550100"
        gateway.handler = lambda r: Reply(202, {"message_uuid": [f"p{next(ids)}"]})
    elif slug == "clickatell_platform":
        settings.CLICKATELL_PLATFORM_API_KEY, settings.CLICKATELL_PLATFORM_API_BASE = "k", gateway.url
        gateway.handler = lambda r: Reply(202, {"messages": [{"accepted": True, "apiMessageId": f"c{next(ids)}"}]})
    elif slug == "sns":
        settings.SNS_ACCESS_KEY_ID, settings.SNS_SECRET_ACCESS_KEY, settings.SNS_ENDPOINT_URL = "k", "s", gateway.url
        xml = "<PublishResponse><PublishResult><MessageId>s{}</MessageId></PublishResult></PublishResponse>"
        gateway.handler = lambda r: Reply(200, xml.format(next(ids)), content_type="text/xml")
    elif slug == "ats":
        settings.ATS_USERNAME, settings.ATS_PASSWORD, settings.ATS_URL = "u", "p", gateway.url

        def ats(request):
            codes = "".join(f'<code uniq="{s.get("uniq")}">0</code>' for s in ET.fromstring(request.body).iter("sms"))
            return Reply(200, f"<status>{codes}</status>", content_type="text/xml")

        gateway.handler = ats
    elif slug == "smsoperator":
        settings.SMSOPERATOR_USERNAME, settings.SMSOPERATOR_PASSWORD, settings.SMSOPERATOR_URL = "u", "p", gateway.url

        def smsoperator(request):
            ids_ = [n.text for n in ET.fromstring(request.body).iter("SmsId")]
            items = "".join(f"<DataItem><SmsId>{i}</SmsId><Status>0</Status></DataItem>" for i in ids_)
            return Reply(200, f"<SmsServices><DataArray>{items}</DataArray></SmsServices>", content_type="text/xml")

        gateway.handler = smsoperator


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


PROVIDERS = ("vonage", "plivo", "clickatell_platform", "sns", "ats", "smsoperator")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    call_command("migrate", verbosity=0)
    baseline, _ = run("locmem", n)
    print(f"{n} texts, dispatch batch 200, SQLite {DB}")
    print(f"{'backend':<20}{'texts/s':>10}{'HTTP requests':>15}{'vs locmem':>11}")
    print(f"{'locmem':<20}{baseline:>10.0f}{0:>15}{1:>10.2f}x")
    for slug in ("smsbroadcast", "twilio", "clickatell", *PROVIDERS):
        rate, requests = run(slug, n)
        print(f"{slug:<20}{rate:>10.0f}{requests:>15}{rate / baseline:>10.2f}x")


if __name__ == "__main__":
    main()
