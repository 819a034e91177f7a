from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from modems.models import SimDayCount
from modems.routing import ALL_AT_LIMIT, NONE_ACTIVE, sim_router
from modems.testing import create_network, create_sim
from sms.backends import BackendError, locmem
from sms.dispatch import dispatch
from sms.models import OutboundMessage, State, StatusChange
from sms.routing import Deferral, Route
from sms.testing import create_message, run_concurrently

pytestmark = pytest.mark.django_db

VODAFONE_NUMBER = "+447775000001"  # 07775 is a Vodafone range in libphonenumber
O2_NUMBER = "+447710000001"  # 07710: O2


def today_count(sim) -> int:
    return SimDayCount.objects.get(sim=sim, date=timezone.localdate()).sent


def test_without_any_sim_the_default_backend_sends(outbox):
    create_message()
    assert dispatch().sent == 1
    assert OutboundMessage.objects.get().sim is None and outbox[0]


def test_text_goes_through_a_sim_and_is_counted(outbox):
    sim = create_sim(daily_limit=10)
    message = create_message(content="x" * 200)  # two parts
    assert dispatch().sent == 1
    message.refresh_from_db()
    assert message.sim == sim and message.sender == sim.number and message.backend == "locmem"
    assert today_count(sim) == 2


def test_recipient_network_is_preferred_then_least_used():
    vodafone = create_sim(network=create_network("Vodafone UK", carrier_names="Vodafone"), daily_limit=100)
    o2_a = create_sim(network=create_network("O2 UK", carrier_names="O2"), daily_limit=100)
    o2_b = create_sim(network=create_network("O2 UK"), daily_limit=100)
    messages = [create_message(VODAFONE_NUMBER), create_message(O2_NUMBER), create_message(O2_NUMBER)]
    routes = sim_router(messages)
    assert [r.sim_id for r in routes] == [vodafone.pk, o2_a.pk, o2_b.pk]


def test_higher_priority_first_on_the_same_network():
    create_sim(daily_limit=100, priority=0)
    high = create_sim(daily_limit=100, priority=5)
    assert {r.sim_id for r in sim_router([create_message(), create_message()])} == {high.pk}


def test_prefer_sim_is_honoured_while_it_has_allowance():
    create_sim(daily_limit=100, priority=9)
    first = create_sim(daily_limit=1)
    follow_up = create_message(extra_sender_data={"prefer_sim": first.pk})
    (route,) = sim_router([follow_up])
    assert route.sim_id == first.pk
    (route,) = sim_router([create_message(extra_sender_data={"prefer_sim": first.pk})])
    assert route.sim_id != first.pk  # spent: another SIM rather than waiting


def test_every_sim_at_its_limit_defers_until_tomorrow_and_staff_see_why(outbox):
    sim = create_sim(daily_limit=2)
    messages = [create_message(f"+44791112{i:04d}") for i in range(3)]
    summary = dispatch()
    assert (summary.sent, summary.deferred) == (2, 1)
    waiting = OutboundMessage.objects.get(state=State.WAITING)
    midnight = timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time.min))
    assert waiting.next_attempt_at == midnight
    assert waiting.error == ALL_AT_LIMIT
    assert StatusChange.objects.filter(message=waiting, note=ALL_AT_LIMIT).exists()
    assert waiting.number_of_send_attempts == 0  # waiting is not a failed attempt
    assert today_count(sim) == 2 and len(messages) == 3


def test_inactive_sims_only_defer_briefly_with_a_reason():
    create_sim(active=False)
    (decision,) = sim_router([create_message()])
    assert isinstance(decision, Deferral) and decision.reason == NONE_ACTIVE
    assert decision.until < timezone.now() + timedelta(hours=1)


def test_gateway_sim_with_unset_credentials_is_skipped(monkeypatch):
    create_sim(credentials_env={"api_key": "SIM_TEST_KEY"}, priority=5)
    other = create_sim()
    monkeypatch.delenv("SIM_TEST_KEY", raising=False)
    assert sim_router([create_message()])[0].sim_id == other.pk
    monkeypatch.setenv("SIM_TEST_KEY", "k")
    route = sim_router([create_message()])[0]
    assert route.sim_id != other.pk and route.backend.options == {"api_key": "k"}


def test_failed_texts_give_their_allowance_back(outbox):
    sim = create_sim(daily_limit=5)
    create_message(retry=False)
    create_message("+447911123002")
    locmem.fail_next.append(BackendError("rejected", permanent=True))
    summary = dispatch()
    assert (summary.sent, summary.failed) == (1, 1)
    assert today_count(sim) == 1


def test_texts_asking_for_a_backend_keep_it():
    create_sim()
    (route,) = sim_router([create_message(extra_sender_data={"backend": "console"})])
    assert isinstance(route, Route) and route.backend.slug == "console" and route.sim_id is None


def test_a_text_too_long_for_the_last_allowance_goes_elsewhere():
    small = create_sim(daily_limit=1, priority=5)
    big = create_sim(daily_limit=10)
    long_one, short = create_message(content="y" * 300), create_message()
    routes = sim_router([long_one, short])
    assert [r.sim_id for r in routes] == [big.pk, small.pk]


def test_concurrent_reservation_loser_moves_to_another_sim():
    a = create_sim(daily_limit=3, priority=5)
    b = create_sim(daily_limit=3)
    # Another dispatcher took two of A's three between our read and our reservation.
    day = timezone.localdate()
    SimDayCount.objects.ensure([a.pk], day)
    original = SimDayCount.objects.reserve
    stolen = []

    def racing_reserve(**kwargs):
        if not stolen:
            stolen.append(original(sim_id=a.pk, day=day, parts=2, limit=3))
        return original(**kwargs)

    SimDayCount.objects.reserve = racing_reserve
    try:
        routes = sim_router([create_message(), create_message(), create_message()])
    finally:
        del SimDayCount.objects.reserve
    assert stolen == [True]
    assert sorted(r.sim_id for r in routes) == sorted([a.pk, b.pk, b.pk])
    assert today_count(a) == 3 and today_count(b) == 2


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent dispatchers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_never_pass_a_sim_limit(outbox):
    sims = [create_sim(daily_limit=limit, number=f"+44770090000{i}") for i, limit in enumerate((7, 11, 5))]
    for i in range(40):
        create_message(f"+44791112{i:04d}", f"Hello {i}")
    run_concurrently(lambda: dispatch(batch_size=3), 6)
    sent = OutboundMessage.objects.filter(state=State.SENT)
    assert sent.count() == 23 == len(outbox)
    assert len({m["pk"] for m in outbox}) == 23  # nothing sent twice
    for sim in sims:
        through = sent.filter(sim=sim).count()
        assert today_count(sim) == through == sim.daily_limit
    assert OutboundMessage.objects.filter(state=State.WAITING, error=ALL_AT_LIMIT).count() == 17
