"""Route health and failover: priority and destination prefixes, unhealthy routes passed over,
their waiting texts moved (never one that may have left), probes, the route page, the alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from modems import health
from modems.models import RouteHealthEvent, SimCard
from modems.routing import sim_router
from modems.testing import create_network, create_sim
from sms.dispatch import dispatch
from sms.fake_http import FakeHTTPServer, Reply
from sms.models import OutboundMessage, State, StatusChange
from sms.testing import create_message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _immediate(settings):
    settings.ROUTES_FAILOVER_AFTER_SECONDS = 0  # the first failure worth retrying takes it down
    settings.SMS_CONNECTOR_WEBHOOK_SECRET = "s"


@pytest.fixture
def gateway():
    with FakeHTTPServer() as server:
        yield server


def http_route(gateway, **fields):
    fields.setdefault("name", "Primary")
    fields.setdefault("priority", 10)
    return create_sim(
        network=create_network("Carrier link", kind="gateway"),
        backend="http_connector",
        options={"preset": "jasmin", "url": gateway.url + "/send"},
        **fields,
    )


def test_a_failing_route_goes_unhealthy_and_its_waiting_texts_go_through_the_next(gateway, outbox):
    primary = http_route(gateway)
    backup = create_sim(name="Backup", priority=0, number="+447700900002")
    gateway.script(Reply(503, "down"), Reply(503, "down"))
    first = create_message("+447911123001", "One")
    second = create_message("+447911123002", "Two")
    summary = dispatch(max_batches=1)
    assert summary.retry == 2
    primary.refresh_from_db()
    assert not primary.healthy and "503" in primary.health_reason
    event = RouteHealthEvent.objects.get(sim=primary)
    assert not event.healthy and event.moved == 2
    # Moved: due now, no route pinned; the next batch sends them through the backup.
    dispatch()
    for message in (first, second):
        message.refresh_from_db()
        assert message.state == State.SENT and message.sim_id == backup.pk
    assert len(gateway.requests) == 2  # nothing more went to the unhealthy route
    assert sorted(m["to"] for m in outbox) == ["+447911123001", "+447911123002"]
    assert StatusChange.objects.filter(message=first, note__contains="unhealthy: moved").exists()


def test_texts_that_may_have_left_are_never_moved(gateway):
    primary = http_route(gateway)
    in_flight = create_message("+447911123003", state=State.SENDING)
    unknown = create_message("+447911123004", state=State.UNKNOWN)
    retrying = create_message("+447911123005", state=State.ERROR_RETRY)
    OutboundMessage.objects.filter(pk__in=[in_flight.pk, unknown.pk, retrying.pk]).update(sim=primary)
    assert health.record_failure(primary.pk, "HTTP 503")
    moved = dict(OutboundMessage.objects.values_list("pk", "sim_id"))
    assert moved[in_flight.pk] == primary.pk and moved[unknown.pk] == primary.pk
    assert moved[retrying.pk] is None


def test_a_permanent_error_says_nothing_about_the_route(gateway):
    primary = http_route(gateway)
    gateway.script(Reply(400, 'Error "Invalid destination"'))
    create_message("+447911123006")
    dispatch()
    primary.refresh_from_db()
    assert primary.healthy and primary.failing_since is None


def test_failing_for_less_than_the_threshold_keeps_the_route(gateway, settings):
    settings.ROUTES_FAILOVER_AFTER_SECONDS = 600
    primary = http_route(gateway)
    gateway.script(Reply(503, "down"))
    create_message("+447911123007")
    dispatch()
    primary.refresh_from_db()
    assert primary.healthy and primary.failing_since is not None


def test_an_unhealthy_route_is_probed_with_one_text_and_restored(gateway):
    primary = http_route(gateway)
    create_sim(name="Backup", priority=0, number="+447700900002")
    SimCard.objects.filter(pk=primary.pk).update(
        healthy=False, health_reason="HTTP 503", next_probe_at=timezone.now() - timedelta(seconds=1)
    )
    gateway.script(Reply(200, 'Success "probe-1"'))
    messages = [create_message(f"+44791112301{i}", f"Probe {i}") for i in range(3)]
    dispatch()
    through_primary = OutboundMessage.objects.filter(pk__in=[m.pk for m in messages], sim=primary)
    assert through_primary.count() == 1 and len(gateway.requests) == 1  # one probe text only
    primary.refresh_from_db()
    assert primary.healthy and primary.next_probe_at is None
    assert RouteHealthEvent.objects.get(sim=primary).healthy


def test_destination_prefixes_come_first_and_fail_over_to_a_generic_route(gateway):
    uk = create_sim(name="UK SMSC", prefixes="+44", priority=0, number="+447700900010")
    generic = create_sim(name="Anywhere", priority=10, number="+447700900011")
    to_uk, to_fr = create_message("+447911123020"), create_message("+33612345678")
    decisions = sim_router([to_uk, to_fr])
    assert decisions[0].sim_id == uk.pk  # the prefix wins over a higher priority
    assert decisions[1].sim_id == generic.pk  # a +44 route never carries a +33 text
    SimCard.objects.filter(pk=uk.pk).update(healthy=False, next_probe_at=timezone.now() + timedelta(hours=1))
    assert sim_router([create_message("+447911123021")])[0].sim_id == generic.pk


def test_every_route_unhealthy_waits_for_the_next_probe(gateway):
    probe_at = timezone.now() + timedelta(seconds=30)
    http_route(gateway, healthy=False, next_probe_at=probe_at)
    (decision,) = sim_router([create_message()])
    assert "unhealthy" in decision.reason and decision.until > probe_at


def test_smpp_texts_wait_for_their_worker_and_move_when_it_is_gone(outbox, settings):
    smpp = create_sim(name="SMSC", backend="smpp", priority=10, link_seen_at=timezone.now(), options={"port": 1})
    backup = create_sim(name="Backup", priority=0, number="+447700900002")
    message = create_message("+447911123030")
    dispatch()
    message.refresh_from_db()
    assert (message.state, message.sim_id, message.extra_sender_data[health.HANDOVER]) == (
        State.WAITING,
        smpp.pk,
        smpp.pk,
    )
    assert message.next_attempt_at > timezone.now() and not outbox  # the dispatcher leaves it alone
    # The worker stops confirming its bind: check_routes fails the route over.
    SimCard.objects.filter(pk=smpp.pk).update(link_seen_at=timezone.now() - timedelta(hours=1))
    call_command("check_routes")
    message.refresh_from_db()
    assert message.sim_id is None and health.HANDOVER not in message.extra_sender_data
    dispatch()
    message.refresh_from_db()
    assert message.state == State.SENT and message.sim_id == backup.pk


def test_route_page_shows_health_and_history_and_the_dashboard_alerts(staff_client, gateway):
    primary = http_route(gateway, prefixes="+44, +353")
    health.record_failure(primary.pk, "HTTP 503 from the gateway")
    page = staff_client.get(primary.get_absolute_url()).content.decode()
    assert 'id="health-state">unhealthy' in page and "HTTP 503 from the gateway" in page
    assert "<code>+44</code>" in page and "<code>+353</code>" in page
    health.record_success(primary.pk)
    page = staff_client.get(primary.get_absolute_url()).content.decode()
    assert 'id="health-state">healthy' in page and page.count('badge text-bg-danger">down') == 1
    assert 'id="route-alert"' not in staff_client.get("/").content.decode()
    health.record_failure(primary.pk, "HTTP 503 again")
    dashboard = staff_client.get("/").content.decode()
    assert 'id="route-alert"' in dashboard and "HTTP 503 again" in dashboard


def test_sim_form_takes_prefixes_and_checks_connector_options(staff_client):
    network = create_network("Carrier link", kind="gateway")
    data = {
        "name": "Kannel",
        "network": network.pk,
        "kind": "gateway",
        "backend": "http_connector",
        "daily_limit": 100,
        "priority": 0,
        "active": "on",
        "prefixes": "+44,+4477",
        "options": '{"preset": "kannel"}',
    }
    answer = staff_client.post(reverse("modems:sim_create"), data)
    assert answer.status_code == 200 and "url is required" in answer.content.decode()
    data["options"] = '{"preset": "kannel", "url": "http://127.0.0.1:13013/cgi-bin/sendsms"}'
    data["prefixes"] = "44"
    assert "E.164 prefixes" in staff_client.post(reverse("modems:sim_create"), data).content.decode()
    data["prefixes"] = "+44,+4477"
    data["options"] = '{"preset": "kannel", "url": "http://127.0.0.1:13013/", "password": "hunter2"}'
    assert (
        "secrets go in the credential variables"
        in staff_client.post(reverse("modems:sim_create"), data).content.decode()
    )
    data["options"] = '{"preset": "kannel", "url": "http://127.0.0.1:13013/cgi-bin/sendsms"}'
    assert staff_client.post(reverse("modems:sim_create"), data).status_code == 302
    sim = SimCard.objects.get(name="Kannel")
    assert sim.prefixes == "+44, +4477" and sim.options["preset"] == "kannel"
