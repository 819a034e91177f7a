from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.fanout import BadRow, SourceRow, fan_out
from campaigns.models import PAUSED_UNTIL, Campaign, CampaignGroup, Recipient, RejectedRow
from campaigns.tests.conftest import make_template
from sms.models import Contact, OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db


def rows(n, group="Group A", start=0):
    return [SourceRow(group, f"07450{start + i:06d}", f"Name{i}") for i in range(n)]


def reasons():
    return sorted(RejectedRow.objects.values_list("reason", flat=True))


def test_valid_rows_are_rendered_with_footer_and_queued():
    template = make_template(body="{greeting} {name}, 10% off today")
    campaign = Campaign.objects.create(name="c")
    result = fan_out(campaign=campaign, rows=[SourceRow("Group A", "07450 000000", "Monica")])
    assert result.queued == 1
    message = OutboundMessage.objects.get()
    assert message.recipient == "+447450000000"
    assert message.state == State.WAITING
    assert message.campaign == campaign and message.template == template and message.tag == "campaign"
    assert message.content.endswith("Monica, 10% off today\nReply STOP to opt out")
    assert Recipient.objects.get().source_number == "07450 000000"


def test_each_bad_row_is_rejected_with_its_reason():
    make_template(body="Hi {name}, see you in {city}", extra_fields="city")
    Contact.objects.create(number="+447450000003", opted_out_at=timezone.now())
    campaign = Campaign.objects.create(name="c")
    result = fan_out(
        campaign=campaign,
        rows=[
            SourceRow("Group A", "07450000001", "Ann", {"city": "Leeds"}),
            SourceRow("Group A", "123", "Bad", {"city": "Leeds"}),
            SourceRow("Group A", "07450000001", "Ann again", {"city": "Leeds"}),
            SourceRow("Group A", "07450000003", "Opted", {"city": "Leeds"}),
            SourceRow("Group A", "07450000004", "", {"city": "Leeds"}),
            SourceRow("Group A", "07450000005", "NoCity", {}),
        ],
        bad_rows=[BadRow("Group A", "true", "expected [number, name]")],
    )
    assert result.queued == 1
    assert reasons() == ["bad_row", "duplicate", "invalid_number", "missing_field", "missing_name", "opted_out"]
    assert OutboundMessage.objects.count() == 1


def test_group_without_active_template_is_skipped_and_others_go_on():
    make_template()
    make_template(name="Group C", is_active=False)
    campaign = Campaign.objects.create(name="c")
    result = fan_out(campaign=campaign, rows=rows(2) + rows(3, "Group B", 10) + rows(1, "Group C", 20))
    assert result.queued == 2
    assert set(result.skipped_groups) == {"Group B", "Group C"}
    group_b = CampaignGroup.objects.get(name="Group B")
    assert group_b.rows_skipped == 3 and "no template" in group_b.skipped_reason


def test_second_fan_out_of_the_same_rows_texts_nobody_twice():
    make_template()
    campaign = Campaign.objects.create(name="c")
    fan_out(campaign=campaign, rows=rows(50))
    again = fan_out(campaign=campaign, rows=rows(60))
    assert again.queued == 10
    assert OutboundMessage.objects.count() == 60
    assert RejectedRow.objects.filter(reason="duplicate", detail="already texted in this campaign").count() == 50


def test_a_number_in_two_groups_gets_one_text():
    make_template()
    make_template(name="Group B")
    campaign = Campaign.objects.create(name="c")
    result = fan_out(
        campaign=campaign, rows=[SourceRow("Group A", "07450000001", "A"), SourceRow("Group B", "+447450000001", "B")]
    )
    assert result.queued == 1


def test_frequency_cap_holds_back_the_excess_with_a_reason(settings):
    settings.CAMPAIGNS_MAX_PER_DAY = 1
    make_template()
    other = Campaign.objects.create(name="yesterday's")
    create_message("+447450000000", "earlier", campaign=other)
    campaign = Campaign.objects.create(name="c")
    result = fan_out(campaign=campaign, rows=rows(3))
    assert result.queued == 2
    rejected = RejectedRow.objects.get()
    assert rejected.reason == "frequency_cap" and "cap 1" in rejected.detail


def test_weekly_cap_counts_seven_days(settings):
    settings.CAMPAIGNS_MAX_PER_WEEK = 2
    make_template()
    other = Campaign.objects.create(name="old")
    for days in (2, 3, 9):
        m = create_message("+447450000000", "earlier", campaign=other)
        OutboundMessage.objects.filter(pk=m.pk).update(created_at=timezone.now() - timedelta(days=days))
    result = fan_out(campaign=Campaign.objects.create(name="c"), rows=rows(1))
    assert result.queued == 0 and reasons() == ["frequency_cap"]


def test_fan_out_query_count_does_not_grow_with_rows():
    """No per-row query: only the bulk INSERTs split (SQLite caps the parameters per statement)."""
    make_template()

    def queries_for(n, start):
        campaign = Campaign.objects.create(name=f"c{n}")
        with CaptureQueriesContext(connection) as ctx:
            result = fan_out(campaign=campaign, rows=rows(n, start=start), batch_size=1000)
        assert result.queued == n
        inserts = [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
        return len(ctx) - len(inserts), len(inserts)

    small, small_inserts = queries_for(10, 0)
    large, large_inserts = queries_for(900, 1000)
    assert large == small <= 20
    assert large_inserts <= max(small_inserts, 900 // 15)
    if connection.vendor == "postgresql":
        assert large_inserts == small_inserts
    two_batches, _ = queries_for(1500, 5000)
    assert two_batches - large <= 10


def test_scheduled_campaign_waits_and_sending_hours_apply(settings):
    settings.CAMPAIGNS_SENDING_HOURS = "08:00-21:00"
    make_template()
    start = datetime(2030, 6, 3, 6, 0, tzinfo=UTC)  # 07:00 in London (BST): before the window
    campaign = Campaign.objects.create(name="c", scheduled_for=start)
    fan_out(campaign=campaign, rows=rows(1))
    message = OutboundMessage.objects.get()
    assert message.next_attempt_at == datetime(2030, 6, 3, 7, 0, tzinfo=UTC)  # 08:00 BST
    assert "Good morning" in message.content


def test_foreign_number_uses_its_own_time_zone(settings):
    settings.CAMPAIGNS_SENDING_HOURS = "08:00-21:00"
    make_template()
    start = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)  # 12:00 London, 07:00 New York
    campaign = Campaign.objects.create(name="c", scheduled_for=start)
    fan_out(
        campaign=campaign,
        rows=[SourceRow("Group A", "+1 212 555 0100", "Ny"), SourceRow("Group A", "07450000001", "Ldn")],
    )
    times = dict(OutboundMessage.objects.values_list("recipient", "next_attempt_at"))
    assert times["+447450000001"] == start
    assert times["+12125550100"] == datetime(2030, 1, 15, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_rows_added_to_a_paused_campaign_are_held():
    make_template()
    campaign = Campaign.objects.create(name="c", state=Campaign.State.PAUSED)
    fan_out(campaign=campaign, rows=rows(2))
    assert set(OutboundMessage.objects.values_list("next_attempt_at", flat=True)) == {PAUSED_UNTIL}
    assert OutboundMessage.objects.due().count() == 0


def test_aborted_campaign_queues_nothing():
    make_template()
    campaign = Campaign.objects.create(name="c", state=Campaign.State.ABORTED)
    assert fan_out(campaign=campaign, rows=rows(2)).queued == 0
    assert OutboundMessage.objects.count() == 0


def test_group_skipped_earlier_is_served_once_its_template_exists():
    campaign = Campaign.objects.create(name="c")
    make_template()
    fan_out(campaign=campaign, rows=rows(1, "Group B"))
    assert CampaignGroup.objects.get(name="Group B").template is None
    template_b = make_template(name="Group B")
    assert fan_out(campaign=campaign, rows=rows(1, "Group B")).queued == 1
    group = CampaignGroup.objects.get(name="Group B")
    assert group.template == template_b and group.skipped_reason == ""
