"""Real Chromium: open Stats from the menu, change the range, follow a count to its texts,
download a table as CSV, and read it all on a phone."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _day_rows(page):
    return page.locator("#texts-per-sim tbody tr").count()


def test_stats_page_range_cell_to_day_list_and_csv(staff_page, live_server, world):
    page = staff_page
    page.get_by_role("link", name="Stats", exact=True).click()
    page.wait_for_url(f"{live_server.url}/stats/")
    assert _day_rows(page) == 30
    assert "S2" in page.locator("#least-used").inner_text()
    # The chart says what it shows to a screen reader.
    assert "Texts per day" in page.locator("#chart svg[role=img]").get_attribute("aria-label")

    page.click("[data-range='7d']")
    page.wait_for_url("**/stats/?range=7d")
    assert _day_rows(page) == 7

    yesterday = timezone.localdate() - timedelta(days=1)
    page.fill("#range-from", f"{yesterday:%Y-%m-%d}")
    page.fill("#range-to", f"{yesterday:%Y-%m-%d}")
    page.click("#range-apply")
    page.wait_for_url("**range=custom**")
    assert _day_rows(page) == 1 and f"{yesterday:%-d %b %Y}" in page.locator("#period-label").inner_text()

    # Tabs keep the range.
    page.click("#stats-sections >> text=Delivery")
    page.wait_for_url("**/stats/delivery/?range=custom**")
    page.click("[data-range='7d']")
    page.click("#stats-sections >> text=Texts per SIM")
    page.wait_for_url("**/stats/sims/?range=7d")

    # Today's count of S1 (4 texts) opens exactly those texts.
    page.locator("#texts-per-sim tbody tr").first.get_by_role("link", name="4", exact=True).click()
    page.wait_for_url(f"**/sms/outbound/?sim={world['s1'].pk}&day={timezone.localdate():%Y-%m-%d}")
    assert page.locator("table tbody tr").count() == 4

    page.go_back()
    with page.expect_download() as download:
        page.click("[data-csv='texts-per-sim']")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["Day", "S1 sent", "S1 received"]
    assert rows[1][:3] == [f"{timezone.localdate():%Y-%m-%d}", "4", "2"] and rows[-1][0] == "Total"


def test_stats_page_fits_a_phone(staff_page, live_server, world):
    page = staff_page
    page.set_viewport_size({"width": 390, "height": 844})
    for section in ("sims", "delivery", "replies", "consent", "cost", "sorting"):
        page.goto(f"{live_server.url}/stats/{section}/")
        # Wide tables scroll inside their card; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, section
