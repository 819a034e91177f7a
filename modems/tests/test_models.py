from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from modems.models import SimCard, SimDayCount
from modems.testing import create_network, create_sim

pytestmark = pytest.mark.django_db


def test_reservation_never_passes_the_limit_and_release_gives_back():
    sim = create_sim(daily_limit=5)
    day = timezone.localdate()
    SimDayCount.objects.ensure([sim.pk], day)
    SimDayCount.objects.ensure([sim.pk], day)  # idempotent
    assert SimDayCount.objects.reserve(sim_id=sim.pk, day=day, parts=3, limit=5)
    assert not SimDayCount.objects.reserve(sim_id=sim.pk, day=day, parts=3, limit=5)
    assert SimDayCount.objects.reserve(sim_id=sim.pk, day=day, parts=2, limit=5)
    assert not SimDayCount.objects.reserve(sim_id=sim.pk, day=day, parts=1, limit=5)
    SimDayCount.objects.release(sim_id=sim.pk, day=day, parts=4)
    SimDayCount.objects.release(sim_id=sim.pk, day=day, parts=4)  # never below zero
    assert sim.sent_today() == 1


def test_daily_counts_fill_missing_days_with_zero():
    sim = create_sim()
    today = timezone.localdate()
    SimDayCount.objects.create(sim=sim, date=today, sent=4)
    SimDayCount.objects.create(sim=sim, date=today - timedelta(days=2), sent=7)
    SimDayCount.objects.create(sim=sim, date=today - timedelta(days=40), sent=9)
    counts = sim.daily_counts(days=30)
    assert len(counts) == 30 and counts[-1] == (today, 4) and counts[-3] == (today - timedelta(days=2), 7)
    assert sum(n for _, n in counts) == 11


def test_with_today_annotates_zero_without_a_row():
    create_sim(name="a")
    assert SimCard.objects.with_today().get().sent_today == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"device": "/dev/ttyUSB0", "backend": "locmem"}, "not both"),
        ({"device": "", "backend": ""}, "not both"),
        ({"backend": "nope"}, "Unknown backend"),
        ({"backend": "locmem", "credentials_env": {"key": "DATABASE_URL"}}, "start with SIM_"),
        ({"backend": "locmem", "credentials_env": {"Bad Option": "SIM_X"}}, "not an option name"),
    ],
)
def test_model_validation(fields, message):
    sim = SimCard(network=create_network(), **fields)
    with pytest.raises(ValidationError, match=message):
        sim.clean()


def test_credentials_are_read_from_the_environment_when_needed(monkeypatch):
    sim = create_sim(credentials_env={"api_key": "SIM_K", "user": "SIM_U"})
    monkeypatch.setenv("SIM_K", "secret")
    monkeypatch.delenv("SIM_U", raising=False)
    assert sim.credentials() == {"api_key": "secret", "user": ""}
    assert sim.missing_credentials() == ["SIM_U"]


@pytest.mark.parametrize(
    ("rssi", "bars", "dbm"), [(None, 0, None), (1, 0, -111), (9, 1, -95), (14, 2, -85), (19, 3, -75), (31, 4, -51)]
)
def test_signal_bars_and_dbm(rssi, bars, dbm):
    sim = SimCard(signal_rssi=rssi)
    assert (sim.signal_bars, sim.signal_dbm) == (bars, dbm)


def test_network_matches_carrier_names_case_insensitively():
    network = create_network("Vodafone UK", carrier_names="Vodafone, Lebara")
    assert network.matches_carrier("VODAFONE") and network.matches_carrier("lebara")
    assert (
        network.matches_carrier("vodafone uk") and not network.matches_carrier("") and not network.matches_carrier("O2")
    )
