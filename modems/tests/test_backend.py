"""Sending through a modem SIM end to end: dispatcher → SIM router → modem backend → driver →
simulator. The simulator's ``network`` list is the ground truth of what went out."""

import pytest
from django.utils import timezone

from modems.models import SimDayCount
from modems.testing import create_sim
from sms.dispatch import dispatch
from sms.models import OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def modem_card(modem_sim):
    return create_sim(device=modem_sim.port, number="+447700900555", daily_limit=50)


def count(sim):
    return SimDayCount.objects.get(sim=sim, date=timezone.localdate()).sent


def test_texts_go_out_through_the_modem(modem_sim, modem_card):
    short = create_message("+447911123001", "Hello")
    long = create_message("+447911123002", "Ł" + "o" * 100)  # UCS-2, two parts
    assert dispatch().sent == 2
    short.refresh_from_db()
    assert short.state == State.SENT and short.sim == modem_card and short.backend == "modem"
    assert short.external_id.startswith(f"modem-{modem_card.pk}-")
    assert sorted(modem_sim.sent_texts()) == [("+447911123001", "Hello"), ("+447911123002", long.content)]
    assert count(modem_card) == 3


def test_temporary_cms_error_is_retried_and_sent_once(modem_sim, modem_card):
    message = create_message()
    modem_sim.faults.send_errors = [500]
    summary = dispatch()
    assert summary.retry == 1 and modem_sim.network == []
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and "[CMS 500]" in message.error
    assert count(modem_card) == 0  # allowance given back
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert dispatch().sent == 1
    assert modem_sim.sent_texts() == [(message.recipient, message.content)]


def test_unplugged_after_the_network_took_it_is_never_resent(modem_sim, modem_card):
    first = create_message("+447911123001", "first")
    second = create_message("+447911123002", "second")
    modem_sim.faults.drop_after_submit = 1
    summary = dispatch()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == State.UNKNOWN and "May have been sent" in first.error and "[ambiguous]" in first.error
    assert second.state == State.ERROR_RETRY and "Not attempted" in second.error
    assert (summary.failed, summary.retry) == (1, 1)
    assert count(modem_card) == 1  # the ambiguous one keeps its allowance
    # The modem comes back (a new pty); the retry sends only the second text.
    modem_sim.stop()
    from modems.simulator import ModemSimulator

    with ModemSimulator() as replugged:
        modem_card.device = replugged.port
        modem_card.save()
        OutboundMessage.objects.filter(pk=second.pk).update(next_attempt_at=timezone.now())
        assert dispatch().sent == 1
        assert replugged.sent_texts() == [("+447911123002", "second")]
    assert [(d.number, d.text) for d in modem_sim.network] == [("+447911123001", "first")]


def test_unreachable_modem_keeps_texts_queued(modem_card, settings):
    modem_card.device = "/dev/ttyDOES-NOT-EXIST"
    modem_card.save()
    message = create_message()
    assert dispatch().retry == 1
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and "not ready" in message.error
    assert count(modem_card) == 0


def test_unreachable_modem_is_passed_over_while_another_sim_can_send(modem_card, outbox):
    modem_card.device = "/dev/ttyDOES-NOT-EXIST"
    modem_card.priority = 5  # preferred: without the rest period every retry would go back to it
    modem_card.save()
    gateway = create_sim(number="+447700900002", daily_limit=50, priority=0)
    message = create_message()
    assert dispatch().retry == 1
    modem_card.refresh_from_db()
    assert modem_card.status_error.startswith("Not ready")
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
    assert dispatch().sent == 1
    message.refresh_from_db()
    assert message.state == State.SENT and message.sim == gateway
    assert [m["to"] for m in outbox] == [message.recipient]


def test_unreachable_modem_is_tried_again_when_it_is_the_only_sim(modem_card):
    modem_card.device = "/dev/ttyDOES-NOT-EXIST"
    modem_card.save()
    message = create_message()
    dispatch()
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
    dispatch()
    message.refresh_from_db()
    assert message.number_of_send_attempts == 2 and message.sim == modem_card


def test_sim_needing_a_pin_keeps_texts_queued(modem_sim, modem_card):
    modem_sim.sim_status = "SIM PIN"
    create_message()
    assert dispatch().retry == 1 and modem_sim.network == []


def test_permanent_network_refusal_fails_the_text(modem_sim, modem_card):
    message = create_message()
    modem_sim.faults.send_errors = [1]
    assert dispatch().failed == 1
    message.refresh_from_db()
    assert message.state == State.ERROR and "unassigned" in message.error


def test_a_batch_gives_a_modem_only_its_share_and_the_rest_follow(modem_sim, modem_card, settings):
    settings.MODEMS_MAX_TEXTS_PER_BATCH = 2
    for i in range(5):
        create_message(f"+44791112300{i}", f"text {i}")
    summary = dispatch(batch_size=5)
    assert summary.sent == 5 and summary.deferred == 3 + 1  # 3 wait after batch 1, 1 after batch 2
    assert sorted(text for _, text in modem_sim.sent_texts()) == [f"text {i}" for i in range(5)]
    assert count(modem_card) == 5
    assert OutboundMessage.objects.filter(state=State.SENT).count() == 5
