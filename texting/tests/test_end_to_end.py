"""The life of a campaign, end to end, with the real components and nothing mocked.

A data source on a local HTTP server → ``pull_campaign`` → the dispatcher, through the campaign
router and the SIM router, to a USB modem SIM (the pty modem simulator) and a Clickatell
gateway-account SIM (a local HTTP server speaking Clickatell's API), within their daily
limits → replies read off the modem by ``read_in`` and posted to the Clickatell webhook with
its secret → the replies pipeline: a STOP keyword opts out (one confirmation), staff sort the
rest in the inbox (an "End" opts out too) → ``send_followups`` skips the opted-out and the
"End" replier and follows up the others through the SIM of their first text →
``notify_sources`` tells the source once. At each step the counts are asserted, and at the end
what the modem and the gateway actually received is compared with the texts marked sent:
nothing twice, nothing to an opted-out number but its confirmation.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.db.models import F
from django.utils import timezone

from campaigns.followups import send_followups
from campaigns.models import TAG_FIRST, TAG_FOLLOWUP, PullRun, Recipient
from campaigns.notify import notify_sources
from campaigns.pull import pull_campaign
from campaigns.tests.conftest import data_source as data_source  # a fixture
from campaigns.tests.conftest import make_template
from modems.models import SimDayCount
from modems.reading import read_in
from modems.simulator import ModemSimulator
from modems.testing import create_network, create_sim
from replies.models import Reply, ReplyType, Source
from replies.sorting import categorise
from replies.testing import ensure_reply_types
from sms.consent import apply_due_opt_outs
from sms.dispatch import dispatch
from sms.fake_http import FakeHTTPServer as FakeGateway
from sms.fake_http import Reply as GatewayReply
from sms.models import ConsentEvent, Contact, InboundMessage, OutboundMessage, PendingOptOut, State

pytestmark = pytest.mark.django_db

SECRET = "clickatell-hook-secret"
PEOPLE = [  # (number as the source gives it, E.164, name)
    ("07450 000001", "+447450000001", "Ann"),
    ("07450000002", "+447450000002", "Bob"),
    ("+447450000003", "+447450000003", "Cat"),
    ("07450000004", "+447450000004", "Dan"),
    ("07450000005", "+447450000005", "Eve"),
    ("07450000006", "+447450000006", "Fay"),
]
ANN, BOB, CAT, DAN, EVE, FAY = (e164 for _, e164, _ in PEOPLE)


@pytest.fixture
def world(settings, monkeypatch, data_source):
    settings.SMS_ROUTER = "campaigns.routing.campaign_router"
    settings.CAMPAIGNS_INNER_ROUTER = "modems.routing.sim_router"
    settings.CAMPAIGNS_SENDING_HOURS = "00:00-00:00"  # any hour: the test runs at any time
    settings.CAMPAIGNS_SENDING_HOURS_BY_REGION = ""
    settings.CAMPAIGNS_MAX_PER_DAY = settings.CAMPAIGNS_MAX_PER_WEEK = 0
    settings.CAMPAIGNS_OPT_OUT_FOOTER = "Reply STOP to opt out"
    settings.MODEMS_COMMAND_TIMEOUT = settings.MODEMS_SEND_TIMEOUT = 2.0
    settings.REPLIES_RETRAIN_AFTER_LABELS = 0
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 2
    ensure_reply_types()
    ids = itertools.count(1)
    with ModemSimulator() as modem, FakeGateway(handler=lambda request: GatewayReply(200, f"ID: ct{next(ids):030d}")) as gateway:  # fmt: skip
        # Clickatell's webhooks are live once its credentials are set; the account SIM reads
        # its own credentials from SIM_ environment variables.
        settings.CLICKATELL_API_ID, settings.CLICKATELL_USER, settings.CLICKATELL_PASSWORD = "1", "u", "p"
        settings.CLICKATELL_HTTPS = False
        settings.CLICKATELL_API_BASE = gateway.address
        settings.CLICKATELL_WEBHOOK_SECRET = SECRET
        for name, value in {"SIM_CT_API_ID": "3456789", "SIM_CT_USER": "shop", "SIM_CT_PASSWORD": "pa55"}.items():
            monkeypatch.setenv(name, value)
        network = create_network("Vodafone UK", carrier_names="Vodafone")
        modem_sim = create_sim(network=network, device=modem.port, number="+447700900555", daily_limit=3, priority=5)
        gateway_sim = create_sim(
            network=network,
            backend="clickatell",
            number="+447700900777",
            daily_limit=20,
            credentials_env={"api_id": "SIM_CT_API_ID", "user": "SIM_CT_USER", "password": "SIM_CT_PASSWORD"},
        )
        yield modem, modem_sim, gateway, gateway_sim


def gateway_sends(gateway) -> list[tuple[str, str]]:
    """(recipient, text) of every sendmsg the gateway received."""
    sends = []
    for request in gateway.requests:
        if request.path.endswith("/sendmsg"):
            form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
            assert (form["api_id"], form["user"], form["password"]) == ("3456789", "shop", "pa55")
            sends.append(("+" + form["to"], form["text"]))
    return sends


def modem_sends(modem) -> list[tuple[str, str]]:
    return [(number if number.startswith("+") else "+" + number, text) for number, text in modem.sent_texts()]


def clickatell_reply(client, number, text, message_id):
    query = {"moMsgId": message_id, "from": number[1:], "to": "447700900777", "text": text, "secret": SECRET}
    return client.get("/sms/inbound/clickatell/", query)


def test_a_campaign_from_pull_to_notification(world, data_source, client, staff_user, outbox):
    modem, modem_sim, gateway, gateway_sim = world
    make_template(
        name="Group A",
        body="Hi {name}, new stock in!",
        followup_body="{name}, last days!",
        followup_alt_body="Thanks {name}, here is 10% off",
        followup_delay=timedelta(days=2),
    )
    rows = [[source_number, name] for source_number, _, name in PEOPLE]
    data_source.answer({"Group A": [*rows, ["not a number", "Zed"], ["07450000001", "Ann again"]]})

    # 1. Pull: six texts queued, the invalid and the duplicate row rejected with reasons.
    run = pull_campaign()
    assert run.state == PullRun.State.SUCCEEDED, run.error
    assert (run.queued, run.rejected) == (6, 2)
    assert data_source.gets[0].headers["X-Api-Key"] == "secret-key"
    assert OutboundMessage.objects.filter(state=State.WAITING).count() == 6

    # 2. Dispatch within the daily limits: the modem (priority) takes its 3, the account the rest.
    summary = dispatch()
    assert (summary.sent, summary.deferred, summary.failed) == (6, 0, 0)
    firsts = {m.recipient: m for m in OutboundMessage.objects.filter(tag=TAG_FIRST)}
    on_modem = {n for n, m in firsts.items() if m.sim_id == modem_sim.pk}
    on_gateway = {n for n, m in firsts.items() if m.sim_id == gateway_sim.pk}
    assert len(on_modem) == 3 and len(on_gateway) == 3
    assert {n for n, _ in modem_sends(modem)} == on_modem and {n for n, _ in gateway_sends(gateway)} == on_gateway
    today = timezone.localdate()
    assert SimDayCount.objects.get(sim=modem_sim, date=today).sent == 3  # at its limit
    assert SimDayCount.objects.get(sim=gateway_sim, date=today).sent == 3
    assert ("+447450000001", "Hi Ann, new stock in!\nReply STOP to opt out") in modem_sends(modem) + gateway_sends(
        gateway
    )

    # The same pull again, and a second dispatcher run: nobody is texted twice.
    assert pull_campaign().queued == 0
    assert dispatch().claimed == 0
    assert len(modem.network) == 3 and len(gateway_sends(gateway)) == 3

    # 3. Replies. Off the modem: a thank-you and a STOP; to the gateway's webhook: "please stop
    #    texting me" and a question. The others say nothing.
    modem_a, modem_b, modem_quiet = sorted(on_modem)
    gateway_a, gateway_b, gateway_quiet = sorted(on_gateway)
    later = timezone.now() + timedelta(seconds=2)
    modem.deliver(modem_a, "Thanks!", when=later)
    modem.deliver(modem_b, "Stop", when=later)
    result = read_in()
    assert (result.stored, result.deleted) == (2, 2) and modem.storage == {}
    assert read_in().stored == 0  # nothing left on the SIM, nothing stored twice
    for number, text, message_id in [
        (gateway_a, "please stop texting me", "mo-1"),
        (gateway_b, "Who is this?", "mo-2"),
    ]:
        assert clickatell_reply(client, number, text, message_id).status_code == 200
    assert clickatell_reply(client, gateway_b, "Who is this?", "mo-2").status_code == 200  # a retried callback
    assert InboundMessage.objects.count() == 4
    for inbound in InboundMessage.objects.all():
        assert inbound.in_reply_to == firsts[inbound.sender]  # each linked to its first text
    assert {m.sender for m in InboundMessage.objects.filter(sim=modem_sim)} == {modem_a, modem_b}

    # The STOP keyword: opted out at once, one confirmation. The rest wait for staff (no model).
    assert Contact.objects.get(number=modem_b).is_opted_out
    assert Reply.objects.get(message__sender=modem_b).source == Source.KEYWORD
    assert Reply.objects.filter(needs_review=True).count() == 3
    types = {t.slug: t for t in ReplyType.objects.all()}
    for number, slug in [(modem_a, "thanks"), (gateway_a, "end"), (gateway_b, "misc")]:
        categorise(reply=Reply.objects.get(message__sender=number), reply_type=types[slug], source=Source.STAFF, by=staff_user)  # fmt: skip
    # A staff "End" stands after its grace period (shown with an Undo); the next send_queued applies it.
    assert not Contact.objects.get(number=gateway_a).is_opted_out
    PendingOptOut.objects.filter(number=gateway_a).update(due_at=timezone.now())
    assert apply_due_opt_outs() == 1
    assert Contact.objects.get(number=gateway_a).is_opted_out  # "End" opts out too
    opted_out = {modem_b, gateway_a}
    assert set(Contact.objects.filter(opted_out_at__isnull=False).values_list("number", flat=True)) == opted_out
    assert ConsentEvent.objects.filter(kind="opt_out").count() == 2
    confirmations = OutboundMessage.objects.filter(confirms_opt_out__isnull=False)
    assert sorted(confirmations.values_list("recipient", flat=True)) == sorted(opted_out)
    assert dispatch().sent == 2  # the two confirmations

    # 4. Two days later (the world ages: texts, recipients and the SIMs' day counts).
    past = timezone.now() - timedelta(days=3)
    OutboundMessage.objects.filter(tag=TAG_FIRST).update(sent_at=past, created_at=past)
    Recipient.objects.update(created_at=past)
    SimDayCount.objects.update(date=F("date") - timedelta(days=3))
    summary = send_followups()
    assert (summary.queued, summary.skipped, summary.waiting) == (4, 2, 0)
    skipped = dict(Recipient.objects.exclude(followup_skipped="").values_list("number", "followup_skipped"))
    assert set(skipped) == opted_out and set(skipped.values()) == {"opted out"}
    assert send_followups().queued == 0  # once
    assert dispatch().sent == 4
    followups = {m.recipient: m for m in OutboundMessage.objects.filter(tag=TAG_FOLLOWUP)}
    assert set(followups) == {modem_a, modem_quiet, gateway_b, gateway_quiet}
    for number, followup in followups.items():
        assert followup.state == State.SENT
        assert followup.sim_id == firsts[number].sim_id  # through the SIM of the first text
    assert followups[modem_a].content.startswith("Thanks ")  # replied "Thanks": the alternative body
    assert followups[modem_quiet].content.split(",")[1].strip().startswith("last days")

    # 5. Every first text has left: the source hears about the group once.
    run = notify_sources()
    assert run.created == 1 and run.summary.sent == 1
    (post,) = data_source.posts
    body = post.json()
    assert body["group"] == "Group A" and sorted(body["numbers"]) == sorted(n for n, _, _ in PEOPLE)
    assert {o["e164"]: o["state"] for o in body["outcomes"]} == dict.fromkeys(firsts, "sent")
    assert notify_sources().created == 0 and len(data_source.posts) == 1

    # What the modem and the gateway received, against what the database says was sent.
    received = modem_sends(modem) + gateway_sends(gateway)
    sent = [(m.recipient, m.content) for m in OutboundMessage.objects.filter(state=State.SENT)]
    assert Counter(received) == Counter(sent) and len(sent) == 6 + 2 + 4
    assert max(Counter(received).values()) == 1  # nothing twice
    for number in opted_out:  # the first text, then only its confirmation
        assert [t for n, t in received if n == number][1:] == [confirmations.get(recipient=number).content]
    assert outbox == []  # nothing slipped past the SIMs to the default backend
    assert len(modem.network) == len(modem_sends(modem))  # no long text split on the way
