"""send_followups: once, after the delay, only when the reply type allows, via the same SIM."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns import followups
from campaigns.fanout import SourceRow, fan_out
from campaigns.followups import decide, followup_allowed_by_type, send_followups
from campaigns.models import Campaign, Recipient
from campaigns.tests.conftest import make_template
from sms.dispatch import dispatch
from sms.models import Contact, OutboundMessage
from sms.testing import create_inbound

pytestmark = pytest.mark.django_db

ALLOWED = {"thanks": True, "misc": True, "end": False, "bot": False}


@pytest.fixture
def sent():
    """Three first texts sent three days ago."""
    make_template(
        body="Hi {name}, new stock!",
        followup_body="{name}, last chance!",
        followup_alt_body="Thanks {name}! Here is your code.",
        followup_delay=timedelta(days=2),
    )
    campaign = Campaign.objects.create(name="c")
    fan_out(campaign=campaign, rows=[SourceRow("Group A", f"07450{i:06d}", f"N{i}") for i in range(3)])
    dispatch()
    past = timezone.now() - timedelta(days=3)
    OutboundMessage.objects.update(sent_at=past, created_at=past)
    Recipient.objects.update(created_at=past)
    return campaign


def followups_():
    return OutboundMessage.objects.filter(tag="followup")


@pytest.mark.parametrize(
    ("state", "opted_out", "replies", "expected"),
    [
        ("sent", False, [], "send"),
        ("delivered", False, ["thanks"], "send_alt"),
        ("sent", False, ["misc", "thanks"], "send_alt"),
        ("sent", False, ["end"], "skip:replied end"),
        ("sent", False, ["thanks", "bot"], "skip:replied bot"),
        ("sent", False, [None], "wait"),
        ("sent", True, [], "skip:opted out"),
        ("waiting", False, [], "wait"),
        ("error", False, [], "skip:first text not sent"),
    ],
)
def test_decide(state, opted_out, replies, expected):
    assert decide(first_state=state, opted_out=opted_out, reply_slugs=replies, allowed=ALLOWED) == expected


def test_without_replies_everyone_gets_the_follow_up_once(sent):
    summary = send_followups()
    assert summary.queued == 3
    assert set(followups_().values_list("content", flat=True)) >= {"N0, last chance!\nReply STOP to opt out"}
    assert send_followups().queued == 0  # once
    assert followups_().count() == 3


def test_not_before_the_delay(sent):
    OutboundMessage.objects.update(sent_at=timezone.now() - timedelta(days=1))
    assert send_followups().queued == 0
    assert Recipient.objects.filter(followup_at__isnull=True, followup_skipped="").count() == 3


def test_opted_out_number_never_gets_one(sent):
    Contact.objects.filter(number="+447450000000").update(opted_out_at=timezone.now())
    summary = send_followups()
    assert summary.queued == 2 and summary.skipped == 1
    assert Recipient.objects.get(number="+447450000000").followup_skipped == "opted out"


def test_reply_types_decide_and_replied_get_the_alternative(sent, monkeypatch):
    first = {m.recipient: m for m in OutboundMessage.objects.all()}
    thanks = create_inbound("+447450000000", "Thanks!", in_reply_to=first["+447450000000"])
    end = create_inbound("+447450000001", "Stop bothering me", in_reply_to=first["+447450000001"])
    monkeypatch.setattr(followups, "reply_types_of", lambda ids: {thanks.pk: "thanks", end.pk: "end"} if ids else {})
    summary = send_followups()
    assert summary.queued == 2 and summary.skipped == 1
    contents = dict(followups_().values_list("recipient", "content"))
    assert contents["+447450000000"].startswith("Thanks N0! Here is your code.")
    assert contents["+447450000002"].startswith("N2, last chance!")
    assert Recipient.objects.get(number="+447450000001").followup_skipped == "replied end"


def test_unclassified_reply_waits_while_replies_app_is_not_ready(sent):
    first = OutboundMessage.objects.get(recipient="+447450000000")
    create_inbound("+447450000000", "hmm?", in_reply_to=first)
    assert followups.reply_types_of([1]) == {}  # no replies.Reply model on this branch
    summary = send_followups()
    assert summary.queued == 2 and summary.waiting == 1


def test_follow_up_prefers_the_first_texts_sim_and_backend(sent):
    send_followups()
    for message in followups_():
        assert message.extra_sender_data["prefer_backend"] == "locmem"
        assert message.extra_data["followup_of"]
        assert message.campaign_id == sent.pk


def test_reply_type_rules_come_from_the_reply_types(settings):
    settings.CAMPAIGNS_FOLLOWUP_REPLY_TYPES = ["thanks"]  # only a fallback: ReplyType decides
    assert followup_allowed_by_type() == {"thanks": True, "misc": True, "end": False, "bot": False}


def test_aborted_campaign_gets_no_follow_ups(sent):
    sent.abort()
    assert send_followups().queued == 0


def test_command(sent, capsys):
    call_command("send_followups", verbosity=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("  ")  # progress
    assert lines[-1].startswith("Done: ") and "3 follow-ups queued" in lines[-1]


def test_frequency_cap_makes_follow_ups_wait(sent, settings):
    settings.CAMPAIGNS_MAX_PER_WEEK = 1  # each recipient already had the first text this week
    summary = send_followups()
    assert summary.queued == 0 and summary.waiting == 3
    settings.CAMPAIGNS_MAX_PER_WEEK = 0
    assert send_followups().queued == 3
