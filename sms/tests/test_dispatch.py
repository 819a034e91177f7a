import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sms.backends import BackendError, locmem
from sms.backends.base import BaseBackend, SendResult
from sms.dispatch import claim_batch, dispatch, recover_stuck, retry_delay
from sms.models import Contact, OutboundMessage, State
from sms.testing import create_message, run_concurrently

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """The process dies: not an Exception, so nothing in the dispatcher catches it."""


gateway_log: list[str] = []


class CrashAfterCallBackend(BaseBackend):
    """Reaches the gateway, then the process dies before the outcome is recorded."""

    slug = "crashy"

    def publish_message(self, message):
        gateway_log.append(str(message.reference))
        raise Crash()


@pytest.fixture
def crashy(settings):
    settings.SMS_BACKENDS = {**settings.SMS_BACKENDS, "crashy": f"{__name__}.CrashAfterCallBackend"}
    gateway_log.clear()
    from sms.backends import clear_cache

    clear_cache()
    yield
    clear_cache()


def test_dispatch_sends_every_due_message_once(outbox):
    messages = [create_message(f"+44791112{i:04d}", f"Hello {i}") for i in range(25)]
    summary = dispatch(batch_size=10)
    assert (summary.claimed, summary.sent, summary.batches) == (25, 25, 3)
    assert sorted(m["pk"] for m in outbox) == sorted(m.pk for m in messages)
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {State.SENT}
    assert dispatch().claimed == 0


def test_not_yet_due_messages_wait(outbox):
    create_message(next_attempt_at=timezone.now() + timedelta(hours=1))
    assert dispatch().claimed == 0 and outbox == []


def test_temporary_error_backs_off_exponentially_then_gives_up(settings, outbox):
    settings.SMS_MAX_ATTEMPTS = 3
    message = create_message()
    for attempt in (1, 2):
        locmem.fail_next.append(BackendError("gateway timeout"))
        before = timezone.now()
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
        dispatch()
        message.refresh_from_db()
        assert message.state == State.ERROR_RETRY and message.number_of_send_attempts == attempt
        assert message.next_attempt_at >= before + retry_delay(attempt)
    locmem.fail_next.append(BackendError("gateway timeout"))
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR and "gateway timeout" in message.error
    assert outbox == []


def test_backoff_doubles_and_honours_retry_after(settings):
    settings.SMS_RETRY_BASE_SECONDS = 60
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert retry_delay(1, retry_after=900).total_seconds() == 900


def test_permanent_error_fails_at_once():
    message = create_message()
    locmem.fail_next.append(BackendError("invalid destination", permanent=True, code="21211"))
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR and message.error.startswith("[21211]")


def test_throttling_waits_without_spending_an_attempt():
    message = create_message()
    locmem.fail_next.append(BackendError("Too Many Requests", throttled=True, retry_after=120))
    start = timezone.now()
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY
    assert message.number_of_send_attempts == 0
    assert message.next_attempt_at >= start + timedelta(seconds=120)


def test_gateway_opt_out_code_opts_the_contact_out():
    message = create_message()
    other = create_message(content="second text, same number")
    OutboundMessage.objects.filter(pk=other.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    locmem.fail_next.append(BackendError("Attempt to send to unsubscribed recipient", opt_out=True, code="21610"))
    dispatch()
    message.refresh_from_db()
    other.refresh_from_db()
    assert message.state == State.REFUSED and other.state == State.REFUSED
    assert Contact.objects.get(number=message.recipient).is_opted_out


def test_opt_out_after_queueing_is_honoured_at_dispatch_time(outbox):
    message = create_message()
    # Opted out by another path that did not touch the queue (e.g. an admin edit).
    Contact.objects.filter(number=message.recipient).update(opted_out_at=timezone.now())
    dispatch()
    message.refresh_from_db()
    assert message.state == State.REFUSED and outbox == []


def test_crash_after_gateway_call_is_never_sent_again(crashy):
    message = create_message(extra_sender_data={"backend": "crashy"})
    with pytest.raises(Crash):
        dispatch()
    message.refresh_from_db()
    assert message.state == State.SENDING and message.backend == "crashy"
    assert recover_stuck(timeout=timedelta(seconds=10)) == {"requeued": 0, "unknown": 0}  # not stuck yet
    assert recover_stuck(timeout=timedelta(0)) == {"requeued": 0, "unknown": 1}
    dispatch()
    message.refresh_from_db()
    assert message.state == State.UNKNOWN
    assert gateway_log == [str(message.reference)]


def test_crash_before_routing_is_requeued_and_sent_once(outbox):
    message = create_message()
    claim_batch(size=10)  # the dispatcher dies right after claiming
    assert recover_stuck(timeout=timedelta(0)) == {"requeued": 1, "unknown": 0}
    dispatch()
    message.refresh_from_db()
    assert message.state == State.SENT and message.number_of_send_attempts == 1
    assert len(outbox) == 1


def test_deduplicating_gateway_gets_the_same_reference_again(outbox):
    message = create_message()
    (claimed,) = claim_batch(size=1)
    # Dispatcher routed and called the gateway, then died before recording.
    OutboundMessage.objects.filter(pk=message.pk).update(backend="locmem")
    locmem.LocmemBackend().publish_message(claimed)
    assert recover_stuck(timeout=timedelta(0)) == {"requeued": 1, "unknown": 0}
    dispatch()
    message.refresh_from_db()
    assert message.state == State.SENT
    assert [m["reference"] for m in outbox] == [str(message.reference)]  # the gateway dropped the repeat


def test_a_slow_dispatcher_finishing_after_recovery_wins():
    message = create_message()
    claim_batch(size=1)
    OutboundMessage.objects.filter(pk=message.pk).update(state=State.SENT)  # it finished after all
    assert recover_stuck(timeout=timedelta(0)) == {"requeued": 0, "unknown": 0}


class ExplodingBackend(BaseBackend):
    slug = "exploding"

    def publish_messages(self, messages):
        raise RuntimeError("library bug")


def test_backend_bug_becomes_a_retry_not_a_lost_batch(settings):
    settings.SMS_BACKENDS = {**settings.SMS_BACKENDS, "exploding": f"{__name__}.ExplodingBackend"}
    message = create_message(extra_sender_data={"backend": "exploding"})
    dispatch()
    message.refresh_from_db()
    assert message.state == State.ERROR_RETRY and "library bug" in message.error


class SlowBackend(BaseBackend):
    """Counts every text it is handed, and is slow, so dispatchers overlap."""

    slug = "slow"
    lock = threading.Lock()
    seen: list[int] = []

    def publish_message(self, message):
        import time

        time.sleep(0.002)
        with self.lock:
            self.seen.append(message.pk)
        return SendResult(message=message, external_id=f"slow-{message.pk}")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks with SKIP LOCKED need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_send_each_message_exactly_once(settings):
    settings.SMS_BACKENDS = {**settings.SMS_BACKENDS, "slow": f"{__name__}.SlowBackend"}
    settings.SMS_DEFAULT_BACKEND = "slow"
    SlowBackend.seen = []
    from sms.queueing import build_message, queue_messages

    queue_messages([build_message(f"+44791112{i:04d}", f"text {i}") for i in range(600)])
    run_concurrently(lambda: dispatch(batch_size=20), 6)
    assert len(SlowBackend.seen) == 600
    assert len(set(SlowBackend.seen)) == 600
    assert OutboundMessage.objects.filter(state=State.SENT).count() == 600
    assert OutboundMessage.objects.filter(number_of_send_attempts=1).count() == 600


def test_ambiguous_failure_is_unknown_and_never_retried(outbox):
    message = create_message()
    locmem.fail_next.append(BackendError("link dropped after the modem took the text", ambiguous=True))
    dispatch()
    message.refresh_from_db()
    assert message.state == State.UNKNOWN and "link dropped" in message.error
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
    dispatch()
    assert outbox == []
