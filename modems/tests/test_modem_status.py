import pytest
from django.core.management import call_command

from modems.testing import create_sim

pytestmark = pytest.mark.django_db


def test_modem_status_prints_and_stores_signal_and_registration(modem_sim, capsys):
    sim = create_sim(device=modem_sim.port, name="Shop dongle")
    broken = create_sim(device="/dev/ttyGONE", name="Unplugged")
    modem_sim.rssi, modem_sim.creg = 12, 5
    call_command("modem_status")
    output = capsys.readouterr().out
    assert "Shop dongle" in output and "-89 dBm" in output and "registered, roaming" in output
    assert "Unplugged" in output and "ERROR" in output
    assert output.strip().endswith("2 modem(s) checked: 1 ready, 1 with problems")
    sim.refresh_from_db()
    broken.refresh_from_db()
    assert (sim.signal_rssi, sim.registration, sim.sim_status, sim.status_error) == (12, 5, "READY", "")
    assert sim.signal_bars == 2 and sim.status_checked_at
    assert "Cannot open modem" in broken.status_error
