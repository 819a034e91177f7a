"""The broker-shaped endpoint's authentication: a forged call gets 403 and runs nothing."""

import base64

import pytest

from keywords import testing
from keywords.models import BrokerProvider
from keywords.testing import create_keyword
from sms.models import InboundMessage

pytestmark = pytest.mark.django_db

SECRET = "broker-secret-for-tests-0123"
URL = "/sms/notification/agg/"


@pytest.fixture
def provider():
    row = BrokerProvider(name="Aggregator", slug="agg")
    row.set_secret(SECRET)
    row.save()
    create_keyword("ABC", handler="keywords.testing.reward")
    return row


def _call(client, method="get", secret=SECRET, **extra):
    params = {"origin": "1234", "text": "ABC.UNICORN", "destination": "567"}
    if secret:
        params["secret"] = secret
    if method == "post":
        return client.post(URL, params, **extra)
    return client.get(URL, params, **extra)


def _nothing_ran():
    return not InboundMessage.objects.exists() and testing.calls == []


@pytest.mark.parametrize("secret", ["", "wrong-secret", SECRET + "x"])
def test_a_call_without_the_secret_is_forbidden_and_runs_nothing(client, provider, secret):
    response = _call(client, secret=secret)
    assert response.status_code == 403 and response.content.startswith(b"ERR")
    assert _nothing_ran()


def test_post_with_the_secret_in_a_header_or_basic_auth_is_accepted(client, provider):
    assert _call(client, "post", secret="", headers={"X-Texting-Secret": SECRET}).content == b"OK"
    basic = base64.b64encode(f"agg:{SECRET}".encode()).decode()
    params = {"origin": "1235", "text": "ABC.DRAGON", "destination": "567"}
    assert client.post(URL, params, headers={"Authorization": f"Basic {basic}"}).content == b"OK"
    assert [argument for _, argument in testing.calls] == ["UNICORN", "DRAGON"]


def test_the_ip_allow_list_is_checked_against_the_client_address(client, provider, settings):
    provider.allowed_ips = "203.0.113.0/24"
    provider.save()
    assert _call(client, REMOTE_ADDR="198.51.100.7").status_code == 403
    assert _nothing_ran()
    assert _call(client, REMOTE_ADDR="203.0.113.9").content == b"OK"


def test_forwarded_for_counts_only_behind_a_trusted_proxy(client, provider, settings):
    provider.allowed_ips = "203.0.113.0/24"
    provider.save()
    forged = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    settings.SMS_TRUST_PROXY = False
    assert _call(client, **forged).status_code == 403
    settings.SMS_TRUST_PROXY = True
    # The proxy appends the address it saw: a client-written first entry is not believed.
    assert _call(client, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7").status_code == 403
    assert _nothing_ran()
    assert _call(client, **forged).content == b"OK"


def test_unknown_or_switched_off_providers_are_404(client, provider):
    assert client.get("/sms/notification/nobody/", {"secret": SECRET}).status_code == 404
    provider.is_active = False
    provider.save()
    assert _call(client).status_code == 404
    assert _nothing_ran()


def test_missing_fields_are_400_with_the_reason(client, provider):
    response = client.get(URL, {"text": "ABC", "secret": SECRET})
    assert response.status_code == 400 and b"origin" in response.content
    response = client.get(URL, {"origin": "1234", "secret": SECRET})
    assert response.status_code == 400 and b"text" in response.content
    assert client.put(URL).status_code == 405


def test_field_names_and_the_broker_s_id_are_per_provider(client, provider):
    provider.origin_field, provider.text_field, provider.destination_field, provider.id_field = (
        "msisdn",
        "sms",
        "to",
        "mid",
    )
    provider.save()
    params = {"msisdn": "1234", "sms": "ABC.X", "to": "567", "mid": "77", "secret": SECRET}
    assert client.get(URL, params).content == b"OK"
    assert client.get(URL, params).content == b"OK"  # the broker's repeat: stored once
    message = InboundMessage.objects.get()
    assert (message.external_id, message.backend, message.content) == ("id-77", "broker-agg", "ABC.X")
    assert "secret" not in message.raw
    assert len(testing.calls) == 1
