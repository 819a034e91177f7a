"""A follow-up goes through the SIM / gateway of the first text where that is still available.

campaigns.followups puts ``prefer_sim`` and ``prefer_backend`` on each follow-up; the SIM router
(behind the campaign router, the default SMS_ROUTER) and, with no SIM at all, the default
router honour them. Everything runs through the real dispatcher.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.fanout import SourceRow, fan_out
from campaigns.followups import send_followups
from campaigns.models import Campaign, Recipient
from campaigns.tests.conftest import make_template
from modems.routing import MODEM_BUSY, sim_router
from modems.testing import create_network, create_sim
from sms.dispatch import dispatch
from sms.fake_http import FakeHTTPServer as FakeGateway
from sms.fake_http import Reply
from sms.models import OutboundMessage, State
from sms.testing import create_message
from sms.tests.test_twilio import ACCOUNT, TOKEN, message_json

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _any_hour(settings):
    settings.SMS_ROUTER = "campaigns.routing.campaign_router"
    settings.CAMPAIGNS_INNER_ROUTER = "modems.routing.sim_router"
    settings.CAMPAIGNS_SENDING_HOURS = "00:00-00:00"
    settings.CAMPAIGNS_SENDING_HOURS_BY_REGION = ""
    settings.CAMPAIGNS_MAX_PER_DAY = 0
    settings.CAMPAIGNS_MAX_PER_WEEK = 0


def first_texts(n=3):
    """``n`` first texts of a campaign queued (not yet sent)."""
    make_template(body="Hi {name}, new stock!", followup_body="{name}, last chance!", followup_delay=timedelta(days=2))
    campaign = Campaign.objects.create(name="c")
    fan_out(campaign=campaign, rows=[SourceRow("Group A", f"07450{i:06d}", f"N{i}") for i in range(n)])
    return campaign


def age_and_follow_up():
    past = timezone.now() - timedelta(days=3)
    OutboundMessage.objects.update(sent_at=past, created_at=past)
    Recipient.objects.update(created_at=past)
    summary = send_followups()
    assert summary.queued == Recipient.objects.count()
    return dispatch()


def followups():
    return OutboundMessage.objects.filter(tag="followup").order_by("recipient")


def test_followup_goes_through_the_sim_of_the_first_text_not_the_best_sim_of_the_day(outbox):
    first_sim = create_sim(number="+447700900001", daily_limit=100)
    first_texts(3)
    assert dispatch().sent == 3
    # A better SIM appears: higher priority, on the recipients' network, unused.
    create_sim(network=create_network("EE", carrier_names="EE"), number="+447700900002", daily_limit=100, priority=9)
    assert age_and_follow_up().sent == 3
    assert {m.sim_id for m in followups()} == {first_sim.pk}
    assert {m.sender for m in followups()} == {first_sim.number}


def test_a_spent_sim_hands_its_followups_to_another_sim_of_the_same_gateway(outbox):
    first_sim = create_sim(number="+447700900001", daily_limit=3)
    first_texts(3)
    assert dispatch().sent == 3  # first_sim is now spent for today
    create_sim(number="+447700900002", backend="console", daily_limit=100, priority=9)
    same_gateway = create_sim(number="+447700900003", backend="locmem", daily_limit=100)
    assert age_and_follow_up().sent == 3
    assert {m.sim_id for m in followups()} == {same_gateway.pk}
    assert {m.extra_sender_data["prefer_sim"] for m in followups()} == {first_sim.pk}


def test_an_inactive_sim_is_not_available_and_another_one_sends(outbox):
    first_sim = create_sim(number="+447700900001", daily_limit=100)
    first_texts(2)
    dispatch()
    other = create_sim(number="+447700900002", daily_limit=100)
    first_sim.active = False
    first_sim.save()
    assert age_and_follow_up().sent == 2
    assert {m.sim_id for m in followups()} == {other.pk}


def test_a_followup_waits_for_its_busy_modem_rather_than_moving(settings):
    settings.MODEMS_MAX_TEXTS_PER_BATCH = 1
    modem = create_sim(device="/dev/ttyUSB-not-opened", daily_limit=100)
    gateway = create_sim(number="+447700900009", daily_limit=100, priority=9)
    texts = [create_message(f"+44745000000{i}", extra_sender_data={"prefer_sim": modem.pk}) for i in range(2)]
    first, second = sim_router(texts)
    assert first.sim_id == modem.pk
    assert second.reason == MODEM_BUSY  # it has allowance: next batch, same modem
    # A text without a preference takes the free gateway.
    (route,) = sim_router([create_message("+447450000009")])
    assert route.sim_id == gateway.pk


# --- No SIM configured: the default router honours prefer_backend ---------------------------------


@pytest.fixture
def twilio(settings):
    with FakeGateway(default=Reply(201, message_json())) as gateway:
        settings.TWILIO_ACCOUNT_SID = ACCOUNT
        settings.TWILIO_AUTH_TOKEN = TOKEN
        settings.TWILIO_FROM_NUMBER = "+447700900001"
        settings.TWILIO_MESSAGING_SERVICE_SID = ""
        settings.TWILIO_API_BASE = gateway.url
        settings.SMS_GATEWAY_TIMEOUT_SECONDS = 2
        yield gateway


def test_without_sims_a_followup_of_a_twilio_text_goes_via_twilio(settings, twilio, outbox):
    settings.SMS_DEFAULT_BACKEND = "twilio"
    first_texts(2)
    assert dispatch().sent == 2
    assert len(twilio.requests) == 2
    settings.SMS_DEFAULT_BACKEND = "locmem"  # the default changed since the first texts left
    assert age_and_follow_up().sent == 2
    assert {m.backend for m in followups()} == {"twilio"}
    assert len(twilio.requests) == 4 and outbox == []
    bodies = sorted(r.params["Body"] for r in twilio.requests[2:])
    assert bodies[0].startswith("N0, last chance!")


def test_without_sims_a_gateway_no_longer_configured_leaves_the_followup_to_the_default(settings, twilio, outbox):
    settings.SMS_DEFAULT_BACKEND = "twilio"
    first_texts(2)
    dispatch()
    settings.SMS_DEFAULT_BACKEND = "locmem"
    settings.TWILIO_AUTH_TOKEN = ""  # twilio is not available any more
    assert age_and_follow_up().sent == 2
    assert {m.backend for m in followups()} == {"locmem"} and len(outbox) == 2
    assert len(twilio.requests) == 2


def test_without_sims_a_followup_of_a_modem_text_goes_via_the_default(outbox):
    """The first text's SIM was deleted: "modem" cannot be built without a SIM's device."""
    sim = create_sim(device="/dev/ttyUSB-gone", daily_limit=100)
    first_texts(1)
    OutboundMessage.objects.update(state=State.SENT, sim=sim, backend="modem", sent_at=timezone.now())
    sim.delete()
    assert age_and_follow_up().sent == 1
    (followup,) = followups()
    assert followup.extra_sender_data["prefer_backend"] == "modem" and followup.backend == "locmem"
    assert len(outbox) == 1
