"""The roll-ups stay exact however texts change: a recount of the texts always agrees."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from modems.models import Network, SimCard
from sms import rollups
from sms.dispatch import dispatch
from sms.models import InboundMessage, OutboundMessage, State
from sms.testing import create_inbound, create_message, run_concurrently

STATES = [s.value for s in State]


def _sims():
    network = Network.objects.create(name="Net")
    return [
        SimCard.objects.create(network=network, name=f"S{i}", backend="locmem", daily_limit=10_000) for i in range(3)
    ]


def _random_changes(rng, sims, n=60):
    """Every kind of write the app makes: queueing, set_state, bulk UPDATEs, dispatch, deletes."""
    now = timezone.now()
    messages = [
        create_message(f"+4479111230{i:02d}", "Hello ’" if i % 3 == 0 else "Hello", tag=rng.choice(["a", "b", ""]))
        for i in range(n)
    ]
    for message in rng.sample(messages, n // 3):
        message.refresh_from_db()
        message.set_state(rng.choice(STATES), sim=rng.choice([*sims, None]))
    pks = [m.pk for m in rng.sample(messages, n // 3)]
    OutboundMessage.objects.filter(pk__in=pks).update(state=rng.choice(STATES), created_at=now - timedelta(days=2))
    OutboundMessage.objects.filter(pk__in=pks[:5]).refuse("test")
    dispatch()
    OutboundMessage.objects.filter(pk__in=[m.pk for m in messages[:3]]).delete()
    for i in range(10):
        create_inbound(f"+4479111230{i:02d}", "Thanks", in_reply_to=rng.choice(messages[3:]), sim=rng.choice(sims))
    InboundMessage.objects.filter(pk__in=InboundMessage.objects.values_list("pk", flat=True)[:3]).update(
        received_at=now - timedelta(hours=5)
    )


@pytest.mark.django_db
def test_rollup_agrees_with_a_recount_after_random_changes():
    rng = random.Random(12)
    sims = _sims()
    _random_changes(rng, sims)
    assert not any(rollups.drift().values())
    rollups.compact()
    assert not any(rollups.drift().values())
    assert rollups.OutboundCountDelta.objects.count() == 0
    _random_changes(rng, sims)  # deltas on top of compacted counts
    assert not any(rollups.drift().values())


@pytest.mark.django_db
def test_counts_by_day_and_state_match_hand_counted_texts():
    a = create_message("+447911123001", "Hi")
    b = create_message("+447911123002", "Hi")
    create_message("+447911123003", "Olá ’")  # UCS-2
    a.set_state(State.SENT)
    a.set_state(State.DELIVERED)
    b.set_state(State.ERROR)
    rows = rollups.outbound_counts(by=("state", "encoding"), first=timezone.localdate())
    assert rows == {
        ("delivered", "gsm7"): {"n": 1, "segments": 1},
        ("error", "gsm7"): {"n": 1, "segments": 1},
        ("waiting", "ucs2"): {"n": 1, "segments": 1},
    }
    assert rollups.totals(rollups.outbound_counts(by=("day",))) == {timezone.localdate(): 3}


@pytest.mark.django_db
def test_repair_fixes_a_roll_up_that_was_tampered_with():
    create_message()
    rollups.compact()
    rollups.OutboundCount.objects.update(n=5)
    assert len(rollups.drift()["outbound"]) == 1
    assert rollups.repair() == 1
    assert not any(rollups.drift().values())
    assert rollups.totals(rollups.outbound_counts(by=("state",))) == {"waiting": 1}


@pytest.mark.django_db
def test_a_rolled_back_change_is_not_counted():
    from django.db import transaction

    message = create_message()
    with pytest.raises(RuntimeError), transaction.atomic():
        message.set_state(State.SENT)
        raise RuntimeError
    assert rollups.totals(rollups.outbound_counts(by=("state",))) == {"waiting": 1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rollup_stays_exact_under_concurrent_changes_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    sims = _sims()
    messages = [create_message(f"+4479111231{i:02d}", "Hello") for i in range(120)]
    pks = [m.pk for m in messages]
    lock = threading.Lock()
    seeds = iter(range(100))

    def worker():
        with lock:
            rng = random.Random(next(seeds))
        for _ in range(15):
            chosen = rng.sample(pks, 8)
            OutboundMessage.objects.filter(pk__in=chosen).update(
                state=rng.choice(STATES), sim_id=rng.choice([s.pk for s in sims])
            )
            one = OutboundMessage.objects.filter(pk=rng.choice(pks)).first()
            one.set_state(rng.choice(STATES))
            if rng.random() < 0.3:
                rollups.compact()
        return True

    assert run_concurrently(worker, 6) == [True] * 6
    assert not any(rollups.drift().values())
    rollups.compact()
    assert not any(rollups.drift().values())
    assert sum(rollups.totals(rollups.outbound_counts(by=("state",))).values()) == 120


@pytest.mark.django_db
def test_compact_rollups_command_folds_and_repairs():
    from io import StringIO

    from django.core.management import call_command

    create_message()
    rollups.OutboundCount.objects.create(day=timezone.localdate(), state="sent", encoding="gsm7", n=3)
    out = StringIO()
    call_command("compact_rollups", "--repair", stdout=out)
    assert "2 delta rows folded, 1 keys corrected" in out.getvalue()
    assert rollups.OutboundCountDelta.objects.count() == 0
    assert rollups.totals(rollups.outbound_counts(by=("state",))) == {"waiting": 1}


@pytest.mark.django_db
def test_a_text_counts_on_its_local_day_and_a_new_zone_is_recounted():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    message = create_message()
    late = datetime(2026, 7, 1, 23, 30, tzinfo=london)  # 22:30 UTC, still 1 July in London
    OutboundMessage.objects.filter(pk=message.pk).update(created_at=late)
    days = rollups.totals(rollups.outbound_counts(by=("day",)))
    assert days == {late.date(): 1}
    assert rollups.set_zone("Asia/Tokyo") is True  # 07:30 on 2 July there
    rollups.repair()
    assert rollups.totals(rollups.outbound_counts(by=("day",))) == {late.date() + timedelta(days=1): 1}
    assert not any(rollups.drift().values())


@pytest.mark.django_db
def test_a_changed_time_zone_is_reported_until_the_roll_ups_are_recounted(settings):
    from io import StringIO

    from django.core.management import call_command

    from sms.checks import rollup_zone

    assert rollup_zone(None, databases=["default"]) == []
    settings.TIME_ZONE = "America/New_York"
    assert [w.id for w in rollup_zone(None, databases=["default"])] == ["sms.W001"]
    call_command("compact_rollups", "--repair", stdout=StringIO())
    assert rollup_zone(None, databases=["default"]) == [] and rollups.zone() == "America/New_York"


@pytest.mark.django_db
def test_a_missing_zone_row_never_stops_a_text_from_being_stored():
    rollups.RollupZone.objects.all().delete()
    create_message()  # counted in UTC meanwhile; compact_rollups --repair restores the zone
    assert sum(rollups.totals(rollups.outbound_counts(by=("state",))).values()) == 1
    assert not any(rollups.drift().values())


@pytest.mark.django_db
def test_every_roll_up_trigger_survives_the_migrations():
    """A migration that rebuilds a table (SQLite's way of most ALTERs) drops its triggers
    without a word, and the roll-ups would silently stop counting."""
    expected = {
        f"{name}_{op}"
        for name, ops in (
            ("sms_outbound_rollup", ("ins", "upd", "del")),
            ("sms_inbound_rollup", ("ins", "upd", "del")),
            ("replies_reply_rollup", ("ins", "upd", "del")),
            ("replies_text_rollup", ("upd", "del")),
        )
        for op in ops
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        found = {row[0] for row in cursor.fetchall()}
    assert expected <= found
    message = create_message("+447911123999", "Hello")  # and they count
    assert rollups.totals(rollups.outbound_counts(by=("state",))) == {"waiting": 1}
    message.set_state(State.SENT)
    assert rollups.totals(rollups.outbound_counts(by=("state",))) == {"sent": 1}
