"""Defect 4: the same delivery report posted many times at once moves a text once — one
history row, one ``status_changed`` — because ``set_state`` is a conditional UPDATE."""

import threading

import pytest
from django.db import connection
from django.test import Client

from sms import signals
from sms.models import OutboundMessage, State, StatusChange
from sms.testing import create_message, run_concurrently


@pytest.fixture
def transitions():
    seen = []
    lock = threading.Lock()

    def receiver(sender, message, previous, state, **kwargs):
        with lock:
            seen.append((message.pk, previous, state))

    signals.status_changed.connect(receiver, weak=False, dispatch_uid="test-state-once")
    yield seen
    signals.status_changed.disconnect(dispatch_uid="test-state-once")


@pytest.mark.django_db
def test_a_stale_copy_cannot_repeat_a_transition(transitions):
    """Two handlers read the text as SENT; the second one's UPDATE finds it moved on."""
    message = create_message(state=State.SENT)
    first = OutboundMessage.objects.get(pk=message.pk)
    second = OutboundMessage.objects.get(pk=message.pk)
    assert first.mark_delivered(note="report 1") is True
    assert second.mark_delivered(note="report 2") is False
    assert second.state == State.DELIVERED  # it now shows what happened
    assert StatusChange.objects.filter(message=message, state=State.DELIVERED).count() == 1
    assert transitions == [(message.pk, State.SENT, State.DELIVERED)]


@pytest.mark.django_db
def test_a_stale_copy_does_not_overwrite_a_later_state():
    message = create_message(state=State.SENT)
    stale = OutboundMessage.objects.get(pk=message.pk)
    OutboundMessage.objects.get(pk=message.pk).mark_failed_after_send(error="undelivered")
    assert stale.mark_delivered() is False
    message.refresh_from_db()
    assert message.state == State.ERROR_UPDATE and message.delivered_at is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent connections need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_twenty_copies_of_one_report_posted_at_once_write_one_history_row(settings, transitions):
    settings.LOCMEM_WEBHOOK_SECRET = "s3cret"
    message = create_message(state=State.SENT)
    url = f"/sms/status/locmem/?secret=s3cret&ref={message.reference}"

    def post():
        return Client().post(url, {"id": "gw-1", "state": "delivered"}).status_code

    assert run_concurrently(post, 20) == [200] * 20
    message.refresh_from_db()
    assert message.state == State.DELIVERED
    assert StatusChange.objects.filter(message=message, state=State.DELIVERED).count() == 1
    assert [t for t in transitions if t[2] == State.DELIVERED] == [(message.pk, State.SENT, State.DELIVERED)]
