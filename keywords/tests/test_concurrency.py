"""Two deliveries of the same text at once run its handler once (real PostgreSQL, two
connections, threads released together)."""

import pytest
from django.db import connection

from keywords import testing
from keywords.models import Dispatch
from keywords.testing import create_keyword, receive
from sms.models import InboundMessage, OutboundMessage, PipelineState
from sms.testing import run_concurrently

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def test_two_first_deliveries_at_once_run_the_handler_once():
    create_keyword("ABC", handler="keywords.testing.sleepy")
    messages = run_concurrently(lambda: receive("ABC.X", external_id="SM-same"), 2)
    assert {m.pk for m in messages} == {InboundMessage.objects.get().pk}
    assert len(testing.calls) == 1
    assert Dispatch.objects.count() == 1 and OutboundMessage.objects.filter(tag="reward").count() == 1


def test_two_retries_of_a_pending_text_at_once_run_the_handler_once():
    create_keyword("ABC", handler="keywords.testing.sleepy")
    testing.script[:] = ["retry"]
    first = receive("ABC.X", external_id="SM-retry")
    assert first.retry_later
    results = run_concurrently(lambda: receive("ABC.X", external_id="SM-retry"), 2)
    assert not any(m.retry_later for m in results)
    assert len(testing.calls) == 1
    assert InboundMessage.objects.get().pipeline_state == PipelineState.DONE
    assert Dispatch.objects.get().attempts == 2
    assert OutboundMessage.objects.filter(tag="reward").count() == 1
