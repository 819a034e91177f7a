"""The inbox keyboard flow in real Chromium: j/k move, a digit sets the type, x + bulk set."""

import pytest

from replies.models import Label, Reply, ReplyType
from replies.testing import ensure_reply_types, receive

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def page(staff_page):
    return staff_page


def test_keyboard_sorting_in_the_inbox(page, live_server, staff_user):
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


def test_end_key_shows_undo_and_undo_keeps_the_customer_subscribed(page, live_server, staff_user):
    from sms.models import Contact, PendingOptOut

    ensure_reply_types()
    message = receive("ok thx 👍", sender="+447911123009")
    order = list(ReplyType.objects.values_list("slug", flat=True))
    page.goto(f"{live_server.url}/replies/")
    page.keyboard.press("j")
    page.keyboard.press(str(order.index("end") + 1))
    row = page.locator(f"#inbox tr[data-pk='{message.pk}']")
    row.locator(".pending-opt-out", has_text="opts out at").wait_for()
    assert PendingOptOut.objects.filter(message=message, status="pending").exists()
    assert not Contact.objects.get(number="+447911123009").is_opted_out
    row.locator("button.undo-end").click()
    page.wait_for_load_state()
    assert "is not opted out" in page.content()
    assert row.locator(".badge", has_text="Review").count() == 1
    assert PendingOptOut.objects.get(message=message).status == "cancelled"


def test_marking_a_classifier_opt_out_not_an_opt_out(page, live_server, staff_user):
    from replies.sorting import categorise
    from sms.models import ConsentEvent, Contact

    ensure_reply_types()
    message = receive("ok thx 👍", sender="+447911123010")
    categorise(
        reply=Reply.objects.get(pk=message.pk),
        reply_type=ReplyType.objects.get(slug="end"),
        source="classifier",
        confidence=0.95,
    )
    contact = Contact.objects.get(number="+447911123010")
    page.goto(f"{live_server.url}/replies/contacts/{contact.pk}/")
    page.click("text=Not an opt-out")
    page.fill("textarea[name=reason]", "It was a thank-you")
    page.click("button:has-text('Confirm: not an opt-out')")
    page.wait_for_url(f"**/replies/contacts/{contact.pk}/")
    assert "Not opted out" in page.content() and "Correction (not an opt-out)" in page.content()
    assert ConsentEvent.objects.filter(kind="correction", recorded_by=staff_user).count() == 1
