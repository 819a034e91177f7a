"""Staff re-send UNKNOWN texts on purpose: a confirmation page saying the recipient may get it
twice, then a queued text with a history row naming them, sent once more."""

import pytest
from django.urls import reverse

from sms.dispatch import dispatch
from sms.models import OutboundMessage, State, StatusChange
from sms.testing import assert_staff_only, create_message

pytestmark = pytest.mark.django_db
URL = reverse("sms:outbound_resend_unknown")


def test_the_list_filtered_to_unknown_offers_the_bulk_action(staff_client):
    create_message(state=State.UNKNOWN)
    page = staff_client.get(reverse("sms:outbound_list"), {"state": "unknown"}).content.decode()
    assert 'id="resend-unknown"' in page and f"{URL}?state=unknown" in page
    assert 'id="resend-unknown"' not in staff_client.get(reverse("sms:outbound_list")).content.decode()


def test_confirmation_page_warns_and_lists_only_unknown_texts(staff_client):
    unknown = create_message("+447911000001", "Maybe arrived", state=State.UNKNOWN)
    create_message("+447911000002", "Already sent", state=State.SENT)
    response = staff_client.get(URL, {"state": ["unknown", "sent"]})
    page = response.content.decode()
    assert response.status_code == 200
    assert "may get it twice" in page
    assert unknown.recipient in page and "+447911000002" not in page
    assert "Re-send 1 UNKNOWN text?" in page


def test_without_the_box_ticked_nothing_is_queued(staff_client):
    message = create_message(state=State.UNKNOWN)
    response = staff_client.post(URL, {"state": "unknown"})
    assert response.status_code == 200 and "Tick the box" in response.content.decode()
    message.refresh_from_db()
    assert message.state == State.UNKNOWN


def test_confirmed_resend_queues_records_the_staff_member_and_sends_once(staff_client, staff_user, outbox):
    unknown = create_message("+447911000001", "Hello again", state=State.UNKNOWN)
    other = create_message("+447911000003", "Not chosen", state=State.UNKNOWN)
    response = staff_client.post(URL, {"pk": [str(unknown.pk)], "confirm": "on"})
    assert response.status_code == 302
    unknown.refresh_from_db()
    other.refresh_from_db()
    assert unknown.state == State.WAITING and other.state == State.UNKNOWN
    change = StatusChange.objects.filter(message=unknown).latest("pk")
    assert change.state == State.WAITING and change.by == staff_user
    assert staff_user.username in change.note and "twice" in change.note
    dispatch()
    unknown.refresh_from_db()
    assert unknown.state == State.SENT and [m["pk"] for m in outbox] == [unknown.pk]
    # Posting the same confirmation again changes nothing: it is no longer UNKNOWN.
    staff_client.post(URL, {"pk": [str(unknown.pk)], "confirm": "on"})
    assert OutboundMessage.objects.get(pk=unknown.pk).state == State.SENT


def test_a_resent_text_to_a_number_that_opted_out_since_is_refused(staff_client, outbox):
    from sms.models import Contact

    message = create_message("+447911000009", state=State.UNKNOWN)
    Contact.objects.get_or_create(number="+447911000009")[0].opt_out(reason="STOP", source="keyword")
    staff_client.post(URL, {"pk": [str(message.pk)], "confirm": "on"})
    dispatch()
    message.refresh_from_db()
    assert message.state == State.REFUSED and outbox == []


def test_detail_page_of_an_unknown_text_links_to_the_confirmation(staff_client):
    message = create_message(state=State.UNKNOWN)
    page = staff_client.get(message.get_absolute_url()).content.decode()
    assert f"{URL}?pk={message.pk}" in page


def test_staff_only(client, plain_user):
    message = create_message(state=State.UNKNOWN)
    assert_staff_only(client, plain_user, [("get", URL), ("post", URL)], {"pk": str(message.pk), "confirm": "on"})
    message.refresh_from_db()
    assert message.state == State.UNKNOWN


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_resend_from_a_phone(staff_page, live_server):
    """On a 390 px phone: the filtered list offers the action, the page warns, nothing is wider
    than the screen, and the confirmed re-send queues the text."""
    message = create_message("+447911000021", "Your order is ready", state=State.UNKNOWN)
    page = staff_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}{reverse('sms:outbound_list')}?state=unknown")
    page.click("#resend-unknown")
    assert "may get it twice" in page.inner_text("#twice-warning")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.check("input[name=confirm]")
    page.click("button[type=submit].btn-warning")
    page.wait_for_url(f"{live_server.url}{reverse('sms:outbound_list')}")
    message.refresh_from_db()
    assert message.state == State.WAITING
