"""The outbox that tells the data source how a group went: durable, retried, never twice."""

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.models import Notification, Recipient
from campaigns.notify import collect_notifications, send_notifications
from campaigns.pull import pull_campaign
from campaigns.tests.conftest import make_template
from sms.dispatch import dispatch
from sms.models import OutboundMessage, State

pytestmark = pytest.mark.django_db

DATA = {"Group A": [["07450000001", "Ann"], ["07450 000002", "Bo"]], "Group B": [["07450000003", "Cy"]]}


@pytest.fixture
def pulled(data_source):
    make_template()
    make_template(name="Group B")
    data_source.answer(DATA)
    run = pull_campaign()
    assert run.queued == 3
    return run.campaign


def test_no_notification_while_texts_are_waiting(pulled):
    assert collect_notifications() == 0


def test_group_that_has_left_is_notified_once_with_outcomes(pulled, data_source):
    dispatch()
    OutboundMessage.objects.filter(recipient="+447450000002").update(state=State.ERROR)
    assert collect_notifications() == 2
    assert collect_notifications() == 0  # the recipients are marked: never a second row
    summary = send_notifications()
    assert summary.sent == 2
    bodies = {json.loads(p.body)["group"]: json.loads(p.body) for p in data_source.posts}
    group_a = bodies["Group A"]
    assert group_a["numbers"] == ["07450000001", "07450 000002"]
    assert {o["e164"]: o["state"] for o in group_a["outcomes"]} == {"+447450000001": "sent", "+447450000002": "error"}
    assert data_source.posts[0].headers["X-Api-Key"] == "secret-key"
    assert data_source.posts[0].headers["Idempotency-Key"]
    assert send_notifications().sent == 0
    assert len(data_source.posts) == 2


def test_form_format_sends_numbers_comma_and_space_separated(pulled, data_source, settings):
    settings.TEXTING_API_NOTIFY_FORMAT = "form"
    dispatch()
    collect_notifications()
    send_notifications()
    forms = [parse_qs(p.body.decode()) for p in data_source.posts]
    by_group = {f["group"][0]: f for f in forms}
    assert by_group["Group A"]["numbers"] == ["07450000001, 07450 000002"]
    assert json.loads(by_group["Group B"]["payload"][0])["outcomes"][0]["state"] == "sent"


def test_failed_notification_is_retried_later_with_backoff(pulled, data_source):
    dispatch()
    collect_notifications()
    data_source.post_failures = 2
    first = send_notifications()
    assert first.failed == 2 and first.sent == 0
    pending = Notification.objects.filter(state=Notification.State.PENDING)
    assert pending.count() == 2
    assert all(n.next_attempt_at > timezone.now() + timedelta(seconds=30) for n in pending)
    assert "HTTP 500" in pending.first().last_error
    assert send_notifications().sent == 0  # not due yet
    later = timezone.now() + timedelta(minutes=5)
    assert send_notifications(now=later).sent == 2
    assert Notification.objects.filter(state=Notification.State.SENT).count() == 2
    assert len(data_source.posts) == 4


def test_notification_stuck_in_sending_is_repeated_with_the_same_key(pulled, data_source):
    dispatch()
    collect_notifications()
    stuck = Notification.objects.first()
    Notification.objects.filter(pk=stuck.pk).update(
        state=Notification.State.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
    )
    send_notifications()
    keys = [p.headers["Idempotency-Key"] for p in data_source.posts]
    assert str(stuck.key) in keys
    assert Notification.objects.filter(state=Notification.State.SENT).count() == 2


def test_recipients_added_after_a_notification_get_their_own(pulled, data_source):
    dispatch()
    collect_notifications()
    data_source.answer({"Group A": [["07450000009", "Late"]]})
    pull_campaign()
    assert collect_notifications() == 0  # the late text is still waiting
    dispatch()
    assert collect_notifications() == 1
    latest = Notification.objects.order_by("-pk").first()
    assert latest.payload["numbers"] == ["07450000009"]
    assert Recipient.objects.filter(notification__isnull=True).count() == 0


def test_manual_campaigns_do_not_notify(db):
    from campaigns.fanout import SourceRow, create_campaign

    make_template()
    create_campaign(name="by hand", source="manual", rows=[SourceRow("Group A", "07450000001", "A")])
    dispatch()
    assert collect_notifications() == 0


def test_notify_command_completes_campaigns_and_sends(pulled, data_source, capsys):
    dispatch()
    call_command("notify_sources")
    (summary,) = capsys.readouterr().out.splitlines()  # one line: nothing was paused
    assert summary.startswith("Done: 2 new notifications; 2 notifications sent")
    pulled.refresh_from_db()
    assert pulled.state == "completed"
