"""The inbound pipeline's seam: inline steps (in the webhook's request), deferred steps (after
the commit with a broker), a step asking to be run again later, and recovery of texts left
unfinished."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from sms import signals
from sms.backends import InboundData
from sms.models import InboundMessage, PipelineState
from sms.receiving import RetryLater, recover_inbound, run_deferred, store_inbound

pytestmark = pytest.mark.django_db

HERE = "sms.tests.test_inbound_pipeline"
#: message pk -> how many more times ``flaky_step`` asks to be run again.
RETRIES_LEFT: dict[int, int] = {}
CALLS: list[tuple[str, int]] = []


def flaky_step(message):
    CALLS.append(("flaky", message.pk))
    if RETRIES_LEFT.get(message.pk, 0) > 0:
        RETRIES_LEFT[message.pk] -= 1
        raise RetryLater("the handler's shop is closed")
    message.routed_by = "keyword:SHOP"
    message.save(update_fields=["routed_by"])


def failing_first_time(message):
    """Asks again on its first run, whatever the text (RETRIES_LEFT keyed by content)."""
    CALLS.append(("first", message.pk))
    key = -len(message.content)
    if RETRIES_LEFT.get(key, 1) > 0:
        RETRIES_LEFT[key] = 0
        raise RetryLater("not yet")


def later_step(message):
    CALLS.append(("later", message.pk))


def deferred_step(message):
    CALLS.append(("deferred", message.pk))


@pytest.fixture(autouse=True)
def steps(settings):
    CALLS.clear()
    RETRIES_LEFT.clear()
    settings.SMS_INBOUND_PIPELINE = [f"{HERE}.failing_first_time", f"{HERE}.later_step"]
    settings.SMS_INBOUND_DEFERRED_PIPELINE = [f"{HERE}.deferred_step"]
    settings.LOCMEM_WEBHOOK_SECRET = "s3cret"
    settings.CELERY_BROKER_URL = ""


@pytest.fixture
def received():
    seen = []

    def listener(sender, message, **kwargs):
        seen.append(message.pk)

    signals.message_received.connect(listener)
    yield seen
    signals.message_received.disconnect(listener)


def kinds(pk):
    return [kind for kind, seen_pk in CALLS if seen_pk == pk]


def test_a_step_asking_to_be_run_again_keeps_the_text_pending_and_the_gateway_is_asked_to_retry(client, received):
    data = {"from": "+447911123456", "text": "SHOP.OPEN", "id": "gw-1"}
    response = client.post("/sms/inbound/locmem/?secret=s3cret", data)
    assert response.status_code == 503 and response["Retry-After"] == "60"
    (message,) = InboundMessage.objects.all()
    assert message.pipeline_state == PipelineState.PENDING
    assert message.pipeline_attempts == 1 and message.pipeline_error == "not yet"
    assert kinds(message.pk) == ["first"], "later and deferred steps wait for the step that asked"
    assert received == []

    # The gateway's retry: the text is not stored twice, the inline steps run again, then the rest.
    response = client.post("/sms/inbound/locmem/?secret=s3cret", data)
    assert response.status_code == 200
    message.refresh_from_db()
    assert InboundMessage.objects.count() == 1
    assert message.pipeline_state == PipelineState.DONE and message.pipeline_attempts == 2
    assert message.pipeline_error == ""
    assert kinds(message.pk) == ["first", "first", "later", "deferred"]
    assert received == [message.pk]

    # A third delivery of a finished text runs nothing.
    assert client.post("/sms/inbound/locmem/?secret=s3cret", data).status_code == 200
    assert kinds(message.pk) == ["first", "first", "later", "deferred"]
    assert received == [message.pk]


def test_a_step_that_raises_is_logged_and_the_rest_of_the_pipeline_still_runs(settings, caplog):
    settings.SMS_INBOUND_PIPELINE = [f"{HERE}.broken_step", f"{HERE}.later_step"]
    message, created = store_inbound("locmem", InboundData(sender="+447911123456", content="hi", external_id="b1"))
    assert created and not message.retry_later
    assert kinds(message.pk) == ["later", "deferred"]
    assert message.pipeline_state == PipelineState.DONE
    assert "broken_step failed" in caplog.text


def broken_step(message):
    raise ZeroDivisionError("a bug")


def test_with_a_broker_the_deferred_steps_run_after_the_commit_and_once(settings, django_capture_on_commit_callbacks):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    settings.SMS_INBOUND_PIPELINE = [f"{HERE}.later_step"]
    enqueued = []
    import sms.tasks

    original = sms.tasks.process_inbound.apply_async
    sms.tasks.process_inbound.apply_async = lambda args, **kw: enqueued.append(args[0])
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            message, _ = store_inbound("locmem", InboundData(sender="+447911123456", content="hi", external_id="q1"))
        assert message.pipeline_state == PipelineState.QUEUED
        assert kinds(message.pk) == ["later"], "nothing deferred runs inside the request"
        assert enqueued == []
        for callback in callbacks:
            callback()
    finally:
        sms.tasks.process_inbound.apply_async = original
    assert enqueued == [message.pk]
    assert run_deferred(message.pk) is True
    assert run_deferred(message.pk) is False, "a task delivered twice sorts the text once"
    message.refresh_from_db()
    assert message.pipeline_state == PipelineState.DONE
    assert kinds(message.pk) == ["later", "deferred"]


def test_recover_inbound_finishes_lost_tasks_and_retries_texts_the_gateway_never_sent_again(settings):
    settings.SMS_INBOUND_PIPELINE = [f"{HERE}.flaky_step"]
    queued = InboundMessage.objects.create(
        sender="+447911000001", content="lost task", backend="locmem", external_id="l1",
        pipeline_state=PipelineState.QUEUED, pipeline_changed_at=timezone.now() - timedelta(minutes=10),
    )  # fmt: skip
    fresh = InboundMessage.objects.create(
        sender="+447911000002", content="task on its way", backend="locmem", external_id="l2",
        pipeline_state=PipelineState.QUEUED, pipeline_changed_at=timezone.now(),
    )  # fmt: skip
    pending = InboundMessage.objects.create(
        sender="+447911000003", content="SHOP", backend="locmem", external_id="l3",
        pipeline_state=PipelineState.PENDING, pipeline_changed_at=timezone.now() - timedelta(minutes=10),
    )  # fmt: skip
    stubborn = InboundMessage.objects.create(
        sender="+447911000004", content="SHOP", backend="locmem", external_id="l4",
        pipeline_state=PipelineState.PENDING, pipeline_changed_at=timezone.now() - timedelta(minutes=10),
    )  # fmt: skip
    RETRIES_LEFT[stubborn.pk] = 5

    assert recover_inbound() == {"deferred": 1, "retried": 1, "still_pending": 1}
    states = dict(InboundMessage.objects.values_list("pk", "pipeline_state"))
    assert states[queued.pk] == states[pending.pk] == PipelineState.DONE
    assert states[fresh.pk] == PipelineState.QUEUED, "a task that may still arrive is left to it"
    assert states[stubborn.pk] == PipelineState.PENDING
    pending.refresh_from_db()
    assert pending.routed_by == "keyword:SHOP"
    assert kinds(queued.pk) == ["deferred"] and kinds(pending.pk) == ["flaky", "deferred"]
    # The stubborn one was tried again now, so it waits its turn before the next attempt.
    assert recover_inbound() == {"deferred": 0, "retried": 0, "still_pending": 0}


def test_recover_inbound_command_reports_what_it_did(capsys):
    InboundMessage.objects.create(
        sender="+447911000001", content="lost", backend="locmem", external_id="c1",
        pipeline_state=PipelineState.QUEUED, pipeline_changed_at=timezone.now() - timedelta(minutes=10),
    )  # fmt: skip
    call_command("recover_inbound")
    assert "Done: 1 sorted, 0 re-run, 0 still pending" in capsys.readouterr().out
