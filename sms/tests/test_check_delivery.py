"""The check_delivery command: asks the gateway, prints progress and a one-line summary."""

import pytest
from django.core.management import call_command

from sms.fake_http import Reply
from sms.models import OutboundMessage, State
from sms.testing import create_message

pytestmark = pytest.mark.django_db


def _sent_through_clickatell(number, external_id):
    message = create_message(number, state=State.SENT)
    OutboundMessage.objects.filter(pk=message.pk).update(
        backend="clickatell", external_id=external_id, sent_at=message.created_at
    )
    return message


def test_command_checks_sent_texts_with_progress_and_a_summary(clickatell, capsys):
    delivered = _sent_through_clickatell("+447911123001", "abc1")
    failed = _sent_through_clickatell("+447911123002", "abc2")
    clickatell.handler = lambda request: Reply(
        200, f"ID: {request.params['apimsgid']} Status: {'004' if request.params['apimsgid'] == 'abc1' else '005'}"
    )
    call_command("check_delivery", verbosity=2)
    summary = "2 checked: 1 delivered, 1 failed, 0 replies stored, 0 check errors"
    assert capsys.readouterr().out.splitlines() == [f"  {summary}", f"Done: {summary}"]  # progress per chunk
    assert sorted(r.params["apimsgid"] for r in clickatell.requests) == ["abc1", "abc2"]
    delivered.refresh_from_db()
    failed.refresh_from_db()
    assert (delivered.state, failed.state) == (State.DELIVERED, State.ERROR_UPDATE)


def test_command_leaves_texts_older_than_days_alone(clickatell, capsys):
    message = _sent_through_clickatell("+447911123001", "abc1")
    OutboundMessage.objects.filter(pk=message.pk).update(sent_at=message.created_at.replace(year=2020))
    call_command("check_delivery", "--days", "7")
    assert capsys.readouterr().out.strip() == "Done: 0 checked: 0 delivered, 0 failed, 0 replies stored, 0 check errors"
    assert clickatell.requests == []
