"""Shared fixtures: named users, clients, a clean in-memory outbox, test-friendly settings."""

import os
import threading

import pytest

from keywords import cache as keywords_cache
from sms.backends import locmem


@pytest.fixture(autouse=True)
def _sms_test_settings(settings, tmp_path):
    settings.SMS_DEFAULT_BACKEND = "locmem"
    # Uploads and trained models go to the test's own folder, never the checkout's media/
    # (where two runs at once would share the classifier's training lock).
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SMS_PUBLIC_URL = "https://texting.example.com"
    # Campaign texts may leave at any hour in tests, so no test depends on the time it runs;
    # the sending-hours tests set their own windows.
    settings.CAMPAIGNS_SENDING_HOURS = "00:00-00:00"
    settings.CAMPAIGNS_SENDING_HOURS_BY_REGION = ""
    # SIM limits in tests are exact (3 texts on a SIM of 3); the reservation tests set their own.
    settings.MODEMS_RESERVED_SHARE = 0
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    locmem.reset()
    keywords_cache.clear()  # the router's snapshot must not outlive the test's rows
    yield
    locmem.reset()
    keywords_cache.clear()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", password="staff-pass-123", is_staff=True)


@pytest.fixture
def plain_user(django_user_model):
    """Logged in, but not staff: may not see the dashboard."""
    return django_user_model.objects.create_user("plain", password="plain-pass-123")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def outbox():
    return locmem.outbox


# --- Real Chromium (tests marked ``browser``) ------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run (a launch costs seconds); each test gets its own context."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(browser, live_server):
    """A fresh, logged-out page (no cookies shared with other tests)."""
    from django.db import connections

    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
    # ORM calls made under Playwright's event loop get their own connection (asgiref context
    # locals), and the live server's request threads hold theirs until the browser's sockets
    # close: release both, or PostgreSQL cannot drop the test database.
    connections.close_all()
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=2)


@pytest.fixture
def staff_page(browser_page, live_server, staff_user):
    """A page logged in as the staff user, on the dashboard."""
    browser_page.goto(f"{live_server.url}/login/")
    browser_page.fill("input[name=username]", "staff")
    browser_page.fill("input[name=password]", "staff-pass-123")
    browser_page.click("button[type=submit], input[type=submit]")
    browser_page.wait_for_url(f"{live_server.url}/")
    return browser_page


# --- Hypothesis (property-based webhook fuzzing) --------------------------------------------
# "default" keeps the suite quick; HYPOTHESIS_PROFILE=thorough for a long hunt. No example
# database in the checkout: failures print the example (and a @reproduce_failure blob).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("default", max_examples=40, deadline=None, database=None, print_blob=True)
_hypothesis_settings.register_profile(
    "thorough",
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 1000)),
    deadline=None,
    database=None,
    print_blob=True,
)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
