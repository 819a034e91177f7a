"""The sms pages: lists (filters, sorting, pinned query counts), details, contact, compose."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from campaigns.models import Campaign, Template
from sms.backends import InboundData
from sms.models import ConsentEvent, Contact, OutboundMessage, RelatedObject, State
from sms.receiving import store_inbound
from sms.testing import assert_staff_only, create_inbound, create_message

pytestmark = pytest.mark.django_db


def _rows(response):
    return list(response.context["table"].page.object_list)


def _pks(response):
    return [row.record.pk for row in _rows(response)]


# --- Denial: every page and every write ----------------------------------------------------

GET_PAGES = [
    "sms:outbound_list",
    "sms:inbound_list",
    "sms:compose",
]


@pytest.fixture
def objects():
    message = create_message()
    inbound = create_inbound()
    contact = Contact.objects.get(number=message.recipient)
    return {"message": message, "inbound": inbound, "contact": contact}


def _urls(objects):
    from django.urls import reverse

    return [
        ("get", reverse("sms:outbound_list")),
        ("get", reverse("sms:inbound_list")),
        ("get", reverse("sms:compose")),
        ("get", reverse("sms:outbound_detail", args=[objects["message"].pk])),
        ("get", reverse("sms:inbound_detail", args=[objects["inbound"].pk])),
        ("get", reverse("sms:contact_list")),
        ("get", reverse("sms:contact", args=[objects["contact"].pk])),
        ("post", reverse("sms:compose")),
        ("post", reverse("sms:contact_opt_out", args=[objects["contact"].pk])),
        ("post", reverse("sms:contact_opt_in", args=[objects["contact"].pk])),
    ]


def test_every_page_and_write_is_staff_only_and_changes_nothing(client, plain_user, objects):
    assert_staff_only(client, plain_user, _urls(objects), data={"reason": "x", "evidence": "y"})
    assert OutboundMessage.objects.count() == 1
    assert not Contact.objects.get().is_opted_out and ConsentEvent.objects.count() == 0


# --- Outbound list -----------------------------------------------------------------------------


def test_outbound_list_query_count_does_not_grow_with_rows(staff_client, django_assert_num_queries):
    campaign = Campaign.objects.create(name="Spring")
    for i in range(60):
        create_message(f"+4479111{i:05d}", f"Text {i}", campaign=campaign if i % 2 else None, tag="spring")
    # session + user, COUNT for the paginator, the page of rows (campaign joined)
    with django_assert_num_queries(4):
        response = staff_client.get("/sms/outbound/")
    assert len(_rows(response)) == 50
    assert b"Spring" in response.content
    with django_assert_num_queries(4):
        response = staff_client.get("/sms/outbound/?page=2&state=waiting&tag=spring&number=7911")
    assert len(_rows(response)) == 10


def test_outbound_list_filters_by_state_backend_tag_number_and_date(staff_client):
    waiting = create_message("+447911000001", tag="a")
    sent = create_message("+447911000002", tag="b", state=State.SENT)
    OutboundMessage.objects.filter(pk=sent.pk).update(backend="simulated")
    old = create_message("+447922000003", tag="a")
    OutboundMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    assert _pks(staff_client.get("/sms/outbound/?state=sent")) == [sent.pk]
    assert set(_pks(staff_client.get("/sms/outbound/?state=sent&state=waiting"))) == {sent.pk, waiting.pk, old.pk}
    assert _pks(staff_client.get("/sms/outbound/?backend=simulated")) == [sent.pk]
    assert set(_pks(staff_client.get("/sms/outbound/?tag=a"))) == {waiting.pk, old.pk}
    assert _pks(staff_client.get("/sms/outbound/?number=7922")) == [old.pk]
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert set(_pks(staff_client.get(f"/sms/outbound/?created_after={since}"))) == {waiting.pk, sent.pk}
    until = (timezone.localdate() - timedelta(days=5)).isoformat()
    assert _pks(staff_client.get(f"/sms/outbound/?created_before={until}")) == [old.pk]


def test_outbound_list_sorts_by_a_column(staff_client):
    b = create_message("+447911000002")
    a = create_message("+447911000001")
    assert _pks(staff_client.get("/sms/outbound/?sort=recipient")) == [a.pk, b.pk]
    assert _pks(staff_client.get("/sms/outbound/?sort=-recipient")) == [b.pk, a.pk]


def test_outbound_list_rejects_an_unknown_state_without_crashing(staff_client):
    create_message()
    response = staff_client.get("/sms/outbound/?state=bogus")
    assert response.status_code == 200 and "state" in response.context["filter"].errors


# --- Inbound list ------------------------------------------------------------------------------


def test_inbound_list_query_count_does_not_grow_with_rows(staff_client, django_assert_num_queries):
    for i in range(60):
        message = create_message(f"+4479111{i:05d}", f"Question {i}")
        store_inbound("locmem", InboundData(sender=message.recipient, content=f"Answer {i}", external_id=f"x{i}"))
    with django_assert_num_queries(4):
        response = staff_client.get("/sms/received/")
    assert len(_rows(response)) == 50
    assert b"Question 59" in response.content  # the text it replied to, joined
    with django_assert_num_queries(4):
        staff_client.get("/sms/received/?page=2&q=answer&backend=locmem&number=791")


def test_inbound_list_filters_by_text_number_backend_and_date(staff_client):
    a = create_inbound("+447911000001", "Yes please", backend="locmem")
    b = create_inbound("+447922000002", "STOP", backend="simulated")
    old = create_inbound("+447933000003", "old news", received_at=timezone.now() - timedelta(days=9))
    assert _pks(staff_client.get("/sms/received/?q=stop")) == [b.pk]
    assert _pks(staff_client.get("/sms/received/?number=7911")) == [a.pk]
    assert _pks(staff_client.get("/sms/received/?backend=simulated")) == [b.pk]
    until = (timezone.localdate() - timedelta(days=5)).isoformat()
    assert _pks(staff_client.get(f"/sms/received/?received_before={until}")) == [old.pk]


# --- Details --------------------------------------------------------------------------------


def test_outbound_detail_shows_history_links_and_error(staff_client, outbox):
    from sms.dispatch import dispatch

    template = Template.objects.create(name="Collect", slug="collect", body="Ready")
    campaign = Campaign.objects.create(name="Autumn")
    message = create_message(content="Your order is ready", campaign=campaign, template=template)
    RelatedObject.objects.create(
        message=message, content_type=ContentType.objects.get_for_model(Campaign), object_id=str(campaign.pk)
    )
    dispatch()
    message.refresh_from_db()
    message.mark_failed_after_send(error="Handset unreachable")
    response = staff_client.get(message.get_absolute_url())
    html = response.content.decode()
    states = [c.state for c in response.context["history"]]
    assert states == [State.WAITING, State.SENDING, State.SENT, State.ERROR_UPDATE]
    assert "Handset unreachable" in html and 'id="error"' in html
    assert f'href="{campaign.get_absolute_url()}"' in html
    assert "Collect" in html and message.external_id in html


def test_refused_text_shows_why(staff_client):
    message = create_message("12345")
    html = staff_client.get(message.get_absolute_url()).content.decode()
    assert "Refused" in html and "Invalid number" in html


def test_inbound_detail_shows_contact_and_the_text_it_replied_to(staff_client):
    out = create_message(content="Will you come on Saturday?")
    inbound, _ = store_inbound("locmem", InboundData(sender=out.recipient, content="Yes!", external_id="r1"))
    html = staff_client.get(inbound.get_absolute_url()).content.decode()
    assert "Will you come on Saturday?" in html and out.get_absolute_url() in html
    assert inbound.contact.get_absolute_url() in html


def test_missing_message_is_404(staff_client):
    assert staff_client.get("/sms/outbound/999/").status_code == 404
    assert staff_client.get("/sms/received/999/").status_code == 404
    assert staff_client.get("/sms/contacts/999/").status_code == 404


# --- Contact ----------------------------------------------------------------------------------


def test_contact_page_shows_the_conversation_oldest_first(staff_client):
    first = create_message(content="First question")
    OutboundMessage.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=3))
    create_inbound(first.recipient, "First answer", received_at=timezone.now() - timedelta(hours=2))
    create_message(content="Second question")
    create_inbound("+447999999999", "someone else")
    contact = Contact.objects.get(number=first.recipient)
    response = staff_client.get(contact.get_absolute_url())
    texts = [entry.message.content for entry in response.context["conversation"]]
    assert texts == ["First question", "First answer", "Second question"]
    html = response.content.decode()
    assert html.index("First question") < html.index("First answer") < html.index("Second question")


def test_staff_opt_out_records_evidence_and_refuses_queued_texts(staff_client, staff_user):
    message = create_message()
    contact = Contact.objects.get()
    response = staff_client.post(
        f"/sms/contacts/{contact.pk}/opt-out/", {"reason": "Asked on the phone", "evidence": "Call 12 Nov, ticket 881"}
    )
    assert response.status_code == 302 and response["Location"] == contact.get_absolute_url()
    contact.refresh_from_db()
    message.refresh_from_db()
    assert contact.is_opted_out and contact.opt_out_reason == "Asked on the phone"
    assert message.state == State.REFUSED
    event = ConsentEvent.objects.get()
    assert (event.kind, event.source, event.evidence, event.recorded_by) == (
        "opt_out",
        "staff",
        "Call 12 Nov, ticket 881",
        staff_user,
    )
    html = staff_client.get(contact.get_absolute_url()).content.decode()
    assert "Opted out" in html and "Call 12 Nov, ticket 881" in html and 'id="opt-in-form"' in html


def test_staff_opt_out_without_evidence_is_not_recorded(staff_client):
    contact = Contact.objects.create(number="+447911123001")
    staff_client.post(f"/sms/contacts/{contact.pk}/opt-out/", {"reason": "Asked"})
    contact.refresh_from_db()
    assert not contact.is_opted_out and ConsentEvent.objects.count() == 0


def test_staff_consent_lifts_the_opt_out(staff_client, staff_user):
    contact = Contact.objects.create(number="+447911123001")
    contact.opt_out(reason="STOP", source="keyword")
    staff_client.post(f"/sms/contacts/{contact.pk}/opt-in/", {"scope": "marketing", "evidence": "Signed form 3 Dec"})
    contact.refresh_from_db()
    assert not contact.is_opted_out
    assert list(ConsentEvent.objects.values_list("kind", "source")) == [("opt_in", "staff"), ("opt_out", "keyword")]
    assert ConsentEvent.objects.first().recorded_by == staff_user


def test_contact_writes_need_post(staff_client):
    contact = Contact.objects.create(number="+447911123001")
    assert staff_client.get(f"/sms/contacts/{contact.pk}/opt-out/").status_code == 405


# --- Compose -----------------------------------------------------------------------------------


def test_compose_sends_at_once_and_shows_the_result(staff_client, outbox):
    response = staff_client.post(
        "/sms/compose/", {"recipient": "07911 123456", "content": "Hello from the office", "sender": "Shop"}
    )
    message = OutboundMessage.objects.get()
    assert response.status_code == 302 and response["Location"] == message.get_absolute_url()
    assert message.state == State.SENT and message.recipient == "+447911123456" and message.sender == "Shop"
    assert outbox == [
        {
            "to": "+447911123456",
            "body": "Hello from the office",
            "id": message.external_id,
            "reference": str(message.reference),
            "pk": message.pk,
            "sender": "Shop",
        }
    ]
    html = staff_client.get(response["Location"]).content.decode()
    assert "Text to +447911123456: Sent." in html


def test_compose_refuses_an_invalid_number_in_the_form(staff_client, outbox):
    response = staff_client.post("/sms/compose/", {"recipient": "12345", "content": "Hi"})
    assert response.status_code == 200 and "recipient" in response.context["form"].errors
    assert OutboundMessage.objects.count() == 0 and outbox == []


def test_compose_to_an_opted_out_number_is_refused_and_says_so(staff_client, outbox):
    Contact.objects.create(number="+447911123456").opt_out(reason="STOP", source="keyword")
    response = staff_client.post("/sms/compose/", {"recipient": "+447911123456", "content": "Hi"}, follow=True)
    assert OutboundMessage.objects.get().state == State.REFUSED and outbox == []
    assert "Refused" in response.content.decode()


def test_compose_prefills_the_recipient(staff_client):
    response = staff_client.get("/sms/compose/?to=%2B447911123456")
    assert response.context["form"]["recipient"].value() == "+447911123456"
    assert b'data-segment-counter="#segment-counter"' in response.content


def test_contact_and_detail_pages_query_counts_do_not_grow(staff_client, staff_user, django_assert_num_queries):
    for i in range(15):
        message = create_message(content=f"Question {i}")
        store_inbound("locmem", InboundData(sender=message.recipient, content=f"Answer {i}", external_id=f"c{i}"))
    contact = Contact.objects.get()
    contact.opt_out(reason="asked", source="staff", evidence="call", recorded_by=staff_user)
    contact.opt_in(source="staff", evidence="form", recorded_by=staff_user)
    # session, user, contact, ledger (recorder joined), texts out, texts in
    with django_assert_num_queries(6):
        staff_client.get(contact.get_absolute_url())
    # session, user, message (+campaign, template, SIM, contact), history, related objects, replies
    with django_assert_num_queries(6):
        staff_client.get(message.get_absolute_url())


def test_compose_warns_when_texts_are_transliterated(staff_client, settings):
    settings.SMS_USE_ACCENT = True
    assert b"transliterate-note" not in staff_client.get("/sms/compose/").content
    settings.SMS_USE_ACCENT = False
    assert b"transliterate-note" in staff_client.get("/sms/compose/").content


def test_detail_of_a_waiting_text_says_when_it_goes_out(staff_client):
    later = timezone.now() + timedelta(hours=5)
    message = create_message(next_attempt_at=later)
    page = staff_client.get(f"/sms/outbound/{message.pk}/").content.decode()
    assert 'id="due"' in page and timezone.localtime(later).strftime("%H:%M") in page
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert "with the next dispatch run" in staff_client.get(f"/sms/outbound/{message.pk}/").content.decode()
    OutboundMessage.objects.filter(pk=message.pk).update(state=State.DELIVERED)
    assert 'id="due"' not in staff_client.get(f"/sms/outbound/{message.pk}/").content.decode()
