"""The inbound pipeline across apps: order, idempotency, and an opt-out racing a fan-out.

- a webhook retried after the process died half-way runs the whole pipeline once;
- a modem text read twice (its delete from the SIM failed) is stored and sorted once;
- a STOP arriving while a campaign is being fanned out: texts queued by a fan-out batch that
  read the opt-out list before the STOP committed are refused at dispatch.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from campaigns.fanout import SourceRow, fan_out
from campaigns.models import TAG_FIRST, Campaign
from campaigns.tests.conftest import make_template
from modems import reading
from modems.simulator import ModemSimulator
from modems.testing import create_sim
from replies.models import Reply
from replies.testing import ensure_reply_types
from sms.backends import InboundData
from sms.dispatch import dispatch
from sms.models import ConsentEvent, Contact, InboundMessage, OutboundMessage, State
from sms.queueing import build_message, queue_messages
from sms.receiving import store_inbound
from sms.testing import create_message

SECRET = "clickatell-hook-secret"
NUMBER = "+447911123456"
LINK = "sms.pipeline.link_conversation"
ROUTE = "keywords.pipeline.route"  # STOP first; replies.pipeline.process files it (deferred)
CRASH = "texting.tests.test_inbound_idempotency.crash_once"


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: nothing below gets to handle it."""


_crashes = {"left": 0}


def crash_once(message):
    if _crashes["left"] > 0:
        _crashes["left"] -= 1
        raise WorkerKilled


@pytest.fixture
def clickatell(settings):
    settings.CLICKATELL_API_ID = "3456789"
    settings.CLICKATELL_USER = "texting"
    settings.CLICKATELL_PASSWORD = "pa55"
    settings.CLICKATELL_WEBHOOK_SECRET = SECRET
    ensure_reply_types()


def stop_webhook(client, text="STOP"):
    query = {"moMsgId": "mo-1", "from": NUMBER[1:], "to": "447700900001", "text": text, "secret": SECRET}
    return client.get("/sms/inbound/clickatell/", query)


def confirmations():
    return OutboundMessage.objects.filter(confirms_opt_out__isnull=False)


@pytest.mark.django_db
@pytest.mark.parametrize("crash_at", [1, 2])  # between linking and routing; after routing
def test_a_webhook_retried_after_the_worker_died_mid_pipeline_runs_it_all_once(client, clickatell, settings, crash_at):
    steps = [LINK, ROUTE]
    settings.SMS_INBOUND_PIPELINE = [*steps[:crash_at], CRASH, *steps[crash_at:]]
    first = create_message(NUMBER, "Our offer")
    _crashes["left"] = 1
    with pytest.raises(WorkerKilled):
        stop_webhook(client)  # no answer: the gateway retries
    assert not InboundMessage.objects.exists()  # nothing half-done was kept
    assert stop_webhook(client).status_code == 200
    assert stop_webhook(client).status_code == 200  # and a duplicate retry changes nothing
    (inbound,) = InboundMessage.objects.all()
    assert inbound.in_reply_to == first
    reply = Reply.objects.get(message=inbound)
    assert reply.reply_type.slug == "end" and reply.source == "keyword"
    assert Contact.objects.get(number=NUMBER).is_opted_out
    assert ConsentEvent.objects.filter(number=NUMBER, kind="opt_out").count() == 1
    assert confirmations().count() == 1
    first.refresh_from_db()
    assert first.state == State.REFUSED  # the queued offer went with the opt-out


@pytest.mark.django_db
def test_a_failing_step_is_rolled_back_alone_and_the_text_kept(client, clickatell, settings):
    settings.SMS_INBOUND_PIPELINE = [LINK, "texting.tests.test_inbound_idempotency.half_done_step", ROUTE]
    assert stop_webhook(client).status_code == 200
    inbound = InboundMessage.objects.get()
    assert inbound.contact is not None and Reply.objects.filter(message=inbound).exists()
    assert not Contact.objects.filter(number="+447000000000").exists()  # the failed step's write
    assert Contact.objects.get(number=NUMBER).is_opted_out


def half_done_step(message):
    Contact.objects.create(number="+447000000000")
    raise RuntimeError("a bug after a write")


@pytest.mark.django_db
def test_a_modem_text_read_twice_is_stored_and_sorted_once(settings):
    settings.MODEMS_COMMAND_TIMEOUT = settings.MODEMS_SEND_TIMEOUT = 1.0
    ensure_reply_types()
    with ModemSimulator() as modem:
        sim = create_sim(device=modem.port, number="+447700900555")
        modem.deliver(NUMBER, "Stop")
        modem.faults.drop_on = "AT+CMGD"  # stored, then the modem is lost before the delete
        first = reading.read_in()
        assert first.stored == 1 and first.deleted == 0 and len(modem.storage) == 1
        with ModemSimulator() as replugged:
            replugged.storage = dict(modem.storage)
            sim.device = replugged.port
            sim.save()
            again = reading.read_in()
            assert (again.stored, again.duplicates, again.deleted) == (0, 1, 1) and replugged.storage == {}
    assert InboundMessage.objects.count() == 1 and Reply.objects.count() == 1
    assert ConsentEvent.objects.filter(number=NUMBER, kind="opt_out").count() == 1
    assert confirmations().count() == 1


# --- A STOP during a fan-out ------------------------------------------------------------------


@pytest.fixture
def campaign_settings(settings):
    settings.CAMPAIGNS_SENDING_HOURS = "00:00-00:00"
    settings.CAMPAIGNS_MAX_PER_DAY = settings.CAMPAIGNS_MAX_PER_WEEK = 0
    ensure_reply_types()


def stop_from(number):
    store_inbound("locmem", InboundData(sender=number, content="STOP", external_id=f"stop-{number}"))


@pytest.mark.django_db
def test_texts_queued_in_the_same_second_as_a_stop_are_refused_at_dispatch(campaign_settings, outbox):
    """The fan-out batch checked the opt-out list just before the STOP committed: its rows
    reach the table WAITING, in the same second as the opt-out, after the opt-out's own sweep
    of queued texts. The dispatcher checks again and refuses them."""
    make_template(body="Hi {name}")
    campaign = Campaign.objects.create(name="c")
    now = timezone.now()
    stop_from(NUMBER)
    opted_out_at = Contact.objects.get(number=NUMBER).opted_out_at
    # The batch as the fan-out built it before the STOP: already past its opt-out check.
    late = build_message(NUMBER, "Hi Ann", campaign_id=campaign.pk, tag=TAG_FIRST)
    late.created_at = late.changed_at = now
    OutboundMessage.objects.bulk_create([late])
    assert abs(opted_out_at - now) < timedelta(seconds=1)
    queue_messages([build_message("+447911123457", "Hi Bob", campaign_id=campaign.pk)])
    summary = dispatch()
    assert summary.refused == 1 and summary.sent == 2  # Bob, and the STOP's one confirmation
    late.refresh_from_db()
    assert late.state == State.REFUSED and "opted out" in late.error
    assert [m["to"] for m in outbox].count(NUMBER) == 1  # only the confirmation
    assert confirmations().get().state == State.SENT


@pytest.mark.django_db(transaction=True)
def test_a_stop_committed_while_a_fan_out_batch_is_open_is_refused_at_dispatch(campaign_settings, outbox):
    """Real interleaving on PostgreSQL: the fan-out's batch transaction has read the contacts
    and inserted its rows but not committed when another connection commits the STOP (whose
    sweep cannot see the uncommitted rows). Then the batch commits, and the dispatcher runs."""
    if connection.vendor != "postgresql":
        pytest.skip("two concurrent writers need PostgreSQL (SQLite serialises them)")
    make_template(body="Hi {name}")
    numbers = [f"+4479111234{i:02d}" for i in range(20)]
    Contact.objects.bulk_create([Contact(number=n, name=f"N{i}") for i, n in enumerate(numbers)])
    campaign = Campaign.objects.create(name="c")
    stopped = threading.Event()

    def stop_elsewhere():
        try:
            stop_from(numbers[7])
        finally:
            connection.close()
            stopped.set()

    with transaction.atomic():
        result = fan_out(campaign=campaign, rows=[SourceRow("Group A", n, f"N{i}") for i, n in enumerate(numbers)])
        assert result.queued == 20
        thread = threading.Thread(target=stop_elsewhere)
        thread.start()
        assert stopped.wait(20), "the STOP was blocked by the open fan-out batch"
        thread.join()
    assert Contact.objects.get(number=numbers[7]).is_opted_out
    assert OutboundMessage.objects.get(recipient=numbers[7], tag=TAG_FIRST).state == State.WAITING  # missed
    summary = dispatch()
    assert summary.refused == 1
    assert OutboundMessage.objects.get(recipient=numbers[7], tag=TAG_FIRST).state == State.REFUSED
    to_seven = [m for m in outbox if m["to"] == numbers[7]]
    assert len(to_seven) == 1 and "unsubscribed" in to_seven[0]["body"]  # the confirmation only
    assert len(outbox) == 20  # 19 campaign texts + 1 confirmation
