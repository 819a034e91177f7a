"""Gateway balances: each provider's balance call against a local server, stored on the SIM,
the ``check_balances`` command, the on-demand button, failed checks shown (never a 500), and
the dashboard's low-balance warning."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from modems.balances import check_balance, check_balances, has_balance_api
from modems.models import SimCard
from modems.testing import create_network, create_sim
from sms.backends import get_backend
from sms.fake_http import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway_env(monkeypatch, fake_gateway, settings):
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 0.5
    monkeypatch.setenv("SIM_SHOP_KEY", "key-1")
    monkeypatch.setenv("SIM_SHOP_SECRET", "secret-1")
    monkeypatch.setenv("SIM_SHOP_BASE", fake_gateway.url)
    return fake_gateway


def vonage_sim(**fields):
    credentials = {"api_key": "SIM_SHOP_KEY", "api_secret": "SIM_SHOP_SECRET", "api_base": "SIM_SHOP_BASE"}
    fields.setdefault("name", "Vonage shop")
    network = create_network("Vonage", kind="gateway")
    return create_sim(backend="vonage", credentials_env=credentials, network=network, **fields)


def test_a_balance_is_read_with_the_sims_own_credentials_and_stored(gateway_env):
    gateway_env.script(Reply(200, {"value": 3.25, "autoReload": False}))
    sim = vonage_sim(low_balance_threshold=Decimal("5"))
    assert check_balance(sim) is True
    request = gateway_env.requests[0]
    assert request.path == "/account/get-balance" and request.params == {"api_key": "key-1", "api_secret": "secret-1"}
    sim.refresh_from_db()
    assert (sim.balance, sim.balance_currency, sim.balance_error) == (Decimal("3.25"), "EUR", "")
    assert sim.balance_checked_at and sim.is_low_on_balance
    assert list(SimCard.objects.low_on_balance()) == [sim]


def test_a_failed_check_keeps_the_last_balance_and_records_the_providers_error(gateway_env):
    sim = vonage_sim(balance=Decimal("12"), balance_currency="EUR")
    gateway_env.script(Reply(401, {"error-code-label": "Bad credentials"}))
    assert check_balance(sim) is False
    sim.refresh_from_db()
    assert sim.balance == Decimal("12") and "Bad credentials" in sim.balance_error


def test_a_time_out_and_garbage_are_errors_not_crashes(gateway_env):
    sim = vonage_sim()
    gateway_env.script(Reply(200, "{}", delay=2))
    assert check_balance(sim) is False and "no answer" in SimCard.objects.get(pk=sim.pk).balance_error
    gateway_env.script(Reply(200, "<html>"))
    assert check_balance(sim) is False and "unreadable" in SimCard.objects.get(pk=sim.pk).balance_error


def test_missing_credentials_are_reported(gateway_env, monkeypatch):
    monkeypatch.delenv("SIM_SHOP_SECRET")
    sim = vonage_sim()
    assert check_balance(sim) is False
    assert "SIM_SHOP_SECRET" in SimCard.objects.get(pk=sim.pk).balance_error and gateway_env.requests == []


def test_providers_without_a_balance_api_are_skipped():
    assert not has_balance_api(create_sim(backend="sns", name="SNS"))
    assert not has_balance_api(create_sim(device="/dev/ttyUSB0", backend="", name="modem"))
    assert has_balance_api(create_sim(backend="twilio", name="Twilio"))


@pytest.mark.parametrize(
    ("slug", "setup", "reply", "expected", "path"),
    [
        (
            "twilio",
            {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t"},
            Reply(200, {"account_sid": "AC" + "1" * 32, "balance": "7.50", "currency": "GBP"}),
            (7.5, "GBP"),
            f"/2010-04-01/Accounts/AC{'1' * 32}/Balance.json",
        ),
        (
            "smsbroadcast",
            {"SMSBROADCAST_USERNAME": "u", "SMSBROADCAST_PASSWORD": "p"},
            Reply(200, "OK: 1234"),
            (1234.0, "credits"),
            "/api-adv.php",
        ),
    ],
)
def test_twilio_and_sms_broadcast_balances(settings, fake_gateway, slug, setup, reply, expected, path):
    for name, value in setup.items():
        setattr(settings, name, value)
    settings.TWILIO_API_BASE = fake_gateway.url
    settings.SMSBROADCAST_API_URL = f"{fake_gateway.url}/api-adv.php"
    fake_gateway.script(reply)
    assert get_backend(slug).get_balance() == expected
    assert fake_gateway.requests[0].path == path


def test_sms_broadcast_balance_error(settings, fake_gateway):
    from sms.backends import BackendError

    settings.SMSBROADCAST_USERNAME, settings.SMSBROADCAST_PASSWORD = "u", "p"
    settings.SMSBROADCAST_API_URL = f"{fake_gateway.url}/api-adv.php"
    fake_gateway.script(Reply(200, "ERROR: Username or password is incorrect"))
    with pytest.raises(BackendError, match="incorrect"):
        get_backend("smsbroadcast").get_balance()


def test_check_balances_command_reports_each_account(gateway_env):
    gateway_env.script(Reply(200, {"value": 1.5}), Reply(500, "down"))
    vonage_sim(low_balance_threshold=Decimal("2"))
    vonage_sim(name="Second")
    create_sim(backend="sns", name="SNS account")
    create_sim(backend="vonage", name="Switched off", active=False)
    out = StringIO()
    call_command("check_balances", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Vonage shop (vonage): 1.5 EUR  LOW"
    assert lines[1].startswith("Second (vonage): ERROR Vonage: server error HTTP 500")
    assert lines[-1] == "1 balances checked, 1 failed, 1 low, 1 without a balance API"
    assert str(check_balances()).endswith("without a balance API")


def test_the_button_checks_now_and_a_failure_shows_the_error_on_the_page(staff_client, gateway_env):
    sim = vonage_sim()
    gateway_env.script(Reply(200, {"value": 42}))
    response = staff_client.post(reverse("modems:sim_balance", args=[sim.pk]), follow=True)
    assert response.status_code == 200 and "Balance: 42 EUR" in response.content.decode()
    gateway_env.script(Reply(401, {"error-code-label": "Invalid credentials"}))
    response = staff_client.post(reverse("modems:sim_balance", args=[sim.pk]), follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and "The balance check failed: Vonage: HTTP 401 Invalid credentials" in html
    assert 'id="balance-error"' in html and "42 EUR" in html  # the last known balance stays


def test_the_dashboard_warns_about_accounts_below_their_threshold(staff_client):
    low = create_sim(
        name="Low one",
        backend="vonage",
        balance=Decimal("1.2"),
        balance_currency="EUR",
        low_balance_threshold=Decimal("5"),
    )
    create_sim(name="Fine one", backend="vonage", balance=Decimal("50"), low_balance_threshold=Decimal("5"))
    create_sim(name="No threshold", backend="vonage", balance=Decimal("0"))
    html = staff_client.get("/").content.decode()
    warning = html[html.index('id="low-balance"') : html.index("top up")]
    assert "Low one" in warning and low.get_absolute_url() in warning and "1.2 EUR" in warning
    assert "Fine one" not in warning and "No threshold" not in warning


def test_no_warning_when_every_balance_is_fine(staff_client):
    create_sim(name="Fine", backend="vonage", balance=Decimal("50"), low_balance_threshold=Decimal("5"))
    assert 'id="low-balance"' not in staff_client.get("/").content.decode()
