"""Real Chromium on a phone-sized screen: a link taken from a sent text opens and lands on its
target; the compose page counts {link} at its real length."""

import re

import pytest
from django.urls import reverse

from links.hook import TOKEN_LENGTH
from links.models import Click
from sms import api

pytestmark = [pytest.mark.browser]

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
PHONE_SCREEN = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):
    """A recipient's phone: its own browser context (no staff session), phone screen and agent."""
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE_SCREEN, user_agent=IPHONE, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def link_in(body: str, live_server) -> str:
    match = re.search(re.escape(live_server.url) + r"/l/[A-Za-z0-9]+", body)
    assert match, body
    return match.group(0)


@pytest.mark.django_db(transaction=True)
def test_a_link_from_a_sent_text_opens_the_target_view_on_a_phone(phone, live_server, settings, outbox):
    settings.SMS_PUBLIC_URL = live_server.url
    api.send(
        "+447911123456",
        "Your prize is waiting: {link}",
        extra_data={"link": {"view": "links.tests.targets.thank_you"}},
        send_immediately=True,
    )
    url = link_in(outbox[0]["body"], live_server)
    phone.goto(url)
    assert phone.locator("#landed").inner_text() == "Thanks, +447911123456"
    phone.goto(url)
    assert list(Click.objects.order_by("at").values_list("is_bot", "is_unique")) == [(False, True), (False, False)]


@pytest.mark.django_db(transaction=True)
def test_a_mistyped_link_shows_the_friendly_page_fitting_the_phone(phone, live_server):
    response = phone.goto(live_server.url + "/l/Mistyped0000")
    assert response.status == 404
    assert phone.locator("#link-not-found").inner_text() == "This link is not available"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]
    assert phone.locator("a, form, nav").count() == 0


@pytest.mark.django_db(transaction=True)
def test_compose_a_link_on_a_phone_then_open_it(staff_page, phone, live_server, settings, outbox):
    settings.SMS_PUBLIC_URL = live_server.url
    staff_page.set_viewport_size(PHONE_SCREEN)
    staff_page.goto(live_server.url + reverse("sms:compose"))
    characters = staff_page.locator('#segment-counter [data-count="characters"]')
    segments = staff_page.locator('#segment-counter [data-count="segments"]')
    staff_page.fill("input[name=recipient]", "07911 123456")
    link_length = len(live_server.url + "/l/") + TOKEN_LENGTH
    text = "x" * (160 - link_length - 1) + " {link}"  # exactly one part with the real link
    staff_page.fill("textarea[name=content]", text)
    assert characters.inner_text() == "160" and segments.inner_text() == "1"
    staff_page.locator("textarea[name=content]").press("End")
    staff_page.locator("textarea[name=content]").press("!")
    assert segments.inner_text() == "2"  # "{link}" alone is 6 characters: only its real length overflows
    staff_page.locator("textarea[name=content]").press("Backspace")
    staff_page.fill("input[name=link_url]", live_server.url + "/healthz")
    staff_page.click("text=Send now")
    staff_page.wait_for_url(re.compile(r"/sms/outbound/\d+/"))
    assert len(outbox[0]["body"]) == 160

    phone.goto(link_in(outbox[0]["body"], live_server))
    assert phone.url == live_server.url + "/healthz"
    assert '"ok": true' in phone.content()
    assert Click.objects.get().is_unique


@pytest.mark.django_db(transaction=True)
def test_template_preview_counts_the_link_at_its_real_length(staff_page, live_server):
    from campaigns.tests.conftest import seed_greetings

    seed_greetings()
    staff_page.set_viewport_size(PHONE_SCREEN)
    staff_page.goto(f"{live_server.url}/campaigns/templates/new/")
    staff_page.fill("textarea[name=body]", "Your offer: {link}")
    staff_page.wait_for_function("document.getElementById('preview-errors').textContent.includes('link target')")
    staff_page.fill("input[name=link_url]", "https://shop.example.com/offer")
    staff_page.fill("textarea[name=body]", "x" * 110 + " {link}")  # 6 characters typed, 42 counted
    staff_page.wait_for_function("document.getElementById('preview-text').textContent.includes('/l/')")
    assert "https://texting.example.com/l/" in staff_page.text_content("#preview-text")
    assert staff_page.text_content("#preview-segments") == "2 segments"  # 111 + 42 + the footer > 160
    staff_page.wait_for_timeout(300)  # let the last debounced preview request finish before teardown
    staff_page.wait_for_load_state("networkidle")
