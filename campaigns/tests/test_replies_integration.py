"""The hand-over to the replies app, against stand-in models of the shape agreed with it.

The replies app builds ``ReplyType`` (slug, name, allows_followup) and ``Reply`` (a OneToOne to
sms.InboundMessage, a ``reply_type`` FK). Until it lands on this branch, these tests create
models of that shape in the ``replies`` app for the duration of one test, with real tables.
"""

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection, models
from django.utils import timezone

from campaigns import followups, reports
from campaigns.fanout import SourceRow, fan_out
from campaigns.models import Campaign, Recipient
from campaigns.tests.conftest import make_template
from sms.dispatch import dispatch
from sms.models import OutboundMessage
from sms.testing import create_inbound

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reply_models():
    class ReplyType(models.Model):  # noqa: DJ008
        slug = models.SlugField(unique=True)
        name = models.CharField(max_length=50)
        allows_followup = models.BooleanField(default=False)

        class Meta:
            app_label = "replies"

    class Reply(models.Model):  # noqa: DJ008
        message = models.OneToOneField("sms.InboundMessage", on_delete=models.CASCADE, related_name="+")
        reply_type = models.ForeignKey(ReplyType, null=True, on_delete=models.SET_NULL)

        class Meta:
            app_label = "replies"

    with connection.schema_editor() as editor:
        editor.create_model(ReplyType)
        editor.create_model(Reply)
    try:
        yield ReplyType, Reply
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Reply)
            editor.delete_model(ReplyType)
        for name in ("reply", "replytype"):
            apps.all_models["replies"].pop(name, None)
        apps.clear_cache()


def test_follow_up_rules_and_breakdown_read_the_replies_app(reply_models):
    ReplyType, Reply = reply_models
    types = {
        slug: ReplyType.objects.create(slug=slug, name=slug.title(), allows_followup=slug in ("thanks", "misc"))
        for slug in ("thanks", "end", "bot", "misc")
    }
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
