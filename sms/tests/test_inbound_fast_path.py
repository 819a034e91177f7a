"""Issue 11, the fast inbound path: the webhook authenticates, parses, stores once and answers.

With a broker, the request runs only the inline steps of the default pipeline (the link, the
STOP/START/HELP keywords) in at most 8 SQL queries (2 for a reply from a known contact); the classifier and auto-replies run after
the commit on a worker (``sms.tasks.process_inbound``). A STOP is still committed before the
gateway hears "OK", so no dispatch after it can send to that number.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from replies.models import Reply
from replies.testing import ensure_reply_types
from sms.models import Contact, InboundMessage, OutboundMessage, PipelineState, State
from sms.receiving import run_deferred
from sms.testing import create_message
from sms.tests.celery_workers import REDIS_URL, redis_or_skip

MAX_QUERIES = 8
SECRET = "fast-path-secret"
TWILIO_TOKEN = "fast-path-twilio-token-0123456789"


@pytest.fixture
def redis_broker(settings):
    """A real Redis broker with a queue of this test's own; yields a count of the
    ``process_inbound`` tasks waiting on it."""
    redis_or_skip()
    import redis
    from kombu import pools

    from texting.celery import app

    queue = f"texting-test-{uuid.uuid4().hex[:8]}"

    def forget():  # Celery caches queues, routes and pools built from the first configuration
        for name in ("queues", "default_queue", "default_exchange", "router", "routes", "_rtable"):
            app.amqp.__dict__.pop(name, None)
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    settings.CELERY_BROKER_URL = REDIS_URL
    app.conf.broker_url, app.conf.task_always_eager, app.conf.task_default_queue = REDIS_URL, False, queue
    forget()
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield lambda: sum(
            json.loads(raw)["headers"]["task"] == "sms.tasks.process_inbound" for raw in client.lrange(queue, 0, -1)
        )
    finally:
        client.delete(queue)
        app.conf.broker_url, app.conf.task_always_eager = None, True
        app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
        forget()


@pytest.fixture
def hooks(settings):
    settings.LOCMEM_WEBHOOK_SECRET = SECRET
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.SMS_PUBLIC_URL = ""
    ensure_reply_types()  # a transactional test's flush removed the seeded ones


def post_locmem(client, sender, text, gateway_id):
    return client.post(f"/sms/inbound/locmem/?secret={SECRET}", {"from": sender, "text": text, "id": gateway_id})


def post_twilio(client, sender, text, gateway_id):
    from twilio.request_validator import RequestValidator

    params = {"MessageSid": gateway_id, "From": sender, "To": "+447700900001", "Body": text, "NumMedia": "0"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature("http://testserver/sms/inbound/twilio/", params)
    return client.post(
        "/sms/inbound/twilio/",
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def counted(post, *args):
    with CaptureQueriesContext(connection) as queries:
        response = post(*args)
    return response, [q["sql"] for q in queries.captured_queries]


@pytest.mark.django_db(transaction=True)  # real BEGIN/COMMIT, as in production (no test savepoints)
@pytest.mark.parametrize("post", [post_locmem, post_twilio], ids=["locmem", "twilio"])
@pytest.mark.parametrize("known", [True, False], ids=["known-contact", "new-number"])
def test_an_inbound_text_costs_at_most_8_queries_and_the_rest_runs_on_a_worker(
    client, hooks, redis_broker, post, known, django_assert_max_num_queries
):
    number = "+447911123456"
    if known:
        create_message(number, "Are you coming on Saturday?", state=State.SENT)
    from keywords.routing import cache as keyword_cache

    keyword_cache.snapshot()  # a running process has its numbers and keywords in memory
    # A known contact (most replies): its row with the last text to it, then one INSERT in
    # autocommit. A new number: the whole inline pipeline in a transaction, still within 8.
    with django_assert_max_num_queries(2 if known else MAX_QUERIES):
        response = post(client, number, "Yes, see you there!", "SM" + "1" * 32)
    assert response.status_code == 200
    message = InboundMessage.objects.get()
    assert message.pipeline_state == PipelineState.QUEUED
    assert message.contact == Contact.objects.get(number=number)
    assert (message.in_reply_to is not None) == known
    assert not Reply.objects.filter(message=message).exists(), "the classifier must not run in the request"
    assert redis_broker() == 1, "one process_inbound task waits on the broker"
    # A duplicate delivery (the gateway's retry): the unique constraint refuses the row, the
    # stored one answers.
    with django_assert_max_num_queries(3):
        assert post(client, number, "Yes, see you there!", "SM" + "1" * 32).status_code == 200
    assert redis_broker() == 1
    # What the worker does with the task: sorted once.
    assert run_deferred(message.pk) is True and run_deferred(message.pk) is False
    message.refresh_from_db()
    assert message.pipeline_state == PipelineState.DONE
    assert Reply.objects.filter(message=message).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_stop_is_committed_in_the_request_before_any_worker_runs(client, hooks, redis_broker):
    campaign_text = create_message("+447911123456", "Big sale tomorrow!")
    response = post_locmem(client, "+447911123456", "STOP", "gw-stop")
    assert response.status_code == 200
    # Nothing deferred has run (the task waits on the broker), yet the opt-out stands.
    assert redis_broker() == 1
    assert Contact.objects.get(number="+447911123456").is_opted_out
    campaign_text.refresh_from_db()
    assert campaign_text.state == State.REFUSED
    message = InboundMessage.objects.get()
    assert message.routed_by == "stop" and message.pipeline_state == PipelineState.QUEUED
    from keywords.models import Dispatch

    assert Dispatch.objects.get(message=message).routed_by == "stop"  # the router's record, inline
    # The deferred step files it under "End" without acting again: one opt-out event, one confirmation.
    assert run_deferred(message.pk)
    reply = Reply.objects.get(message=message)
    assert reply.reply_type.slug == "end"
    assert Contact.objects.get(number="+447911123456").consent_events.count() == 1
    assert OutboundMessage.objects.filter(confirms_opt_out__isnull=False).count() == 1


def test_the_fast_path_falls_back_to_savepoints_when_a_step_raises(db, settings, caplog):
    """No savepoints on the fast path: a step that raises rolls the whole try back, and the text
    is stored again with each step in its own savepoint; the raising step is not called twice."""
    from sms.backends import InboundData
    from sms.receiving import store_inbound

    settings.SMS_INBOUND_PIPELINE = [
        "sms.pipeline.link_conversation",
        f"{__name__}.half_done_then_raises",
        f"{__name__}.counting_step",
    ]
    CALLS.clear()
    SEEN_PKS.clear()
    message, created = store_inbound("locmem", InboundData(sender="+447911123456", content="hi", external_id="x1"))
    assert created and message.pipeline_state == PipelineState.DONE
    assert CALLS == ["raises", "after"], "the step that raised ran once; the one after it ran"
    assert message.contact is not None, "the step before it ran again and its work is kept"
    assert not Contact.objects.filter(number="+440000000000").exists(), "the raising step's work is rolled back"
    assert InboundMessage.objects.count() == 1
    assert [message.pk] == SEEN_PKS, "the text keeps the id the raising step saw"
    assert "half_done_then_raises failed" in caplog.text


CALLS: list[str] = []
SEEN_PKS: list[int] = []


def half_done_then_raises(message):
    CALLS.append("raises")
    SEEN_PKS.append(message.pk)
    Contact.objects.create(number="+440000000000")
    raise RuntimeError("half-way")


def counting_step(message):
    CALLS.append("after")


# --- A STOP racing a dispatch (PostgreSQL, two real connections) -------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="two real concurrent connections need PostgreSQL")
@pytest.mark.parametrize("round_", range(3))
def test_a_stop_racing_a_dispatch_is_honoured_by_every_dispatch_after_it(hooks, redis_broker, outbox, round_):
    """One thread dispatches batch after batch; after its first batch has gone out, another
    posts STOP for a number with texts in every batch. Whatever the interleaving: every text to
    that number that left was claimed before the STOP was answered; every text claimed after it
    is refused, none is left waiting, and a dispatch after the answer sends it nothing."""
    import threading

    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from sms.dispatch import dispatch

    stopper = f"+4479111{round_:02d}000"
    for i in range(40):  # interleaved so every batch of 5 has texts to the stopper and to others
        create_message(stopper if i % 2 else f"+4479112{round_:02d}{i:03d}", f"Offer {i}")
    first_batch_out = threading.Event()
    answered: dict = {}
    errors: list[BaseException] = []

    def dispatcher():
        try:
            dispatch(batch_size=5, max_batches=1)
            first_batch_out.set()
            while dispatch(batch_size=5, max_batches=1).claimed:
                pass
        except BaseException as exc:
            errors.append(exc)
            first_batch_out.set()
        finally:
            connections.close_all()

    def stop():
        try:
            first_batch_out.wait(timeout=30)
            response = post_locmem(Client(), stopper, "STOP", f"stop-{round_}")
            answered["at"], answered["status"] = timezone.now(), response.status_code
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatcher), threading.Thread(target=stop)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and answered["status"] == 200
    texts = {m.pk: m for m in OutboundMessage.objects.filter(recipient=stopper, confirms_opt_out__isnull=True)}
    published = {entry["pk"] for entry in outbox if entry["pk"] in texts}  # the confirmation aside
    assert published, "the first batch went out before the STOP"
    for pk in published:
        assert texts[pk].claimed_at < answered["at"], "a text to the stopper left after the STOP was answered"
    for message in texts.values():
        assert message.state != State.WAITING
        if message.claimed_at and message.claimed_at > answered["at"]:
            assert message.state == State.REFUSED and message.pk not in published
        if message.state == State.REFUSED:
            assert message.pk not in published
    # A dispatch after the answer (the confirmation aside) sends the stopper nothing more.
    before = len(published)
    dispatch(batch_size=50)
    assert {e["pk"] for e in outbox if e["pk"] in texts} == published and len(published) == before
    assert OutboundMessage.objects.filter(recipient=stopper, confirms_opt_out__isnull=False).count() == 1
    assert Contact.objects.get(number=stopper).is_opted_out


# --- The request's statements against the indexes (PostgreSQL) ---------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans of PostgreSQL")
def test_every_statement_of_the_request_uses_an_index_on_big_tables(client, hooks, redis_broker):
    """bench/inbound.py EXPLAINs them at 1M rows; here 60,000 outbound texts to 6,000 people
    (ANALYZEd) are enough for the planner to show a missing index as a sequential scan."""
    from bench.fill import fill, number

    fill(outbound=60_000, inbound=6_000, numbers=6_000, progress=lambda _: None)
    from keywords.routing import cache as keyword_cache

    keyword_cache.snapshot()  # a running process has its numbers and keywords in memory
    response, statements = counted(post_twilio, client, number(42), "Yes please", "SM" + "4" * 32)
    assert response.status_code == 200 and len(statements) == 2
    plans = {}
    with connection.cursor() as cursor:
        for sql in statements:
            if sql.lstrip().upper().startswith("SELECT"):
                cursor.execute("EXPLAIN " + sql)
                plans[sql] = "\n".join(line for (line,) in cursor.fetchall())
    assert plans, statements
    for sql, plan in plans.items():
        assert "Seq Scan" not in plan, f"{sql}\n{plan}"
    assert any("sms_out_recipient_recent" in plan for plan in plans.values()), plans
    message = InboundMessage.objects.get(external_id="SM" + "4" * 32)
    assert message.in_reply_to.recipient == number(42)


@pytest.mark.django_db(transaction=True)
def test_the_link_is_to_the_last_text_sent_before_the_reply_not_after(client, hooks, redis_broker):
    from datetime import timedelta

    from django.utils import timezone

    from sms.backends import InboundData
    from sms.receiving import store_inbound

    now = timezone.now()
    before = create_message("+447911123456", "Earlier today", state=State.SENT)
    after = create_message("+447911123456", "Later today", state=State.SENT)
    OutboundMessage.objects.filter(pk=before.pk).update(created_at=now - timedelta(minutes=5))
    OutboundMessage.objects.filter(pk=after.pk).update(created_at=now + timedelta(minutes=5))
    refused = create_message("+447911123456", "Refused", state=State.REFUSED)
    OutboundMessage.objects.filter(pk=refused.pk).update(created_at=now - timedelta(minutes=1))
    Contact.objects.get_or_create(number="+447911123456")
    message, created = store_inbound(
        "locmem", InboundData(sender="+447911123456", content="Yes", external_id="t-1", received_at=now)
    )
    assert created and message.pipeline_state == PipelineState.QUEUED  # the prepared path
    message.refresh_from_db()
    assert message.in_reply_to_id == before.pk
