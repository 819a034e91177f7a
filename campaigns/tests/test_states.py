"""Campaign states tell the truth: nothing to send, completion as the last text leaves, aborted
texts apart from failures, and the list's Sent column."""

import pytest

from campaigns.fanout import SourceRow, create_campaign
from campaigns.models import Campaign
from campaigns.tests.conftest import make_template
from sms.dispatch import dispatch
from sms.models import OutboundMessage, State

pytestmark = pytest.mark.django_db


def numbers(n, start=1):
    return [SourceRow("Group A", f"074500{i:05d}", f"P{i}") for i in range(start, start + n)]


def test_a_campaign_of_only_rejected_rows_says_nothing_to_send(staff_client):
    template = make_template()
    response = staff_client.post(
        "/campaigns/new/", {"name": "Typos", "template": template.pk, "numbers": "12345\nnot a number\n"}, follow=True
    )
    html = response.content.decode()
    campaign = Campaign.objects.get(name="Typos")
    assert campaign.state == Campaign.State.NOTHING_TO_SEND
    assert "Nothing to send" in html and 'id="nothing-to-send"' in html
    assert "Running" not in html and ">Pause<" not in html and ">Abort<" not in html
    assert campaign.rejected_rows.count() == 2 and "not a number" in html  # the rows stay to be looked at
    assert "data-state>Nothing to send" in staff_client.get("/campaigns/").content.decode()


def test_a_campaign_completes_when_its_last_text_is_final_without_notify_sources(staff_client):
    make_template()
    campaign, _ = create_campaign(name="Quick", source="manual", rows=numbers(3))
    dispatch()
    for message in OutboundMessage.objects.all():
        message.mark_delivered()
    # No notify_sources / cron run: the pages show the truth.
    html = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.COMPLETED and campaign.finished_at is not None
    assert "data-state>Completed" in html


def test_aborted_texts_are_their_own_state_and_not_failures(staff_client):
    make_template()
    campaign, _ = create_campaign(name="Big", source="manual", rows=numbers(10))
    dispatch(batch_size=2, max_batches=1)
    for message in OutboundMessage.objects.filter(state=State.SENT):
        message.mark_delivered()
    response = staff_client.post(f"/campaigns/{campaign.pk}/abort/", follow=True)
    assert "Campaign aborted." in response.content.decode()
    states = sorted(OutboundMessage.objects.values_list("state", flat=True))
    assert states == [State.ABORTED] * 8 + [State.DELIVERED] * 2
    context = response.context
    assert context["overall"]["failed"] == 0 and context["overall"]["aborted"] == 8
    assert context["delivery_rate"] == 100.0
    assert context["groups"][0]["left"] == 2  # "gone out" 2 of 10, not 10 of 10
    assert "8 aborted, never sent" in response.content.decode()
    row = Campaign.objects.with_counts().get(pk=campaign.pk)
    assert (row.n_failed, row.n_aborted, row.n_sent) == (0, 8, 2)
    assert dispatch().claimed == 0


def test_the_list_sent_column_counts_delivered_texts(staff_client):
    make_template()
    campaign, _ = create_campaign(name="Sent col", source="manual", rows=numbers(4))
    dispatch(batch_size=3, max_batches=1)
    first = OutboundMessage.objects.filter(state=State.SENT).first()
    first.mark_delivered()
    response = staff_client.get("/campaigns/")
    row = next(c for c in response.context["campaigns"] if c.pk == campaign.pk)
    assert (row.total, row.n_sent, row.n_delivered, row.n_pending) == (4, 3, 1, 1)
    assert f'<tr data-campaign="{campaign.pk}">' in response.content.decode()


def test_the_dashboard_shows_a_finished_campaign_completed(staff_client):
    make_template()
    campaign, _ = create_campaign(name="Done", source="manual", rows=numbers(2))
    dispatch()
    for message in OutboundMessage.objects.all():
        message.mark_delivered()
    staff_client.get("/")
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.COMPLETED
