"""SMPP routes against a real SMSC on 127.0.0.1 (npm's ``smpp`` package, modems/tests/smsc)."""

from __future__ import annotations

import threading
import time

import pytest

from modems.models import RouteHealthEvent, SimCard, SmppEarlyReceipt, SmppPart
from modems.smpp import smsc as smsc_module
from modems.smpp.worker import RouteWorker
from modems.testing import create_network, create_sim
from sms.dispatch import dispatch
from sms.models import InboundMessage, OutboundMessage, State
from sms.testing import create_message

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(smsc_module.available()), reason=smsc_module.available() or "ok"),
]

LONG_GSM = "Your order {n} is ready. " + "Collect it at the shop on the high street, bring your receipt. " * 4
LONG_UCS2 = "Привет! Ваш заказ готов к выдаче. " * 6


@pytest.fixture(autouse=True)
def _quick(settings, monkeypatch):
    settings.SMPP_ENQUIRE_LINK_SECONDS = 0.5
    settings.SMPP_RESPONSE_TIMEOUT = 3.0
    settings.SMPP_RECONNECT_MAX_SECONDS = 0.5
    monkeypatch.setenv("SIM_SMPP_PASSWORD", "secret")


@pytest.fixture
def start_smsc():
    started = []

    def start(**options):
        server = smsc_module.SMSC(**options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def smpp_route(server, *, window: int = 10, **fields) -> SimCard:
    fields.setdefault("name", "SMSC one")
    fields.setdefault("priority", 10)
    return create_sim(
        network=create_network("SMSC", kind="gateway"),
        backend="smpp",
        number="+447700900100",
        options={"host": "127.0.0.1", "port": server.port, "system_id": "texting", "window": window},
        credentials_env={"password": "SIM_SMPP_PASSWORD"},
        **fields,
    )


class Running:
    """A route worker in a thread, as ``manage.py smpp_worker`` runs it.

    The test database is SQLite's shared in-memory one, where two threads writing at once get
    "table is locked" rather than a wait: the test's own queries take the worker's database
    turn (``RUNNING.db``), as its reader thread does. (A worker is its own process in use.)
    """

    def __init__(self, sim: SimCard):
        global RUNNING
        self.worker = RouteWorker(SimCard.objects.get(pk=sim.pk))
        RUNNING = self
        self.thread = threading.Thread(target=self.worker.run, kwargs={"max_seconds": 60}, daemon=True)
        self.thread.start()

    def stop(self):
        self.worker.stop.set()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()
        return self.worker.summary


RUNNING: Running | None = None


def locked(fn, *args, **kwargs):
    with RUNNING.worker.db:
        return fn(*args, **kwargs)


def queue(*args, **kwargs):
    return locked(create_message, *args, **kwargs)


def wait_until(condition, timeout: float = 15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if locked(condition):
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def bound(sim):
    return lambda: SimCard.objects.get(pk=sim.pk).link_seen_at is not None


def states(*pks):
    return dict(OutboundMessage.objects.filter(pk__in=pks).values_list("pk", "state"))


def test_texts_leave_as_parts_with_ids_and_are_delivered_when_every_part_is(start_smsc):
    server = start_smsc(receipts=True)
    sim = smpp_route(server)
    running = Running(sim)
    wait_until(bound(sim))
    short = queue("+447911123001", "Hi @ £5 {ok}")
    long_gsm = queue("+447911123002", LONG_GSM)
    long_ucs2 = queue("+447911123003", LONG_UCS2)
    locked(dispatch)  # the router hands them to the SMPP route; its worker sends them
    pks = (short.pk, long_gsm.pk, long_ucs2.pk)
    wait_until(lambda: set(states(*pks).values()) == {State.DELIVERED})
    summary = running.stop()

    submits = server.of("submit")
    by_dest = {}
    for event in submits:
        by_dest.setdefault("+" + event["destination_addr"], []).append(event)
    # One submit_sm per segment, as counted when queued (2 GSM-7 parts of 153, 4 UCS-2 of 67).
    assert [len(by_dest[m.recipient]) for m in (short, long_gsm, long_ucs2)] == [1, 2, 4]
    assert [m.segments for m in (short, long_gsm, long_ucs2)] == [1, 2, 4]
    assert by_dest["+447911123001"][0]["message"] == "Hi @ £5 {ok}"
    assert by_dest["+447911123001"][0]["data_coding"] == 0
    for number, content, coding in (("+447911123002", LONG_GSM, 0), ("+447911123003", LONG_UCS2, 8)):
        parts = by_dest[number]
        assert {p["data_coding"] for p in parts} == {coding}
        assert all(p["esm_class"] & 0x40 for p in parts)  # UDH indicator
        assert [p["udh"][0][-4:] for p in parts] == [f"{len(parts):02x}{i:02x}" for i in range(1, len(parts) + 1)]
        assert "".join(p["message"] for p in parts) == content
    # One id per part, stored from submit_sm_resp; the text carries the first.
    ids = {e["id"] for e in submits}
    assert set(SmppPart.objects.values_list("smsc_id", flat=True)) == ids
    assert SmppPart.objects.filter(stat="DELIVRD").count() == 7
    long_gsm.refresh_from_db()
    assert long_gsm.external_id == by_dest["+447911123002"][0]["id"]
    assert long_gsm.sim_id == sim.pk and long_gsm.backend == "smpp"
    assert summary.sent == 3 and summary.receipts == 7
    assert server.of("bind")[0]["ok"]


def test_a_receipt_that_overtakes_its_submit_resp_is_kept_and_applied(start_smsc):
    server = start_smsc(receipts=True, receipt_first=True, hex_ids=True, text_only_receipts=True)
    sim = smpp_route(server)
    running = Running(sim)
    wait_until(bound(sim))
    message = queue("+447911123004", "Receipt first")
    locked(dispatch)
    wait_until(lambda: states(message.pk)[message.pk] == State.DELIVERED)
    running.stop()
    assert server.of("deliver")[0]["id"] == server.of("submit")[0]["id"]  # the receipt went first
    assert not SmppEarlyReceipt.objects.exists()  # kept, then applied and cleared


def test_a_server_dropping_mid_window_sends_nothing_twice_and_loses_nothing(start_smsc):
    server = start_smsc(delay_ms=30, drop_after=8, unanswered=3)
    sim = smpp_route(server, window=5)
    running = Running(sim)
    wait_until(bound(sim))
    messages = [queue(f"+4479111231{i:02d}", f"Text {i}") for i in range(20)]
    pks = [m.pk for m in messages]
    locked(dispatch)
    wait_until(lambda: all(s in (State.SENT, State.UNKNOWN) for s in states(*pks).values()), timeout=30)
    summary = running.stop()

    submits = server.of("submit")
    destinations = [e["destination_addr"] for e in submits]
    assert len(destinations) == len(set(destinations)), "a text reached the SMSC twice"
    final = states(*pks)
    sent = {pk for pk, s in final.items() if s == State.SENT}
    unknown = {pk for pk, s in final.items() if s == State.UNKNOWN}
    assert len(sent) + len(unknown) == 20  # nothing lost
    answered = {"+" + e["destination_addr"] for e in server.of("resp")}
    assert set(OutboundMessage.objects.filter(pk__in=sent).values_list("recipient", flat=True)) == answered
    # Only what was in the window when the link dropped is undecided, and it is not re-sent.
    assert 3 <= len(unknown) <= 5
    assert len(server.of("bind")) == 2 and summary.connects == 2
    assert summary.unknown == len(unknown)


def test_throttling_answers_slow_the_route_down_and_the_texts_still_go_once(start_smsc):
    server = start_smsc(throttle_first=3)
    sim = smpp_route(server, window=2)
    running = Running(sim)
    wait_until(bound(sim))
    messages = [queue(f"+4479111232{i:02d}", f"Throttled {i}") for i in range(4)]
    locked(dispatch)
    wait_until(lambda: set(states(*[m.pk for m in messages]).values()) == {State.SENT})
    running.stop()
    assert len(server.of("throttled")) == 3
    assert sorted(e["destination_addr"] for e in server.of("submit")) == sorted(m.recipient[1:] for m in messages)


def test_deliver_sm_texts_are_stored_and_long_ones_reassembled(start_smsc):
    server = start_smsc()
    sim = smpp_route(server)
    running = Running(sim)
    wait_until(bound(sim))
    server.command(cmd="deliver", source_addr="447911123009", destination_addr="447700900100", hex=b"STOP".hex())
    text = "Да, спасибо! " * 12
    body = text.encode("utf-16-be")
    halves = [body[:134], body[134:]]
    for seq, half in enumerate(halves, start=1):
        udh = bytes([5, 0, 3, 0x42, 2, seq])
        server.command(
            cmd="deliver",
            source_addr="447911123010",
            destination_addr="447700900100",
            esm_class=0x40,
            data_coding=8,
            hex=(udh + half).hex(),
        )
    long_text = "A reply that came in one message payload TLV, not as parts. " * 6
    server.command(
        cmd="deliver", source_addr="447911123011", destination_addr="447700900100", payload_hex=long_text.encode().hex()
    )
    wait_until(lambda: InboundMessage.objects.filter(backend="smpp").count() == 3)
    running.stop()
    assert InboundMessage.objects.get(sender="+447911123011").content == long_text
    stop = InboundMessage.objects.get(sender="+447911123009")
    assert stop.content == "STOP" and stop.sim_id == sim.pk
    assert InboundMessage.objects.get(sender="+447911123010").content == text


def test_bind_down_past_the_threshold_fails_over_to_the_next_route(start_smsc, settings, outbox):
    settings.ROUTES_FAILOVER_AFTER_SECONDS = 0
    server = start_smsc()
    sim = smpp_route(server)
    create_sim(name="Backup gateway", backend="locmem", priority=0, number="+447700900200")
    running = Running(sim)
    wait_until(bound(sim))
    server.command(cmd="set", refuse_bind=True, drop_after=1, unanswered=1)
    first = queue("+447911123020", "Goes, then the link drops")
    locked(dispatch)
    wait_until(lambda: states(first.pk)[first.pk] == State.UNKNOWN)  # it may have left: not moved
    wait_until(lambda: not SimCard.objects.get(pk=sim.pk).healthy)
    later = queue("+447911123021", "After the drop")
    locked(dispatch)
    running.stop()
    later.refresh_from_db()
    assert later.state == State.SENT and later.sim.name == "Backup gateway"
    assert [m["to"] for m in outbox] == ["+447911123021"]
    event = RouteHealthEvent.objects.get(sim=sim)
    assert not event.healthy and "SMPP bind down" in event.reason


def test_smpp_worker_command_binds_and_reports(start_smsc, capsys):
    from django.core.management import call_command

    server = start_smsc()
    sim = smpp_route(server)
    call_command("smpp_worker", str(sim.pk), "--seconds", "1")
    out = capsys.readouterr().out
    assert "bound to 127.0.0.1" in out and "1 binds: 0 sent" in out
    assert server.of("bind")[0]["system_id"] == "texting"


def test_the_task_engine_form_serves_the_route_for_its_time(start_smsc):
    from modems.tasks import smpp_worker

    server = start_smsc()
    sim = smpp_route(server)
    result = smpp_worker.apply(args=(sim.pk,), kwargs={"seconds": 1}).get()
    assert result.startswith("route SMSC one: 1 binds") and server.of("bind")[0]["ok"]
    assert "not an active SMPP route" in smpp_worker.apply(args=(sim.pk + 100,)).get()
