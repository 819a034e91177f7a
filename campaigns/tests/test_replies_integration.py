"""The hand-over to the replies app: follow-up rules and the reply breakdown read its models
(``ReplyType.allows_followup``, ``Reply.reply_type``), seeded by its data migration."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import followups, reports
from campaigns.fanout import SourceRow, fan_out
from campaigns.models import Campaign, Recipient
from campaigns.tests.conftest import make_template
from replies.models import Reply, ReplyType
from sms.dispatch import dispatch
from sms.models import OutboundMessage
from sms.testing import create_inbound

pytestmark = pytest.mark.django_db


def test_follow_up_rules_and_breakdown_read_the_replies_app():
    types = {t.slug: t for t in ReplyType.objects.all()}
    assert followups.followup_allowed_by_type() == {"thanks": True, "end": False, "bot": False, "misc": True}

    make_template(body="Hi {name}", followup_body="Again {name}", followup_alt_body="Thanks {name}")
    campaign = Campaign.objects.create(name="c")
    fan_out(campaign=campaign, rows=[SourceRow("Group A", f"07450{i:06d}", f"N{i}") for i in range(4)])
    dispatch()
    past = timezone.now() - timedelta(days=3)
    OutboundMessage.objects.update(sent_at=past)
    Recipient.objects.update(created_at=past)
    first = {m.recipient: m for m in OutboundMessage.objects.all()}
    thanks = create_inbound("+447450000000", "Thank you", in_reply_to=first["+447450000000"])
    end = create_inbound("+447450000001", "Never again", in_reply_to=first["+447450000001"])
    pending = create_inbound("+447450000002", "???", in_reply_to=first["+447450000002"])
    Reply.objects.create(message=thanks, reply_type=types["thanks"])
    Reply.objects.create(message=end, reply_type=types["end"])
    Reply.objects.create(message=pending, reply_type=None)

    assert followups.reply_types_of([thanks.pk, end.pk, pending.pk]) == {thanks.pk: "thanks", end.pk: "end"}
    summary = followups.send_followups()
    assert (summary.queued, summary.skipped, summary.waiting) == (2, 1, 1)
    contents = dict(OutboundMessage.objects.filter(tag="followup").values_list("recipient", "content"))
    assert contents["+447450000000"].startswith("Thanks N0")
    assert contents["+447450000003"].startswith("Again N3")

    assert sorted(reports.reply_breakdown(campaign)) == [("End", 1), ("Not classified yet", 1), ("Thanks", 1)]
