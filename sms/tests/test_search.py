"""Contact search ignores accents and case, on SQLite and PostgreSQL alike (run this module
with DATABASE_URL=postgres://... too)."""

import pytest

from campaigns.fanout import SourceRow, create_campaign
from campaigns.tests.conftest import make_template
from sms.models import Contact
from sms.search import fold
from sms.testing import create_contact, create_inbound

pytestmark = pytest.mark.django_db


def names(response):
    return sorted(c.name for c in response.context["table"].data)


@pytest.fixture
def people():
    create_contact("+447400000001", name="Zoë Dupré")
    create_contact("+447400000002", name="Anna Wiśniewski")
    create_contact("+447400000003", name="ZOE SMITH")
    create_contact("+447400000004", name="Łukasz Żółw")
    create_contact("+447400000005", name="Bob")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Zoe", ["ZOE SMITH", "Zoë Dupré"]),
        ("zoë", ["ZOE SMITH", "Zoë Dupré"]),
        ("Wisniewski", ["Anna Wiśniewski"]),
        ("WIŚNIEWSKI", ["Anna Wiśniewski"]),
        ("dupre", ["Zoë Dupré"]),
        ("lukasz zolw", ["Łukasz Żółw"]),
        ("07400000005", ["Bob"]),
    ],
)
def test_contact_search_ignores_accents_and_case(staff_client, people, query, expected):
    assert names(staff_client.get("/sms/contacts/", {"q": query})) == expected


def test_names_stored_in_bulk_by_a_campaign_are_searchable(staff_client):
    make_template()
    create_campaign(name="C", source="manual", rows=[SourceRow("Group A", "07450000001", "Wiśniewski")])
    assert Contact.objects.get().search_name == "wisniewski"
    assert names(staff_client.get("/sms/contacts/", {"q": "wisniewski"})) == ["Wiśniewski"]


def test_a_renamed_or_erased_contact_is_found_by_its_new_name_only():
    contact = create_contact(name="Zoë")
    contact.name = "Chloé"
    contact.save(update_fields=["name"])
    assert Contact.objects.get().search_name == "chloe"
    contact.erase()
    assert Contact.objects.get().search_name == ""


def test_inbox_search_finds_the_sender_by_name_without_accents(staff_client):
    contact = create_contact("+447400000002", name="Anna Wiśniewski")
    message = create_inbound(sender=contact.number, content="hello", contact=contact)
    create_inbound(sender="+447400000009", content="other")
    response = staff_client.get("/replies/", {"q": "wisniewski"})
    assert [m.pk for m in response.context["table"].data] == [message.pk]


def test_fold():
    assert fold("  Zoë   Dupré ") == "zoe dupre"
