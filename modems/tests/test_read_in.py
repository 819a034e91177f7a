"""read_in: texts leave the SIM only once committed; long texts are reassembled."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from modems import pdu, reading
from modems.models import InboundPart, SimDayCount
from modems.testing import create_sim
from sms.models import InboundMessage
from sms.testing import create_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def modem_card(modem_sim):
    return create_sim(device=modem_sim.port, number="+447700900555")


def test_read_in_stores_links_and_deletes_from_the_sim(modem_sim, modem_card, capsys):
    outbound = create_message("+447911123001", "Are you coming?")
    later = datetime.now(UTC) + timedelta(seconds=2)  # SCTS has whole seconds only
    modem_sim.deliver("+447911123001", "Yes, see you at 5", when=later)
    modem_sim.deliver("+447911123002", "Zażółć 🎉")
    call_command("read_in")
    output = capsys.readouterr().out
    assert "2 stored" in output and "2 deleted from SIMs" in output
    reply = InboundMessage.objects.get(sender="+447911123001")
    assert reply.content == "Yes, see you at 5" and reply.backend == "modem" and reply.sim == modem_card
    assert reply.in_reply_to == outbound and reply.contact.number == "+447911123001"  # the pipeline ran
    assert reply.recipient == "+447700900555"
    assert InboundMessage.objects.get(sender="+447911123002").content == "Zażółć 🎉"
    assert modem_sim.storage == {}
    assert SimDayCount.objects.get(sim=modem_card).received == 2


def test_unplugged_before_delete_loses_nothing_and_stores_once(modem_sim, modem_card):
    modem_sim.deliver("+447911123001", "first")
    modem_sim.deliver("+447911123002", "second")
    modem_sim.faults.drop_on = "AT+CMGD"
    summary = reading.read_in()
    assert summary.errors and "Lost the modem" in summary.errors[0]
    assert InboundMessage.objects.count() == 1  # committed before the delete was tried
    assert len(modem_sim.storage) == 2  # both still on the SIM
    modem_card.refresh_from_db()
    assert "Lost the modem" in modem_card.read_error
    # Plugged back in: the same SIM contents on a new line.
    from modems.simulator import ModemSimulator

    with ModemSimulator() as replugged:
        replugged.storage = dict(modem_sim.storage)
        modem_card.device = replugged.port
        modem_card.save()
        summary = reading.read_in()
        assert (summary.stored, summary.duplicates, summary.deleted) == (1, 1, 2)
        assert replugged.storage == {}
    assert sorted(InboundMessage.objects.values_list("content", flat=True)) == ["first", "second"]


def test_pipeline_failure_stores_the_text_before_it_leaves_the_sim(modem_sim, modem_card, settings):
    # A failing step (say, the classifier) is logged by store_inbound; the text is committed
    # first, so deleting it from the SIM afterwards loses nothing.
    settings.SMS_INBOUND_PIPELINE = ["modems.tests.test_read_in.exploding_step"]
    modem_sim.deliver("+447911123001", "hello")
    summary = reading.read_in()
    (message,) = InboundMessage.objects.all()
    assert message.content == "hello" and message.sim == modem_card
    assert summary.deleted == 1 and modem_sim.storage == {}


def exploding_step(message):
    raise RuntimeError("classifier down")


def test_long_text_out_of_order_across_runs_is_assembled_once(modem_sim, modem_card):
    text = "".join(f"word{i} " for i in range(60))
    modem_sim.deliver_long("+447911123001", text, ref=9, chunk=150, order=[3])
    first = reading.read_in()
    assert (first.parts_kept, first.stored, first.deleted) == (1, 0, 1)
    assert modem_sim.storage == {} and InboundMessage.objects.count() == 0
    modem_sim.deliver_long("+447911123001", text, ref=9, chunk=150, order=[1, 2])
    second = reading.read_in()
    assert (second.assembled, second.stored) == (1, 1)
    (message,) = InboundMessage.objects.all()
    assert message.content == text and message.sim == modem_card
    assert InboundPart.objects.filter(assembled_into=message).count() == 3


def test_a_part_read_again_after_assembly_does_not_start_a_new_text(modem_sim, modem_card):
    when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    text = "a" * 250
    modem_sim.deliver_long("+447911123001", text, ref=3, chunk=150, when=when)
    reading.read_in()
    modem_sim.deliver_long("+447911123001", text, ref=3, chunk=150, when=when, order=[2])  # CMGD had failed
    summary = reading.read_in()
    assert (summary.duplicates, summary.stored, summary.deleted) == (1, 0, 1)
    assert InboundMessage.objects.count() == 1 and InboundPart.objects.filter(assembled_into=None).count() == 0


def test_parts_too_old_are_stored_with_a_marker(modem_sim, modem_card, settings):
    modem_sim.deliver_long("+447911123001", "x" * 150 + "y" * 150 + "z" * 10, ref=4, chunk=150, order=[1, 3])
    reading.read_in()
    assert InboundMessage.objects.count() == 0
    InboundPart.objects.update(first_seen_at=timezone.now() - timedelta(hours=settings.MODEMS_PART_MAX_AGE_HOURS + 1))
    summary = reading.read_in()
    assert summary.incomplete == 1
    (message,) = InboundMessage.objects.all()
    assert message.content == "x" * 150 + reading.MISSING_PART + "z" * 10
    assert message.raw["missing"] == [2]


def test_unreadable_text_stays_on_the_sim(modem_sim, modem_card):
    modem_sim.storage[4] = (0, "0791FFFF")
    modem_sim.deliver("+447911123001", "fine")
    summary = reading.read_in()
    assert summary.unreadable == 1 and summary.stored == 1
    assert list(modem_sim.storage) == [4]


def test_full_sim_is_emptied_so_new_texts_can_arrive(modem_sim, modem_card):
    modem_sim.capacity = 3
    for i in range(4):
        modem_sim.deliver(f"+44791112300{i}", f"text {i}")
    assert modem_sim.rejected_while_full == 1
    assert reading.read_in().stored == 3
    assert modem_sim.deliver("+447911123009", "after") > 0


def test_texts_we_stored_ourselves_are_left_alone(modem_sim, modem_card):
    modem_sim.deliver("+447911123001", "a draft", status=2)
    summary = reading.read_in()
    assert summary.listed == 0 and len(modem_sim.storage) == 1


def test_inactive_and_gateway_sims_are_not_read(modem_sim, modem_card):
    modem_card.active = False
    modem_card.save()
    create_sim()
    modem_sim.deliver("+447911123001", "hi")
    assert reading.read_in().sims == 0 and len(modem_sim.storage) == 1


def test_one_broken_modem_does_not_stop_the_others(modem_sim, modem_card):
    create_sim(device="/dev/ttyGONE")
    modem_sim.deliver("+447911123001", "hi")
    summary = reading.read_in()
    assert summary.sims == 2 and summary.stored == 1 and len(summary.errors) == 1


def test_a_successful_read_clears_its_own_last_error_and_keeps_modem_status_outcome(modem_sim, modem_card):
    modem_card.record_read(error="Lost the modem")
    modem_card.record_status(error="AT+CSQ: no answer")
    reading.read_in()
    modem_card.refresh_from_db()
    assert modem_card.read_error == "" and modem_card.last_read_at
    # modem_status's outcome is its own: a read does not wipe what the last check found.
    assert modem_card.status_error == "AT+CSQ: no answer" and modem_card.status_checked_at


def test_an_over_long_text_is_stored_marked_and_its_page_says_so(modem_sim, modem_card, staff_client):
    index = modem_sim.deliver("+447911123001", "x")
    modem_sim.storage[index] = (0, pdu.encode_deliver("+447911123001", "b" * 200))
    assert reading.read_in().stored == 1
    (message,) = InboundMessage.objects.all()
    assert message.content == "b" * 200 and message.raw["decode_problems"]
    page = staff_client.get(message.get_absolute_url()).content.decode()
    assert 'id="decode-problems"' in page and "200 GSM-7 characters" in page
    assert modem_sim.storage == {}
