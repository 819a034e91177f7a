"""The inbox keyboard flow in real Chromium: j/k move, a digit sets the type, x + bulk set."""

import os
import shutil
import threading

import pytest
from django.db import connections

from replies.models import Label, Reply, ReplyType
from replies.testing import ensure_reply_types, receive

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="chromium not installed"),
]


@pytest.fixture
def page(live_server, staff_user):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "staff")
        page.fill("input[name=password]", "staff-pass-123")
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        yield page
        browser.close()
    # The live server's keep-alive request threads hold database connections until the browser's
    # sockets close; wait for them so the test database can be dropped (PostgreSQL).
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=10)


def test_keyboard_sorting_in_the_inbox(page, live_server, staff_user):
    try:
        _keyboard_flow(page, live_server, staff_user)
    finally:
        # Under Playwright's event loop the ORM hands this test its own connection (asgiref
        # context-local); close it here, or PostgreSQL refuses to drop the test database.
        connections.close_all()


def _keyboard_flow(page, live_server, staff_user):
    ensure_reply_types()
    oldest = receive("cheers mate", sender="+447911123001")
    middle = receive("Auto-reply: out of office", sender="+447911123002")
    newest = receive("where is it?", sender="+447911123003")
    order = list(ReplyType.objects.values_list("slug", flat=True))  # keys 1..n follow this order

    page.goto(f"{live_server.url}/replies/")
    rows = page.locator("#inbox tbody tr[data-pk]")
    assert rows.count() == 3
    page.keyboard.press("j")  # first row: newest
    assert "table-active" in rows.nth(0).get_attribute("class")
    page.keyboard.press(str(order.index("misc") + 1))  # sets Misc and moves down
    page.locator(f"#inbox tr[data-pk='{newest.pk}'] .badge", has_text="Misc").wait_for()
    assert "table-active" in rows.nth(1).get_attribute("class")
    page.keyboard.press(str(order.index("bot") + 1))
    page.locator(f"#inbox tr[data-pk='{middle.pk}'] .badge", has_text="Bot").wait_for()
    page.keyboard.press("k")
    page.keyboard.press("k")
    assert "table-active" in rows.nth(0).get_attribute("class")

    # x selects the current row; the bulk form sets Thanks on the selection.
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert rows.nth(2).locator("input[type=checkbox]").is_checked()
    page.select_option("#bulk select[name=reply_type]", label="Thanks")
    page.click("#bulk button[type=submit]")
    page.wait_for_load_state()
    assert "1 texts set to Thanks" in page.content()

    sorted_ = {r.pk: (r.reply_type.slug, r.source) for r in Reply.objects.select_related("reply_type")}
    assert sorted_ == {newest.pk: ("misc", "staff"), middle.pk: ("bot", "staff"), oldest.pk: ("thanks", "staff")}
    assert Label.objects.filter(by=staff_user).count() == 3

    # Enter opens the conversation of the current text.
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/replies/contacts/**")
    assert "where is it?" in page.content()
