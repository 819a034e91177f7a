"""The generic HTTP connector speaking Kannel's and Jasmin's formats to real local servers."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from modems.connector import validate
from modems.testing import create_network, create_sim
from sms.dispatch import dispatch
from sms.fake_http import FakeHTTPServer, Reply
from sms.models import InboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

SECRET = "connector-secret-123"


@pytest.fixture(autouse=True)
def _credentials(settings, monkeypatch):
    settings.SMS_CONNECTOR_WEBHOOK_SECRET = SECRET
    monkeypatch.setenv("SIM_GW_USER", "tester")
    monkeypatch.setenv("SIM_GW_PASS", "s3cret pass")


@pytest.fixture
def gateway():
    with FakeHTTPServer() as server:
        yield server


def connector_route(gateway, preset: str, path: str):
    return create_sim(
        name=f"{preset} route",
        network=create_network("Carrier link", kind="gateway"),
        backend="http_connector",
        number="+447700900300",
        options={"preset": preset, "url": gateway.url + path},
        credentials_env={"username": "SIM_GW_USER", "password": "SIM_GW_PASS"},
    )


def local(url: str) -> str:
    """The path + query of one of our absolute webhook URLs (the test client's view of it)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_kannel_sendsms_and_its_dlr_url(gateway, client):
    sim = connector_route(gateway, "kannel", "/cgi-bin/sendsms")
    gateway.script(Reply(202, "0: Accepted for delivery"))
    message = create_message("+447911123001", "Hello & welcome")
    dispatch()
    message.refresh_from_db()
    assert message.state == State.SENT and message.sim_id == sim.pk
    (request,) = gateway.requests
    assert request.method == "GET" and request.path == "/cgi-bin/sendsms"
    params = request.params
    assert (params["username"], params["password"]) == ("tester", "s3cret pass")
    assert (params["to"], params["text"], params["from"]) == ("+447911123001", "Hello & welcome", "+447700900300")
    dlr_url = params["dlr-url"]
    assert f"ref={message.reference}" in dlr_url and f"route={sim.pk}" in dlr_url and "status=%d" in dlr_url
    # Kannel substitutes its escapes and calls back: 8 (SMSC took it), then 1 (delivered).
    answer = client.get(local(dlr_url.replace("%d", "8").replace("%I", "smsc-77")))
    assert answer.status_code == 200
    answer = client.get(local(dlr_url.replace("%d", "1").replace("%I", "smsc-77")))
    assert answer.status_code == 200 and answer.content == b""  # Kannel would text back a body
    message.refresh_from_db()
    assert message.state == State.DELIVERED


def test_kannel_dlr_without_the_secret_is_refused_and_changes_nothing(gateway, client):
    connector_route(gateway, "kannel", "/cgi-bin/sendsms")
    gateway.script(Reply(202, "0: Accepted for delivery"))
    message = create_message("+447911123002", "Hi")
    dispatch()
    dlr_url = gateway.requests[0].params["dlr-url"].replace("%d", "1")
    forged = local(dlr_url).replace(f"secret={SECRET}", "secret=guess")
    assert client.get(forged).status_code == 403
    message.refresh_from_db()
    assert message.state == State.SENT


def test_kannel_refusal_is_permanent_and_a_server_error_is_retried(gateway, settings):
    settings.SMS_SEND_CONCURRENCY = 1  # the scripted answers go to the texts in their order
    connector_route(gateway, "kannel", "/cgi-bin/sendsms")
    gateway.script(Reply(403, "3: Authorization failed"), Reply(503, "Service unavailable"))
    refused = create_message("+447911123003", "One")
    retried = create_message("+447911123004", "Two")
    dispatch()
    refused.refresh_from_db()
    retried.refresh_from_db()
    assert refused.state == State.ERROR and "Authorization failed" in refused.error
    assert retried.state == State.ERROR_RETRY


def test_jasmin_send_success_id_and_its_dlr_post(gateway, client):
    sim = connector_route(gateway, "jasmin", "/send")
    gateway.script(Reply(200, 'Success "07033084-5cfd-4812-90a4-e4d24ffb6e3d"'))
    message = create_message("+447911123005", "Привет")
    dispatch()
    message.refresh_from_db()
    assert message.state == State.SENT and message.external_id == "07033084-5cfd-4812-90a4-e4d24ffb6e3d"
    (request,) = gateway.requests
    assert request.method == "POST"
    form = request.params
    assert (form["to"], form["content"], form["dlr-level"]) == ("447911123005", "Привет", "3")
    # Jasmin's DLR POST, by its own id, answered with the body it waits for.
    dlr = urlsplit(form["dlr-url"])
    answer = client.post(
        f"{dlr.path}?secret={SECRET}&route={sim.pk}",
        {"id": message.external_id, "message_status": "DELIVRD", "level": "3", "connector": "smsc1"},
    )
    assert answer.status_code == 200 and answer.content == b"ACK/Jasmin"
    message.refresh_from_db()
    assert message.state == State.DELIVERED


def test_jasmin_undelivered_report_and_an_inbound_text(gateway, client):
    sim = connector_route(gateway, "jasmin", "/send")
    gateway.script(Reply(200, 'Success "abc-1"'))
    message = create_message("+447911123006", "Are you there?")
    dispatch()
    query = f"?secret={SECRET}&route={sim.pk}"
    client.post(f"/sms/status/http_connector/{query}", {"id": "abc-1", "message_status": "UNDELIV", "err": "001"})
    message.refresh_from_db()
    assert message.state == State.ERROR_UPDATE and "001" in message.error
    answer = client.post(
        f"/sms/inbound/http_connector/{query}",
        {"id": "mo-9", "from": "447911123006", "to": "447700900300", "content": "Yes, here", "coding": "0"},
    )
    assert answer.status_code == 200 and answer.content == b"ACK/Jasmin"
    inbound = InboundMessage.objects.get(backend="http_connector")
    assert (inbound.sender, inbound.content, inbound.external_id) == ("+447911123006", "Yes, here", "mo-9")


def test_a_report_for_an_unknown_route_is_a_400_with_a_reason(client):
    answer = client.post(f"/sms/status/http_connector/?secret={SECRET}&route=999", {"id": "x", "message_status": "1"})
    assert answer.status_code == 400 and b"unknown route" in answer.content


def test_generic_json_api_with_an_id_at_a_json_path(gateway):
    create_sim(
        network=create_network("Carrier link", kind="gateway"),
        backend="http_connector",
        options={
            "url": gateway.url + "/v1/messages",
            "method": "POST",
            "body": "json",
            "params": {"recipient": "{to}", "body": "{text}", "callback": "{dlr_url}"},
            "success": r'"accepted":\s*true',
            "id_json": "data.0.id",
        },
    )
    gateway.script(Reply(201, {"accepted": True, "data": [{"id": "m-42"}]}))
    message = create_message("+447911123007", "JSON")
    dispatch()
    message.refresh_from_db()
    assert message.state == State.SENT and message.external_id == "m-42"
    assert gateway.requests[0].json()["recipient"] == "+447911123007"


def test_options_are_validated():
    assert validate({"preset": "kannel", "url": "http://k/cgi-bin/sendsms"}) == []
    assert validate({"preset": "nope"}) == ["unknown preset 'nope' (known: kannel, jasmin)"]
    assert "url is required" in validate({"method": "PUT"})
    assert any("success" in p for p in validate({"url": "http://x", "success": "("}))
