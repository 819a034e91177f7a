import io

import pytest

from campaigns import demo
from campaigns.models import TAG_FOLLOWUP, Campaign, RejectedRow
from modems import demo as modems_demo
from sms.models import InboundMessage, OutboundMessage, State

pytestmark = pytest.mark.django_db


def test_demo_campaigns_have_groups_rejections_replies_and_followups_and_load_once():
    modems_demo.load(io.StringIO())
    out = io.StringIO()
    demo.load(out)
    sent = Campaign.objects.get(source=Campaign.Source.PULL)
    assert sent.state == Campaign.State.COMPLETED
    assert set(sent.groups.values_list("name", flat=True)) == {"Loyal customers", "New customers", "VIP"}
    assert sent.groups.get(name="VIP").skipped_reason
    reasons = set(RejectedRow.objects.filter(campaign=sent).values_list("reason", flat=True))
    assert {"invalid_number", "duplicate", "missing_name", "missing_field", "bad_row"} <= reasons
    firsts = sent.messages.filter(tag="campaign")
    assert firsts.filter(state=State.DELIVERED).count() >= 20 and firsts.filter(sim__isnull=False).exists()
    assert InboundMessage.objects.filter(in_reply_to__campaign=sent).count() >= 8
    assert OutboundMessage.objects.filter(campaign=sent, tag=TAG_FOLLOWUP, state=State.DELIVERED).exists()
    # The history is dated back, not "now": the first texts left three days ago.
    assert max(firsts.values_list("sent_at", flat=True)) < sent.finished_at
    assert set(Campaign.objects.values_list("state", flat=True)) == {"completed", "scheduled", "paused"}
    demo.load(out)
    assert "skipped" in out.getvalue() and Campaign.objects.count() == 3
