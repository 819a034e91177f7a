"""The inbox, Sent texts and SIM cards pages on a 390 px phone in real Chromium: the essentials
fit without sideways scrolling and the filters are folded away until asked for."""

import pytest

from campaigns.fanout import SourceRow, create_campaign
from campaigns.tests.conftest import make_template
from modems.testing import create_network, create_sim
from replies.testing import ensure_reply_types, receive
from sms.dispatch import dispatch
from sms.testing import create_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LONG = "Hello, could you tell me whether the order I placed last Tuesday for the blue garden chairs has shipped yet?"


@pytest.fixture
def phone(staff_page):
    staff_page.set_viewport_size(PHONE)
    return staff_page


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_inbox_fits_a_phone_with_filters_folded(phone, live_server):
    ensure_reply_types()
    make_template()
    create_campaign(
        name="Spring campaign with a long name", source="manual", rows=[SourceRow("Group A", "07911123001", "Ann")]
    )
    dispatch()
    create_sim(network=create_network("Vodafone UK"), name="Shop dongle number two", number="+447700900001")
    for i in range(5):
        receive(LONG + "x" * i, sender=f"+4479111230{i:02d}")
    phone.goto(f"{live_server.url}/replies/")
    assert scroll_width(phone) <= PHONE["width"]
    assert not phone.is_visible("#inbox-filter")  # folded on a phone
    first = phone.locator("#inbox tbody tr[data-pk]").first
    assert first.locator(".type-cell").is_visible() and first.locator("a.conversation-link").is_visible()
    assert LONG[:20] in first.inner_text()
    phone.click("button:has-text('Filters')")
    phone.locator("#inbox-filter").wait_for(state="visible")
    assert scroll_width(phone) <= PHONE["width"]
    phone.fill("#inbox-filter input[name=q]", "garden")
    phone.click("#inbox-filter button[type=submit]")
    phone.wait_for_load_state()
    assert phone.locator("#inbox tbody tr[data-pk]").count() == 5


def test_sent_texts_fit_a_phone_with_filters_folded(phone, live_server):
    for i in range(5):
        create_message(f"+4479111230{i:02d}", LONG * 2, tag="manual")
    phone.goto(f"{live_server.url}/sms/outbound/")
    assert scroll_width(phone) <= PHONE["width"]
    assert not phone.is_visible("#filter-form")
    row = phone.locator("tbody tr[data-pk]").first
    assert row.locator(".badge").is_visible()  # the state
    phone.click("button:has-text('Filters')")
    phone.locator("#filter-form").wait_for(state="visible")
    assert scroll_width(phone) <= PHONE["width"]


def test_sim_cards_fit_a_phone(phone, live_server):
    network = create_network("Vodafone UK")
    for i in range(3):
        create_sim(network=network, name=f"Shop dongle {i}", number=f"+44770090000{i}", daily_limit=500)
    phone.goto(f"{live_server.url}/modems/")
    assert scroll_width(phone) <= PHONE["width"]
    row = phone.locator("#sims tbody tr[data-sim]").first
    assert row.locator("[data-today]").is_visible()


def test_desktop_still_shows_every_column_and_the_filters(staff_page, live_server):
    create_message("+447911123001", "Hi", tag="manual")
    staff_page.set_viewport_size({"width": 1280, "height": 900})
    staff_page.goto(f"{live_server.url}/sms/outbound/")
    assert staff_page.is_visible("#filter-form")
    assert staff_page.locator("thead th", has_text="Backend").is_visible()
    staff_page.goto(f"{live_server.url}/replies/")
    assert staff_page.is_visible("#inbox-filter")
