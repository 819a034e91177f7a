"""The send_queued command: recovers stuck texts, sends what is due, progress and a summary."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from sms.models import OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db


def test_command_sends_in_batches_with_progress_and_a_summary(capsys, outbox):
    for i in range(3):
        create_message(f"+44791112300{i}")
    call_command("send_queued", "--batch-size", "2")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["  batch 1", "  batch 2"]
    assert lines[-1].startswith("Done: 3 claimed: 3 sent")
    assert len(outbox) == 3


def test_command_resolves_texts_stuck_in_sending_first(capsys, settings, outbox):
    stuck = create_message()
    long_ago = timezone.now() - timedelta(seconds=settings.SMS_SENDING_TIMEOUT_SECONDS + 60)
    OutboundMessage.objects.filter(pk=stuck.pk).update(state=State.SENDING, claimed_at=long_ago, backend="locmem")
    call_command("send_queued")
    out = capsys.readouterr().out
    assert out.startswith("Recovered stuck texts: 1 re-queued, 0 marked unknown")
    assert out.splitlines()[-1].startswith("Done: 1 claimed: 1 sent")  # locmem deduplicates on reference
    stuck.refresh_from_db()
    assert stuck.state == State.SENT and len(outbox) == 1
