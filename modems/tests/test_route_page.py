"""The route page of a gateway account (its SIM page): backend, senders, today's texts,
delivery rate, last error, balance and the "send a test text" button."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from modems.testing import create_network, create_sim
from sms.backends import BackendError, locmem
from sms.models import OutboundMessage, State
from sms.testing import assert_staff_only, create_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(settings):
    settings.LOCMEM_WEBHOOK_SECRET = "x"
    return create_sim(name="Shop account", backend="locmem", number="+447700900555", daily_limit=100)


def _text(sim, state, *, error="", sent_ago=None, **fields):
    message = create_message(**fields)
    now = timezone.now()
    OutboundMessage.objects.filter(pk=message.pk).update(
        sim=sim,
        state=state,
        error=error,
        sent_at=now - sent_ago if sent_ago is not None else None,
        delivered_at=now if state == State.DELIVERED else None,
        changed_at=now,
    )
    return message


def test_the_route_card_shows_backend_senders_todays_texts_rate_and_last_error(staff_client, account):
    _text(account, State.DELIVERED, sent_ago=timedelta(minutes=5))
    _text(account, State.DELIVERED, sent_ago=timedelta(minutes=5))
    _text(account, State.SENT, sent_ago=timedelta(minutes=2))
    failed = _text(account, State.ERROR_UPDATE, error="locmem: undelivered [30003]", sent_ago=timedelta(minutes=1))
    _text(create_sim(name="Other", backend="locmem"), State.ERROR, error="not ours")
    html = staff_client.get(account.get_absolute_url()).content.decode()
    card = html[html.index('id="route"') :]
    assert "In-memory" in card or "locmem" in card
    assert "+447700900555" in card[card.index('id="route-senders"') :]
    today = card[card.index('id="route-today"') : card.index('id="route-delivery-rate"')]
    assert "4 queued · 4 sent · 2 delivered" in today and "1 failed" in today
    rate = card[card.index('id="route-delivery-rate"') : card.index('id="route-last-error"')]
    assert "50%" in rate and "of 4" in rate  # 2 delivered of 4 that reached the gateway
    last_error = card[card.index('id="route-last-error"') : card.index('id="route-balance"')]
    assert (
        "undelivered [30003]" in last_error and failed.get_absolute_url() in last_error and "not ours" not in last_error
    )


def test_balance_on_the_card(staff_client):
    sim = create_sim(
        name="Vonage",
        backend="vonage",
        balance=Decimal("3.5"),
        balance_currency="EUR",
        low_balance_threshold=Decimal("10"),
    )
    html = staff_client.get(sim.get_absolute_url()).content.decode()
    balance = html[html.index('id="route-balance"') :]
    assert "3.5 EUR" in balance and "low" in balance and "warning below 10" in balance
    assert 'id="check-balance"' in html


def test_a_provider_without_a_balance_api_says_so(staff_client):
    html = staff_client.get(create_sim(name="SNS", backend="sns").get_absolute_url()).content.decode()
    assert "this provider has no balance API" in html and 'id="check-balance"' not in html


def test_modem_sims_keep_their_modem_card_and_have_no_route_card(staff_client):
    sim = create_sim(device="/dev/ttyUSB0", backend="", name="Dongle", network=create_network("EE"))
    html = staff_client.get(sim.get_absolute_url()).content.decode()
    assert 'id="modem-status"' in html and 'id="route"' not in html


def test_the_route_page_answers_in_pinned_queries(staff_client, account, django_assert_num_queries):
    for _ in range(5):
        _text(account, State.DELIVERED, sent_ago=timedelta(minutes=1), error="")
    _text(account, State.ERROR, error="boom")
    # session, user, SIM, day counts (chart), route figures (roll-up counts + deltas), last error,
    # latest texts, health history
    with django_assert_num_queries(9):
        assert staff_client.get(account.get_absolute_url()).status_code == 200


def test_send_a_test_text_goes_through_this_route(staff_client, account, outbox):
    create_sim(name="Busier", backend="locmem", priority=10)
    response = staff_client.post(reverse("modems:sim_test_text", args=[account.pk]), {"recipient": "07911 123456"})
    message = OutboundMessage.objects.get()
    assert response.status_code == 302 and response["Location"] == message.get_absolute_url()
    assert (message.recipient, message.sim_id, message.state, message.tag) == (
        "+447911123456",
        account.pk,
        State.SENT,
        "route-test",
    )
    assert [m["to"] for m in outbox] == ["+447911123456"]
    page = staff_client.get(response["Location"]).content.decode()
    assert "Test text sent to +447911123456" in page


def test_a_failing_test_text_shows_the_providers_error(staff_client, account):
    locmem.fail_next.append(BackendError("Gateway says: invalid sender", permanent=True))
    response = staff_client.post(
        reverse("modems:sim_test_text", args=[account.pk]), {"recipient": "+447911123456"}, follow=True
    )
    assert response.status_code == 200 and "invalid sender" in response.content.decode()
    assert OutboundMessage.objects.get().state == State.ERROR


def test_an_invalid_number_sends_nothing(staff_client, account):
    response = staff_client.post(
        reverse("modems:sim_test_text", args=[account.pk]), {"recipient": "not a number"}, follow=True
    )
    assert response.status_code == 200 and not OutboundMessage.objects.exists()


def test_an_inactive_route_says_it_could_not_take_the_text(staff_client, account):
    account.active = False
    account.save()
    create_sim(name="Other", backend="locmem")
    response = staff_client.post(
        reverse("modems:sim_test_text", args=[account.pk]), {"recipient": "+447911123456"}, follow=True
    )
    assert "This route could not take the test text now" in response.content.decode()


def test_writes_are_staff_only_and_post_only(client, plain_user, account):
    writes = [
        ("post", reverse("modems:sim_test_text", args=[account.pk])),
        ("post", reverse("modems:sim_balance", args=[account.pk])),
    ]
    assert_staff_only(client, plain_user, writes, data={"recipient": "+447911123456"})
    assert not OutboundMessage.objects.exists()


def test_writes_need_post(staff_client, account):
    assert staff_client.get(reverse("modems:sim_test_text", args=[account.pk])).status_code == 405
    assert staff_client.get(reverse("modems:sim_balance", args=[account.pk])).status_code == 405


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_staff_send_a_test_text_from_the_route_page(staff_page, live_server, settings):
    settings.LOCMEM_WEBHOOK_SECRET = "x"
    sim = create_sim(name="Phone route", backend="locmem", number="+447700900555")
    staff_page.set_viewport_size({"width": 390, "height": 844})
    staff_page.goto(f"{live_server.url}{sim.get_absolute_url()}")
    assert staff_page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "+447700900555" in staff_page.inner_text("#route-senders")
    staff_page.fill("#id_recipient", "+447911123456")
    staff_page.click("#test-text-form button[type=submit]")
    staff_page.wait_for_url("**/sms/outbound/**")
    assert "Test text sent to +447911123456" in staff_page.content()
    assert OutboundMessage.objects.get().sim_id == sim.pk
