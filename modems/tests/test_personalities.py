"""Modems as real modems answer: the simulator plays six makes (``PERSONALITIES``: two Huawei
sticks, a ZTE stick, a Wavecom industrial modem, a Nokia phone, a Qualcomm chipset) and the
real driver, ``modem_status``, ``send_queued`` and ``read_in`` must work with every one."""

import pytest
from django.core.management import call_command

from modems import reading
from modems.driver import CommandError, Modem, PinRefused, SimNotReady
from modems.simulator import PERSONALITIES, ModemSimulator, Personality
from modems.testing import create_sim
from sms.dispatch import dispatch
from sms.models import InboundMessage, OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db

NAMES = sorted(PERSONALITIES)


@pytest.fixture(params=NAMES)
def real_modem(request):
    with ModemSimulator(personality=request.param) as sim:
        yield sim


def test_modem_status_records_state_signal_registration_and_identity_on_every_make(real_modem, capsys, staff_client):
    who = real_modem.personality
    sim = create_sim(device=real_modem.port, name=who.name)
    call_command("modem_status")
    output = capsys.readouterr().out
    assert output.strip().endswith("1 modem(s) checked: 1 ready, 0 with problems"), output
    assert f"IMEI {who.imei}" in output
    sim.refresh_from_db()
    assert sim.status_error == "" and sim.sim_status == "READY"
    assert (sim.signal_rssi, sim.registration) == (21, 1)
    assert sim.operator == ("" if who.cops_bare else "Simulated Mobile")
    assert sim.imei == who.imei and sim.imsi == who.imsi
    assert sim.manufacturer == who.manufacturer
    # Wavecom has no AT+CGMM: its model comes from ATI's second line.
    assert sim.modem_model == who.model
    assert sim.firmware == (who.firmware if "AT+CGMR" not in who.unsupported else "")
    page = staff_client.get(sim.get_absolute_url()).content.decode()
    for shown in (who.manufacturer, who.imei, who.imsi, "registered, home network", "-71 dBm", "ready"):
        assert shown in page, shown


def test_texts_go_out_and_come_in_on_every_make(real_modem):
    create_sim(device=real_modem.port, number="+447700900555", daily_limit=50)
    texts = {
        "+447911123001": "Your parcel is at the depot",
        "+447911123002": "Merci beaucoup 😊 à bientôt",  # UCS-2 with an emoji
        "+447911123003": "Long text " * 30,  # 300 characters: two parts
    }
    for number, text in texts.items():
        create_message(number, text)
    assert dispatch().sent == 3
    assert sorted(real_modem.sent_texts()) == sorted(texts.items())
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {State.SENT}

    real_modem.deliver("+447911123001", "Thanks, see you")
    real_modem.deliver("+447911123002", "STOP")
    summary = reading.read_in()
    assert (summary.stored, summary.deleted, summary.errors) == (2, 2, [])
    assert real_modem.storage == {}
    assert set(InboundMessage.objects.values_list("content", flat=True)) == {"Thanks, see you", "STOP"}
    assert reading.read_in().stored == 0


def test_a_bare_ok_to_cops_leaves_the_operator_empty_and_the_rest_recorded(modem_sim):
    modem_sim.personality = Personality(cops_bare=True)
    sim = create_sim(device=modem_sim.port)
    assert reading.check_status(sim=sim) is not None
    sim.refresh_from_db()
    assert sim.status_error == "" and sim.operator == "" and sim.signal_rssi == 21


def test_wavecom_cpin_answer_without_ok_is_complete_and_the_next_command_gets_its_own_answer():
    with ModemSimulator(personality="wavecom") as sim, Modem(sim.port, timeout=1.0) as modem:
        modem.initialise()
        assert modem.sim_status() == "READY"
        assert modem.signal() == 21  # not confused by a late final code of the previous command
        modem.require_sim()


@pytest.mark.parametrize("line_end", ["\r\n", "\r"])
@pytest.mark.parametrize("sticky_echo", [False, True])
def test_echo_and_line_endings_do_not_matter(line_end, sticky_echo):
    personality = Personality(line_end=line_end, sticky_echo=sticky_echo, urcs=("^RSSI:9", '+CMTI: "SM",2'))
    with ModemSimulator(personality=personality) as sim, Modem(sim.port, timeout=1.0) as modem:
        sim.deliver("+447911123001", "one")
        sim.deliver("+447911123002", "two")
        modem.initialise()
        texts, problems = modem.list_texts()
        assert problems == [] and [t.index for t in texts] == [1, 2]
        assert modem.registration() == 1 and modem.operator() == "Simulated Mobile"


def test_cme_errors_are_described():
    assert str(CommandError("AT+CMGL=4", "CME", 11)) == "AT+CMGL=4: +CME ERROR 11 (SIM PIN required)"
    assert "incorrect password" in str(CommandError("AT+CPIN", "CME", 16))


@pytest.mark.parametrize("personality", ["generic", "zte-mf190"])
def test_a_sim_wanting_its_pin_says_so_on_the_sim_page(personality, staff_client):
    who = PERSONALITIES.get(personality, Personality())
    with ModemSimulator(personality=who, sim_status="SIM PIN") as modem_sim:
        sim = create_sim(device=modem_sim.port)
        summary = reading.check_all()
        sim.refresh_from_db()
        assert summary.ok == 0 and sim.sim_status == "SIM PIN"
        assert sim.status_error == "SIM not ready: SIM PIN required"
        page = staff_client.get(sim.get_absolute_url()).content.decode()
        assert "SIM PIN required" in page
        read = reading.read_in()
        assert read.errors and "SIM PIN required" in read.errors[0]
        assert modem_sim.wrong_pins == 0, "no PIN configured: none is guessed"


def test_a_pin_from_the_environment_unlocks_the_sim_and_is_never_stored(monkeypatch, modem_sim):
    monkeypatch.setenv("SIM_SHOP_PIN", "4321")
    modem_sim.sim_status, modem_sim.pin = "SIM PIN", "4321"
    modem_sim.deliver("+447911123001", "hello")
    sim = create_sim(device=modem_sim.port, pin_env="SIM_SHOP_PIN")
    assert reading.read_in().stored == 1
    assert modem_sim.sim_status == "READY" and 'AT+CPIN="4321"' in modem_sim.commands
    from modems.models import SimCard

    stored = [str(value) for value in SimCard.objects.filter(pk=sim.pk).values().first().values()]
    assert not any("4321" in value for value in stored)


def test_a_refused_pin_is_tried_once_and_never_again_until_staff_save_the_sim(monkeypatch, modem_sim, staff_client):
    monkeypatch.setenv("SIM_SHOP_PIN", "0000")
    modem_sim.sim_status, modem_sim.pin = "SIM PIN", "4321"
    sim = create_sim(device=modem_sim.port, pin_env="SIM_SHOP_PIN")
    reading.read_in()
    reading.read_in()
    reading.check_all()
    create_message("+447911123001", "hi")
    dispatch()
    assert modem_sim.wrong_pins == 1, "a wrong PIN is entered once: three would block the SIM"
    sim.refresh_from_db()
    assert sim.pin_refused and "the PIN in SIM_SHOP_PIN was refused; not tried again" in sim.read_error
    assert "refused the PIN" in staff_client.get(sim.get_absolute_url()).content.decode()
    with Modem(modem_sim.port, timeout=1.0) as modem, pytest.raises(PinRefused):
        modem.initialise()
        modem.require_sim(pin="0000")


def test_require_sim_without_pin_is_a_clear_error(modem_sim):
    modem_sim.sim_status = "SIM PUK"
    with Modem(modem_sim.port, timeout=1.0) as modem, pytest.raises(SimNotReady, match="SIM PUK required"):
        modem.initialise()
        modem.require_sim(pin="1234")


def test_read_in_after_a_failed_modem_status_keeps_both_outcomes(modem_sim, staff_client):
    sim = create_sim(device=modem_sim.port)
    modem_sim.faults.silent_on = "AT+CPIN?"
    reading.check_all()
    modem_sim.faults.silent_on = ""
    modem_sim.deliver("+447911123001", "hi")
    assert reading.read_in().stored == 1
    sim.refresh_from_db()
    assert "AT+CPIN?: no answer" in sim.status_error, "modem_status's outcome is kept"
    assert sim.read_error == "" and sim.last_read_at and sim.status_checked_at
    page = staff_client.get(sim.get_absolute_url()).content.decode()
    assert 'id="read-outcome"' in page and 'id="modem-status"' in page


def test_the_pin_variable_is_validated_like_credential_variables(staff_client):
    from modems.testing import create_network

    network = create_network()
    data = {"name": "Dongle", "network": network.pk, "kind": "modem", "device": "/dev/ttyUSB2",
            "pin_env": "SECRET_KEY", "daily_limit": 100, "priority": 0, "active": "on"}  # fmt: skip
    response = staff_client.post("/modems/sims/new/", data)
    assert response.status_code == 200 and "start with SIM_" in response.content.decode()
    data["pin_env"] = "SIM_DONGLE_PIN"
    assert staff_client.post("/modems/sims/new/", data).status_code == 302
