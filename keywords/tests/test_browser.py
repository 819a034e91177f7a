"""The keyword pages on a 390 px phone in real Chromium: nothing wider than the screen, the
test box answers, a keyword is created from the form."""

import pytest

from keywords.models import Keyword
from keywords.testing import create_keyword, create_number, receive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_keyword_pages_on_a_phone(staff_page, live_server):
    page = staff_page
    page.set_viewport_size({"width": 390, "height": 844})
    create_number("567")
    keyword = create_keyword("ABC", handler="keywords.testing.reward", reply_template="Thanks for {argument}")
    receive("ABC.UNICORN")

    page.goto(f"{live_server.url}/keywords/")
    assert page.evaluate(OVERFLOW) <= 0
    page.fill("input[name=text]", "abc.dragon")
    page.fill("input[name=number]", "567")
    page.click("#try button[type=submit]")
    explanation = page.locator("[data-testid=explanation]")
    explanation.wait_for()
    assert "Routed by keyword:ABC" in explanation.inner_text() and "Thanks for dragon" in explanation.inner_text()

    page.goto(f"{live_server.url}/keywords/{keyword.pk}/")
    assert page.locator("svg[role=img]").count() == 1 and "ABC.UNICORN" in page.content()
    assert page.evaluate(OVERFLOW) <= 0

    page.goto(f"{live_server.url}/keywords/new/")
    assert page.evaluate(OVERFLOW) <= 0
    page.fill("input[name=word]", "stop")
    page.click("input[name=save]")
    page.wait_for_load_state()
    assert "can never take the place of an opt-out" in page.content()
    page.fill("input[name=word]", "join")
    page.fill("textarea[name=reply_template]", "Welcome!")
    page.click("input[name=save]")
    page.wait_for_url(f"{live_server.url}/keywords/*/")
    assert Keyword.objects.filter(word="JOIN").exists()
