"""The contacts list: staff find a contact by number (as they would type it) or name."""

import pytest

from sms.backends import InboundData
from sms.models import Contact
from sms.receiving import store_inbound
from sms.testing import create_message

pytestmark = pytest.mark.django_db

URL = "/sms/contacts/"


def _numbers(response):
    return [row.record.number for row in response.context["table"].page.object_list]


def test_anonymous_goes_to_login_and_non_staff_are_refused(client, plain_user):
    Contact.objects.create(number="+447400100001", name="Secret Person")
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(plain_user)
    response = client.get(URL, {"q": "Secret"})
    assert response.status_code == 403 and b"Secret Person" not in response.content


def test_query_count_does_not_grow_with_rows(staff_client, django_assert_num_queries):
    for i in range(60):
        message = create_message(f"+4479111{i:05d}", f"Hello {i}", name=f"Person {i}")
        store_inbound("locmem", InboundData(sender=message.recipient, content="Thanks", external_id=f"in-{i}"))
    # session + user, COUNT for the paginator, the page of rows (counts as subqueries)
    with django_assert_num_queries(4):
        response = staff_client.get(URL)
    assert len(_numbers(response)) == 50
    with django_assert_num_queries(4):
        response = staff_client.get(URL, {"page": 2, "q": "7911", "sort": "-n_received"})
    assert len(_numbers(response)) == 10


def test_counts_each_contacts_texts_and_replies_without_multiplying_rows(staff_client):
    message = create_message("+447400100001", "One", name="Ann Lee")
    create_message("+447400100001", "Two")
    create_message("+447400100001", "Three")
    for i in range(2):
        store_inbound("locmem", InboundData(sender=message.recipient, content=f"Reply {i}", external_id=f"r{i}"))
    row = staff_client.get(URL).context["table"].page.object_list[0].record
    assert (row.n_sent, row.n_received) == (3, 2) and row.last_received is not None


@pytest.mark.parametrize("typed", ["07400 100003", "+44 7400 100003", "100003", "7400100003", "siobhan"])
def test_search_finds_a_number_as_staff_type_it_or_a_name(staff_client, typed):
    Contact.objects.create(number="+447400100003", name="Siobhan O'Neill")
    Contact.objects.create(number="+447911555666", name="Other Person")
    assert _numbers(staff_client.get(URL, {"q": typed})) == ["+447400100003"]


def test_filter_opted_out_and_links_to_contact_and_conversation(staff_client):
    out = Contact.objects.create(number="+447400100003", name="Gone")
    out.opt_out(reason="Texted STOP", source="keyword")
    Contact.objects.create(number="+447400100004", name="Here")
    assert _numbers(staff_client.get(URL, {"opted_out": "true"})) == ["+447400100003"]
    assert _numbers(staff_client.get(URL, {"opted_out": "false"})) == ["+447400100004"]
    page = staff_client.get(URL).content.decode()
    assert f'href="/sms/contacts/{out.pk}/"' in page and f'href="/replies/contacts/{out.pk}/"' in page
    assert "Texted STOP" in page  # the reason, as the badge's tooltip
    assert page.count("badge text-bg-danger") == 1  # only the opted-out contact wears the badge


def test_nav_links_to_contacts_and_highlights_it(staff_client):
    page = staff_client.get(URL).content.decode()
    assert 'class="nav-link active" href="/sms/contacts/"' in page
    assert 'class="nav-link active" href="/sms/contacts/"' not in staff_client.get("/sms/outbound/").content.decode()
