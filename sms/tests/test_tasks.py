"""The task engine: eager tasks without a broker, and real Celery workers on Redis."""

import pytest
from django.conf import settings

from sms import tasks
from sms.models import OutboundMessage, State
from sms.testing import create_message
from sms.tests.celery_workers import MIGRATE, Workers


def test_tasks_acknowledge_late():
    for task in (tasks.dispatch_due, tasks.check_delivery, tasks.recover_stuck):
        assert task.acks_late is True


@pytest.mark.django_db
def test_without_a_broker_tasks_run_inline(outbox):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    message = create_message()
    assert outbox == []  # queueing alone never sends when there is no broker
    tasks.dispatch_due.delay()
    message.refresh_from_db()
    assert message.state == State.SENT and len(outbox) == 1


@pytest.mark.django_db
def test_an_unreachable_broker_never_breaks_queueing(settings, outbox, django_capture_on_commit_callbacks):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    from texting.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL
    app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            message = create_message()
        assert len(callbacks) == 1
    finally:
        app.conf.task_always_eager = True
        app.conf.broker_url = None
    assert OutboundMessage.objects.get(pk=message.pk).state == State.WAITING


# --- Real workers on Redis ----------------------------------------------------------------------

QUEUE = """
from sms.queueing import build_message, queue_messages
queue_messages([build_message(f"+4479111{i:05d}", f"Hello {i}") for i in range(300)])
"""
ENQUEUE_MORE = """
from sms.tasks import dispatch_due
for _ in range(4):
    dispatch_due.apply_async(kwargs={"batch_size": 25})
"""


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_real_workers_send_every_queued_text_exactly_once(engine, tmp_path):
    with Workers(engine, tmp_path) as workers:
        # One Django start-up: migrate, queue (which enqueues dispatch_due through the broker),
        # then more tasks at once so the workers race for rows.
        workers.shell(MIGRATE + QUEUE + ENQUEUE_MORE)
        assert workers.query("SELECT state, COUNT(*) FROM sms_outboundmessage GROUP BY state") == [("waiting", 300)]
        workers.start("w0")
        workers.start("w1")
        assert workers.wait_for_states({"sent": 300}) == {"sent": 300}
        assert workers.query(
            "SELECT MAX(number_of_send_attempts), MIN(number_of_send_attempts) FROM sms_outboundmessage"
        ) == [(1, 1)]
        # One SENDING and one SENT entry per text: claimed once, sent once.
        per_message = workers.query(
            "SELECT message_id, COUNT(*) FROM sms_statuschange WHERE state IN ('sending', 'sent') "
            "GROUP BY message_id HAVING COUNT(*) <> 2"
        )
        assert per_message == []
