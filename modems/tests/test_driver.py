"""The real AT driver against the simulator on a pseudo-terminal."""

import os
import time

import pytest
import serial

from modems import pdu
from modems.driver import (
    CommandError,
    Modem,
    ModemDisconnected,
    ModemTimeout,
    ModemUnavailable,
    SendAmbiguous,
    SendPartial,
    SimNotReady,
)


@pytest.fixture
def modem(modem_sim):
    with Modem(modem_sim.port, timeout=1.0, send_timeout=1.0, prompt_timeout=0.5) as connection:
        connection.initialise()
        yield connection


def test_initialise_turns_echo_off_and_selects_pdu_mode(modem, modem_sim):
    assert modem_sim.commands[-5:] == ["ATE0", "ATV1", "AT+CMEE=1", "AT+CMGF=0", "AT+CNMI=2,1,0,0,0"]
    assert modem_sim.echo is False and modem_sim.pdu_mode is True


def test_status_reads_sim_signal_registration_operator_and_storage(modem, modem_sim):
    modem_sim.deliver("+447700900123", "hi")
    status = modem.status()
    assert (status.sim, status.signal_rssi, status.signal_dbm, status.registration) == ("READY", 21, -71, 1)
    assert status.registered and status.operator == "Simulated Mobile"
    assert (status.storage_used, status.storage_total) == (1, 30)


def test_unknown_signal_is_none(modem, modem_sim):
    modem_sim.rssi = 99
    assert modem.signal() is None


def test_sim_pin_required_is_a_clear_error(modem, modem_sim):
    modem_sim.sim_status = "SIM PIN"
    with pytest.raises(SimNotReady, match="SIM PIN"):
        modem.require_sim()


def test_send_long_text_goes_out_as_concatenated_parts(modem, modem_sim):
    text = "Your appointment is confirmed. " * 8
    refs = modem.send_text("+447700900123", text, reference=42)
    assert len(refs) == 2 == len(modem_sim.network)
    assert {item.concat.ref for item in modem_sim.network} == {42}
    assert modem_sim.sent_texts() == [("+447700900123", text)]


def test_non_gsm_text_is_sent_as_ucs2(modem, modem_sim):
    modem.send_text("+48600100200", "Dziękujemy! 🎉")
    assert modem_sim.network[0].dcs == pdu.DCS_UCS2
    assert modem_sim.sent_texts() == [("+48600100200", "Dziękujemy! 🎉")]


def test_cms_error_after_the_pdu_means_not_sent(modem, modem_sim):
    modem_sim.faults.send_errors = [500]
    with pytest.raises(CommandError) as caught:
        modem.send_text("+447700900123", "hello")
    assert caught.value.code == 500 and caught.value.retryable and "unknown error" in str(caught.value)
    assert modem_sim.network == []
    modem.send_text("+447700900123", "hello")  # the modem is usable afterwards
    assert len(modem_sim.network) == 1


def test_unassigned_number_is_permanent(modem, modem_sim):
    modem_sim.faults.send_errors = [1]
    with pytest.raises(CommandError) as caught:
        modem.send_text("+447700900123", "hello")
    assert not caught.value.retryable


def test_no_prompt_times_out_as_not_sent_and_cancels_with_escape(modem, modem_sim):
    modem_sim.faults.no_prompt = True
    with pytest.raises(ModemTimeout, match="never asked for the text"):
        modem.send_text("+447700900123", "hello")
    assert modem_sim.network == []


def test_silence_after_the_pdu_is_ambiguous(modem, modem_sim):
    modem_sim.faults.send_errors = []
    modem_sim.faults.drop_after_submit = None
    modem_sim.faults.delay = 0
    # The network takes the PDU but the answer never comes back.
    original = modem_sim._answer

    def swallow_cmgs(*lines, final="OK"):
        if lines and str(lines[0]).startswith("+CMGS"):
            return None
        return original(*lines, final=final)

    modem_sim._answer = swallow_cmgs
    with pytest.raises(SendAmbiguous, match="may have been sent"):
        modem.send_text("+447700900123", "hello")
    assert len(modem_sim.network) == 1


def test_unplugged_after_the_pdu_is_ambiguous(modem, modem_sim):
    modem_sim.faults.drop_after_submit = 1
    with pytest.raises(SendAmbiguous) as caught:
        modem.send_text("+447700900123", "hello")
    assert isinstance(caught.value.__cause__, ModemDisconnected)
    assert len(modem_sim.network) == 1


def test_second_part_failing_is_partial_not_retryable(modem, modem_sim):
    modem_sim.faults.send_errors = [None, 42]
    with pytest.raises(SendPartial) as caught:
        modem.send_text("+447700900123", "x" * 200)
    assert len(caught.value.sent_refs) == 1 and not caught.value.retryable


def test_unplugged_mid_listing_raises_disconnected(modem, modem_sim):
    modem_sim.deliver("+447700900123", "hi")
    modem_sim.faults.drop_on = "AT+CMGL"
    with pytest.raises(ModemDisconnected):
        modem.list_texts()
    assert len(modem_sim.storage) == 1


def test_garbage_before_answers_is_ignored(modem, modem_sim):
    modem_sim.faults.garbage = b"\xff\x00~~\xfe noise\r\n"
    modem_sim.deliver("+447700900123", "still readable")
    texts, problems = modem.list_texts()
    assert problems == [] or all("unexpected line" in p for p in problems)
    assert [pdu.decode(t.pdu).text for t in texts] == ["still readable"]
    assert modem.signal() == 21


def test_slow_answers_within_the_timeout_are_fine_beyond_it_time_out(modem, modem_sim):
    modem_sim.faults.delay = 0.3
    assert modem.signal() == 21
    modem_sim.faults.delay = 1.5
    started = time.monotonic()
    with pytest.raises(ModemTimeout, match="AT\\+CSQ"):
        modem.signal()
    assert time.monotonic() - started < 1.5


def test_late_answer_of_a_timed_out_command_is_not_taken_for_the_next(modem, modem_sim):
    modem_sim.faults.delay = 1.2
    with pytest.raises(ModemTimeout):
        modem.signal()
    modem_sim.faults.delay = 0
    time.sleep(0.3)
    assert modem.registration() == 1


def test_unreadable_listing_entries_are_reported_and_others_kept(modem, modem_sim):
    modem_sim.deliver("+447700900123", "good")
    modem_sim.storage[5] = (0, "NOT-HEX-AT-ALL")
    texts, problems = modem.list_texts()
    assert [t.index for t in texts] == [1]
    assert problems == ["entry 5: PDU is not hex"]


def test_cms_error_codes_from_any_command(modem, modem_sim):
    modem_sim.faults.errors = {"AT+CMGL": 322}
    with pytest.raises(CommandError) as caught:
        modem.list_texts()
    assert caught.value.memory_full and "SIM memory full" in str(caught.value)


def test_full_sim_memory_rejects_new_texts_until_emptied(modem_sim):
    modem_sim.capacity = 2
    assert modem_sim.deliver("+447700900123", "1") == 1
    assert modem_sim.deliver("+447700900123", "2") == 2
    assert modem_sim.deliver("+447700900123", "3") == -1
    assert modem_sim.rejected_while_full == 1


def test_read_and_delete_one_text(modem, modem_sim):
    index = modem_sim.deliver("+447700900123", "one")
    assert pdu.decode(modem.read_text(index).pdu).text == "one"
    modem.delete(index)
    assert modem_sim.storage == {}
    with pytest.raises(CommandError) as caught:
        modem.delete(index)
    assert caught.value.code == 321


def test_text_mode_listing_of_the_simulator(modem_sim):
    modem_sim.deliver("+447700900123", "plain words")
    with Modem(modem_sim.port, timeout=1.0) as raw:
        raw.command("ATE0")
        raw.command("AT+CMGF=1")
        lines = raw.command('AT+CMGL="ALL"')
    assert lines[0].startswith('+CMGL: 1,"REC UNREAD","+447700900123"') and lines[1] == "plain words"


def test_missing_device_is_unavailable():
    with pytest.raises(ModemUnavailable, match="/dev/ttyNOPE"):
        Modem("/dev/ttyNOPE").open()


def test_works_over_pyserial_loop_url_too():
    # loop:// echoes what we write: "AT" comes back as our own echo, then nothing: a time-out.
    with Modem("loop://", timeout=0.3) as looped, pytest.raises(ModemTimeout):
        looped.command("AT")


def test_closed_master_side_reads_as_disconnection(modem_sim):
    connection = Modem(modem_sim.port, timeout=1.0).open()
    connection.initialise()
    modem_sim.unplug()
    with pytest.raises(ModemDisconnected):
        connection.signal()
    connection.close()
    assert not os.path.exists("/nonexistent") and isinstance(serial.SerialException(), Exception)


def test_a_second_process_waits_for_the_port_then_reports_busy(modem_sim):
    from modems.driver import ModemBusy

    with Modem(modem_sim.port, timeout=1.0) as first:
        first.initialise()
        started = time.monotonic()
        with pytest.raises(ModemBusy, match="in use"):
            Modem(modem_sim.port, lock_wait=0.5).open()
        assert time.monotonic() - started >= 0.5
    with Modem(modem_sim.port, timeout=1.0) as again:  # released on close
        again.initialise()
