"""Issue 11, defects 1-3: authenticated but malformed callbacks answered 4xx, or stored safely.

Each test failed before the fix (a 500, a text stored cut, a page down on PostgreSQL).
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from sms.backends import InboundData, StatusReport
from sms.models import InboundMessage, State
from sms.receiving import apply_status_report, store_inbound
from sms.sanity import MAX_EXTERNAL_ID_LENGTH, Refused, sane_time
from sms.testing import create_message
from sms.tests.conftest import CLICKATELL_SECRET as SECRET
from sms.tests.staff_pages import assert_staff_pages_render

pytestmark = pytest.mark.django_db


def post_json(client, kind, payload):
    return client.post(f"/sms/{kind}/clickatell/?secret={SECRET}", json.dumps(payload), content_type="application/json")


# --- 1. A Clickatell JSON callback with a non-string charset ---------------------------------


@pytest.mark.parametrize("charset", [8, 1.5, ["UTF-8"], {"name": "UTF-16BE"}, True])
def test_a_non_string_charset_is_a_400_with_the_reason(client, clickatell, charset):
    payload = {"messageId": "m-1", "fromNumber": "447911123456", "text": "hi", "charset": charset}
    response = post_json(client, "inbound", payload)
    assert response.status_code == 400
    assert b"charset must be a string" in response.content
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("text", [["hi"], {"a": 1}])
def test_a_non_string_text_is_a_400(client, clickatell, text):
    response = post_json(client, "inbound", {"messageId": "m-2", "fromNumber": "447911123456", "text": text})
    assert response.status_code == 400 and b"text must be a string" in response.content
    assert not InboundMessage.objects.exists()


def test_a_string_charset_still_works_in_json(client, clickatell):
    payload = {"messageId": "m-3", "fromNumber": "447911123456", "text": "0048006900", "charset": "UTF-16BE"}
    payload["text"] = "00480069"
    assert post_json(client, "inbound", payload).status_code == 200
    assert InboundMessage.objects.get().content == "Hi"


# --- 2. Gateway ids longer than the column -----------------------------------------------------


def test_an_over_long_inbound_id_is_refused_every_time_and_never_stored_cut(client, clickatell):
    long_id = "x" * (MAX_EXTERNAL_ID_LENGTH + 50)
    for attempt in range(3):  # the gateway's retries get the same clear answer, never a 500
        response = client.get(
            "/sms/inbound/clickatell/", {"moMsgId": long_id, "from": "447911123456", "text": "hi", "secret": SECRET}
        )
        assert response.status_code == 400, attempt
        assert b"at most 100" in response.content
    # A second text whose id shares the first 100 characters: refused too, not "a duplicate".
    other = long_id[:MAX_EXTERNAL_ID_LENGTH] + "y" * 50
    response = client.get(
        "/sms/inbound/clickatell/", {"moMsgId": other, "from": "447911123456", "text": "hey", "secret": SECRET}
    )
    assert response.status_code == 400
    assert not InboundMessage.objects.exists()


def test_an_id_of_exactly_the_column_width_is_stored_whole_and_once(client, clickatell):
    full = "z" * MAX_EXTERNAL_ID_LENGTH
    for _ in range(2):
        response = client.get(
            "/sms/inbound/clickatell/", {"moMsgId": full, "from": "447911123456", "text": "hi", "secret": SECRET}
        )
        assert response.status_code == 200
    assert InboundMessage.objects.get().external_id == full


def test_an_over_long_status_id_is_refused_and_nothing_changes(client, clickatell):
    message = create_message(state=State.SENT, backend="clickatell")
    long_id = "a" * 150
    response = post_json(client, "status", {"messageId": long_id, "clientMessageId": str(message.reference)})
    response_legacy = client.get(
        "/sms/status/clickatell/",
        {"apiMsgId": long_id, "cliMsgId": message.reference.hex, "status": "004", "secret": SECRET},
    )
    assert response.status_code == 400 and response_legacy.status_code == 400
    message.refresh_from_db()
    assert (message.state, message.external_id) == (State.SENT, "")


def test_the_python_api_refuses_an_over_long_id_too():
    with pytest.raises(Refused):
        store_inbound("locmem", InboundData(sender="+447911123456", content="hi", external_id="q" * 101))
    with pytest.raises(Refused):
        apply_status_report("locmem", StatusReport(external_id="q" * 101, state=State.DELIVERED))
    assert not InboundMessage.objects.exists()


# --- 3. Timestamps outside a sane window --------------------------------------------------------


@pytest.mark.parametrize(
    "stamp", ["0001-01-01 00:00:00", "0001-01-01T00:00:00", "1970-01-01 00:00:00", "9999-12-31 23:59:59", "0"]
)
def test_an_unbelievable_timestamp_keeps_the_text_at_the_receive_time_and_pages_render(
    client, clickatell, staff_user, stamp
):
    before = timezone.now()
    response = client.get(
        "/sms/inbound/clickatell/",
        {"moMsgId": "m-year", "from": "447911123456", "text": "hello", "timestamp": stamp, "secret": SECRET},
    )
    assert response.status_code == 200
    inbound = InboundMessage.objects.get()
    assert before <= inbound.received_at <= timezone.now()
    assert inbound.raw["timestamp"] == stamp and inbound.raw["given_time"]  # what the gateway said, kept
    client.force_login(staff_user)
    assert assert_staff_pages_render(client) >= 7  # read back from the database by every page


def test_a_json_callback_with_a_year_one_time_is_stored_now(client, clickatell, staff_user):
    payload = {"messageId": "m-json", "fromNumber": "447911123456", "text": "hi", "timestamp": "0001-01-01T00:00:00Z"}
    assert post_json(client, "inbound", payload).status_code == 200
    inbound = InboundMessage.objects.get()
    assert timezone.now() - inbound.received_at < timedelta(minutes=1)
    client.force_login(staff_user)
    assert_staff_pages_render(client)


def test_a_believable_timestamp_is_kept():
    when = timezone.now() - timedelta(days=2)
    assert sane_time(when) == when
    assert sane_time(datetime(1, 1, 1, tzinfo=UTC)) is None
    assert sane_time(timezone.now() + timedelta(days=2)) is None


def test_a_status_report_with_a_year_one_time_is_delivered_now(client, clickatell, staff_user):
    message = create_message(state=State.SENT, backend="clickatell")
    message.external_id = "api-1"
    message.save()
    response = client.get(
        "/sms/status/clickatell/",
        {"apiMsgId": "api-1", "status": "004", "timestamp": "0001-01-01 00:00:00", "secret": SECRET},
    )
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.state == State.DELIVERED
    assert timezone.now() - message.delivered_at < timedelta(minutes=1)
    client.force_login(staff_user)
    assert client.get(f"/sms/outbound/{message.pk}/").status_code == 200
    assert_staff_pages_render(client)


def test_a_modem_text_with_a_reset_clock_is_stored_at_the_receive_time():
    """Modems go through the same door: an SCTS of 1980 (a SIM whose clock reset) is not believed."""
    scts = datetime(1980, 1, 6, tzinfo=UTC)
    message, created = store_inbound(
        "modem", InboundData(sender="+447911123456", content="hi", external_id="1-19800106-x", received_at=scts)
    )
    assert created and timezone.now() - message.received_at < timedelta(minutes=1)
    assert message.raw["given_time"].startswith("1980-01-06")
