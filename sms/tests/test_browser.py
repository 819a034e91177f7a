"""Real Chromium against live_server: the compose page's counter and the send-find-open flow."""

import pytest
from django.urls import reverse

from sms.encoding import segment_info
from sms.models import OutboundMessage, State
from sms.tests.test_encoding import VECTORS

pytestmark = [
    pytest.mark.browser,
]


@pytest.fixture
def page(staff_page):
    return staff_page


EXTRA_VECTORS = [
    "Line one\nline two\r\n",
    "Form\ffeed",
    "a" * 153 + "€" * 10,
    "🎉 party " * 12,
    "ł" * 67 + "a" * 67 + "\U0001f600",
    "Mixed é and ê",
]


@pytest.mark.django_db(transaction=True)
def test_js_counter_matches_python_on_every_vector(page, live_server):
    page.goto(live_server.url + reverse("sms:compose"))
    texts = [text for text, *_ in VECTORS] + EXTRA_VECTORS
    results = page.evaluate("texts => texts.map(t => window.smsSegmentInfo(t))", texts)
    for text, js in zip(texts, results, strict=True):
        py = segment_info(text)
        expected = {
            "encoding": py.encoding,
            "length": py.length,
            "segments": py.segments,
            "per_segment": py.per_segment,
            "remaining": py.remaining,
        }
        assert {key: js[key] for key in expected} == expected, repr(text[:40])


@pytest.mark.django_db(transaction=True)
def test_compose_counter_send_find_and_open(page, live_server, outbox):
    page.goto(live_server.url + reverse("sms:compose"))
    segments = page.locator('#segment-counter [data-count="segments"]')
    encoding = page.locator('#segment-counter [data-count="encoding"]')
    page.fill("input[name=recipient]", "07911 123456")
    textarea = page.locator("textarea[name=content]")
    textarea.fill("a" * 160)
    assert segments.inner_text() == "1" and encoding.inner_text() == "GSM-7"
    textarea.press("End")
    textarea.press("b")  # typed, not filled: the counter follows key presses
    assert segments.inner_text() == "2"
    textarea.press("Backspace")
    assert segments.inner_text() == "1"
    textarea.fill("ł" * 70)
    assert segments.inner_text() == "1" and encoding.inner_text().startswith("UCS-2")
    textarea.press("End")
    textarea.type("ł")
    assert segments.inner_text() == "2"
    textarea.fill("€" * 80)  # extension characters cost two septets
    assert segments.inner_text() == "1"
    textarea.type("€")
    assert segments.inner_text() == "2"

    textarea.fill("Your order is ready to collect")
    assert segments.inner_text() == "1"
    page.click("#compose-form [type=submit]")
    page.wait_for_url("**/sms/outbound/*/")
    message = OutboundMessage.objects.get()
    assert message.state == State.SENT and outbox[0]["to"] == "+447911123456"
    assert "Sent" in page.locator("#state").inner_text()

    page.click("text=Sent texts")  # the breadcrumb back to the list
    page.fill("input[name=number]", "123456")
    page.click("#filter-form button[type=submit]")
    row = page.locator(f'tr[data-pk="{message.pk}"]')
    assert "Your order is ready to collect" in row.inner_text()
    row.locator("td").first.locator("a").click()
    page.wait_for_url(f"**{message.get_absolute_url()}")
    history = page.locator("#history li").all_inner_texts()
    assert [line.split()[0] for line in history] == ["Waiting", "Sending", "Sent"]


@pytest.mark.django_db(transaction=True)
def test_staff_find_a_contact_by_the_number_they_were_given_and_open_the_conversation(page, live_server):
    from sms.models import Contact

    Contact.objects.create(number="+447400100003", name="Siobhan O'Neill")
    Contact.objects.create(number="+447911555666", name="Other Person")
    page.goto(live_server.url + "/")
    page.click("nav >> text=Contacts")
    assert page.locator("a.nav-link.active").inner_text() == "Contacts"
    page.fill("input[name=q]", "07400 100003")
    page.click("#filter-form button[type=submit]")
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and "Siobhan" in rows.first.inner_text()
    rows.first.locator("text=Conversation").click()
    page.wait_for_url("**/replies/contacts/*/")
    assert "+447400100003" in page.locator("h1").inner_text()
    page.click("text=Contact details")
    assert page.locator("a.nav-link.active").inner_text() == "Contacts"
