"""The campaign router: quiet hours and pauses hold texts at dispatch time (retries too)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.fanout import SourceRow, fan_out
from campaigns.models import PAUSED_UNTIL, Campaign
from campaigns.tests.conftest import make_template
from sms.backends import BackendError, locmem
from sms.dispatch import dispatch
from sms.models import OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def router(settings, monkeypatch):
    monkeypatch.setattr("campaigns.routing.CHECK_EVERY_SECONDS", 0)
    settings.SMS_ROUTER = "campaigns.routing.campaign_router"
    settings.CAMPAIGNS_INNER_ROUTER = "sms.routing.default_router"


def queue(n=1, **campaign_fields):
    make_template()
    campaign = Campaign.objects.create(name="c", **campaign_fields)
    fan_out(campaign=campaign, rows=[SourceRow("Group A", f"07450{i:06d}", f"N{i}") for i in range(n)])
    return campaign


def closed_window_now(settings):
    """A sending window that is closed right now, whatever the hour of the test run."""
    now = timezone.localtime()
    start = (now + timedelta(hours=2)).strftime("%H:00")
    end = (now + timedelta(hours=3)).strftime("%H:00")
    settings.CAMPAIGNS_SENDING_HOURS = f"{start}-{end}"


def test_a_retry_due_in_quiet_hours_waits_for_the_window(settings):
    queue()
    message = OutboundMessage.objects.get()
    closed_window_now(settings)  # e.g. the first attempt failed and the retry is now at night
    summary = dispatch()
    assert summary.deferred == 1 and locmem.outbox == []
    message.refresh_from_db()
    assert message.state == State.WAITING
    assert message.next_attempt_at > timezone.now() + timedelta(minutes=30)
    assert message.number_of_send_attempts == 0  # waiting is not an attempt
    assert "Quiet hours in Europe/London" in message.status_changes.last().note


def test_non_campaign_texts_are_not_held_by_quiet_hours(settings):
    create_message("+447450000001", "Your code is 1234")
    closed_window_now(settings)
    assert dispatch().sent == 1


def test_paused_campaign_sends_nothing_until_resumed():
    campaign = queue(3)
    assert campaign.pause(reason="checking")
    assert set(OutboundMessage.objects.values_list("next_attempt_at", flat=True)) == {PAUSED_UNTIL}
    assert dispatch().claimed == 0
    assert campaign.resume()
    assert dispatch().sent == 3


def test_text_claimed_while_its_campaign_is_paused_is_deferred():
    campaign = queue(1)
    Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.PAUSED)  # paused mid-claim
    assert dispatch().deferred == 1
    assert OutboundMessage.objects.get().next_attempt_at == PAUSED_UNTIL


def test_abort_marks_what_was_not_sent_aborted():
    campaign = queue(2)
    assert campaign.abort(reason="wrong list") == 2
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {State.ABORTED}
    assert dispatch().claimed == 0


def test_campaign_pauses_itself_when_errors_pile_up(settings):
    settings.CAMPAIGNS_ERROR_RATE_MIN_MESSAGES = 4
    settings.CAMPAIGNS_ERROR_RATE_THRESHOLD = 0.5
    campaign = queue(10)
    locmem.fail_next.extend(BackendError("gateway down") for _ in range(4))
    dispatch(batch_size=4, max_batches=1)  # four fail (will retry)
    summary = dispatch(batch_size=4)  # the next batch finds the rate crossed
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert "4 of 4 texts failed" in campaign.paused_reason
    assert summary.sent == 0
    assert len(locmem.outbox) == 0


def test_campaign_of_only_rejected_rows_has_nothing_to_send():
    from campaigns.control import refresh_states

    make_template()
    campaign = Campaign.objects.create(name="Bad list", state=Campaign.State.RUNNING)
    fan_out(campaign=campaign, rows=[SourceRow("Group A", "12345", "Nobody")])
    assert campaign.rejected_rows.count() == 1 and not OutboundMessage.objects.exists()
    assert campaign.state == Campaign.State.NOTHING_TO_SEND and not campaign.is_open
    refresh_states()
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.NOTHING_TO_SEND


def test_campaign_still_being_pulled_does_not_complete():
    from campaigns.control import refresh_states
    from campaigns.models import PullRun

    make_template()
    campaign = Campaign.objects.create(name="Half pulled", state=Campaign.State.RUNNING)
    PullRun.objects.create(campaign=campaign, state=PullRun.State.RUNNING)
    fan_out(campaign=campaign, rows=[SourceRow("Group A", "12345", "Nobody")])
    refresh_states()
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.RUNNING


def test_the_same_bad_row_twice_is_listed_as_often_as_it_is_counted():
    make_template()
    campaign = Campaign.objects.create(name="Twice", state=Campaign.State.RUNNING)
    result = fan_out(campaign=campaign, rows=[SourceRow("Group A", "12345", "A"), SourceRow("Group A", "12345", "A")])
    assert result.rejected_total == 2
    assert sorted(campaign.rejected_rows.values_list("reason", flat=True)) == ["duplicate", "invalid_number"]
