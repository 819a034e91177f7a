"""The fast bulk writers behave like bulk_create / bulk_update (on SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sms.bulk import create_rows, insert_rows, update_rows
from sms.models import Contact, OutboundMessage, State, StatusChange
from sms.queueing import build_message

pytestmark = pytest.mark.django_db


def test_create_rows_sets_primary_keys_in_order_and_stores_every_value():
    contact = Contact.objects.create(number="+447400100000")
    messages = [
        build_message(f"07400 1{i:05d}", f"Text {i} ł", tag="t", extra_data={"i": i}, contact=contact)
        for i in range(120)
    ]
    created = create_rows(messages)
    assert [m.pk for m in created] == sorted(m.pk for m in created) and None not in [m.pk for m in created]
    for message in created:
        stored = OutboundMessage.objects.get(pk=message.pk)
        assert (stored.content, stored.extra_data, stored.reference, stored.contact_id, stored.encoding) == (
            message.content,
            message.extra_data,
            message.reference,
            contact.pk,
            "ucs2",
        )
        assert not message._state.adding


def test_insert_rows_can_skip_existing_rows():
    Contact.objects.create(number="+447400100000", name="Kept")
    insert_rows(
        [Contact(number="+447400100000", name="Dropped"), Contact(number="+447400100001")], ignore_conflicts=True
    )
    assert dict(Contact.objects.values_list("number", "name")) == {"+447400100000": "Kept", "+447400100001": ""}


def test_update_rows_writes_each_rows_own_values():
    messages = create_rows([build_message(f"07400 1{i:05d}", "x") for i in range(5)])
    later = timezone.now() + timedelta(hours=1)
    for i, message in enumerate(messages):
        message.state = State.SENT
        message.external_id = f"gw-{i}"
        message.extra_sender_data = {"n": i}
        message.sent_at = later
    assert update_rows(messages, ["state", "external_id", "extra_sender_data", "sent_at"]) == 5
    rows = list(
        OutboundMessage.objects.order_by("pk").values_list("state", "external_id", "extra_sender_data", "sent_at")
    )
    assert rows == [(State.SENT, f"gw-{i}", {"n": i}, later) for i in range(5)]


def test_status_history_rows_are_written():
    (message,) = create_rows([build_message("07400 100000", "x")])
    insert_rows([StatusChange(message=message, state=State.WAITING, note="a")])
    assert list(StatusChange.objects.values_list("message_id", "state", "note")) == [(message.pk, "waiting", "a")]
