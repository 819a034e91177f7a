"""/l/<token>: public, records the click, hands over; bots apart; a friendly 404 otherwise."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from links.models import Click, Link
from links.tests import targets
from sms import api
from sms.testing import run_concurrently

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
)
BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "facebookexternalhit/1.1 Facebot Twitterbot/1.0",  # Apple's iMessage link previews
    "WhatsApp/2.23.20.0 A",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "",
]


def make_link(target=None, recipient="+447911123001") -> Link:
    target = target or {"url": "https://shop.example.com/offer"}
    message = api.send(recipient, "Here: {link}", extra_data={"link": target})
    return message.link


def test_a_person_is_redirected_and_the_click_is_recorded(client):
    link = make_link()
    response = client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE)
    assert response.status_code == 302 and response["Location"] == "https://shop.example.com/offer"
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    click = Click.objects.get()
    assert (click.link, click.user_agent, click.is_bot, click.is_unique) == (link, PHONE, False, True)
    link.refresh_from_db()
    assert link.first_clicked_at == click.at


def test_one_unique_click_per_recipient_and_every_open_counted(client):
    link = make_link()
    for agent in (PHONE, PHONE, ANDROID):
        assert client.get(f"/l/{link.token}", HTTP_USER_AGENT=agent).status_code == 302
    clicks = Click.objects.filter(link=link)
    assert clicks.count() == 3
    assert clicks.filter(is_unique=True).count() == 1
    assert clicks.order_by("at", "pk").first().is_unique


def test_two_recipients_two_unique_clicks(client):
    first, second = make_link(recipient="+447911123001"), make_link(recipient="+447911123002")
    for link in (first, second, first):
        client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE)
    assert Click.objects.filter(is_unique=True).count() == 2


@pytest.mark.parametrize("agent", BOTS)
def test_link_preview_bots_are_counted_apart(client, agent):
    link = make_link()
    response = client.get(f"/l/{link.token}", HTTP_USER_AGENT=agent)
    assert response.status_code == 302  # the preview shows the target
    click = Click.objects.get()
    assert click.is_bot and not click.is_unique
    # The person who opens it afterwards is still the unique click.
    client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE)
    assert Click.objects.get(is_bot=False).is_unique


def test_a_head_request_is_a_bot_even_with_a_phones_user_agent(client):
    link = make_link()
    response = client.head(f"/l/{link.token}", HTTP_USER_AGENT=PHONE)
    assert response.status_code == 302
    click = Click.objects.get()
    assert click.is_bot and not click.is_unique
    link.refresh_from_db()
    assert link.first_clicked_at is None


def test_a_browser_prefetch_is_not_a_click(client):
    link = make_link()
    client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE, HTTP_SEC_PURPOSE="prefetch")
    assert Click.objects.get().is_bot


def test_extra_bot_user_agents_come_from_settings(client, settings):
    settings.LINKS_BOT_USER_AGENTS = ["AcmeLinkChecker"]
    link = make_link()
    client.get(f"/l/{link.token}", HTTP_USER_AGENT="Mozilla/5.0 AcmeLinkChecker/3")
    assert Click.objects.get().is_bot


def test_a_target_view_receives_the_recipient_and_the_message(client):
    link = make_link({"view": "links.tests.targets.thank_you"})
    response = client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE)
    assert response.status_code == 200 and b"Thanks, +447911123001" in response.content
    assert targets.calls == [("+447911123001", link.message.pk)]


def test_a_bot_never_runs_a_target_view(client):
    link = make_link({"view": "links.tests.targets.thank_you"})
    for agent in ("WhatsApp/2.23.20.0 A", "facebookexternalhit/1.1"):
        response = client.get(f"/l/{link.token}", HTTP_USER_AGENT=agent)
        assert response.status_code == 200 and b"Open this link on your phone" in response.content
    assert client.head(f"/l/{link.token}", HTTP_USER_AGENT=PHONE).status_code == 200
    assert targets.calls == []
    assert Click.objects.filter(is_bot=True).count() == 3


# --- not found: one friendly page, never a 500 -------------------------------------------------


def _assert_friendly_404(response):
    assert response.status_code == 404
    body = response.content.decode()
    assert "This link is not available" in body
    # Nothing else of the site: no navigation, no login, no other link.
    assert "<nav" not in body and "<a " not in body and "<form" not in body and "/login/" not in body


@pytest.mark.parametrize(
    "token", ["AAAAAAAAAAAA", "short", "x" * 200, "a/b/c", "%00", "ÄÖÜäöüÄÖÜäöü", "AAAAAAAAAAAA'--"]
)
def test_unknown_tokens_get_the_friendly_404(client, token):
    make_link()
    _assert_friendly_404(client.get(f"/l/{token}", HTTP_USER_AGENT=PHONE))
    assert Click.objects.count() == 0


def test_an_expired_link_gets_the_friendly_404(client):
    link = make_link()
    Link.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _assert_friendly_404(client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE))
    assert Click.objects.count() == 0


def test_links_expire_after_the_configured_days(settings):
    settings.LINKS_EXPIRE_AFTER_DAYS = 3
    link = make_link()
    assert timedelta(days=3) - timedelta(minutes=1) < link.expires_at - timezone.now() <= timedelta(days=3)
    settings.LINKS_EXPIRE_AFTER_DAYS = 0
    assert make_link().expires_at is None


def test_a_revoked_link_gets_the_friendly_404(client):
    link = make_link()
    link.revoke()
    _assert_friendly_404(client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE))


def test_a_target_view_that_no_longer_exists_gets_the_friendly_404(client):
    link = make_link({"view": "links.tests.targets.thank_you"})
    Link.objects.filter(pk=link.pk).update(target_view="links.tests.targets.gone_away")
    _assert_friendly_404(client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE))


def test_trailing_punctuation_a_phone_took_into_the_link_is_forgiven(client):
    link = make_link()
    assert client.get(f"/l/{link.token}.", HTTP_USER_AGENT=PHONE).status_code == 302
    assert client.get(f"/l/{link.token}/", HTTP_USER_AGENT=PHONE).status_code == 302


def test_only_get_and_head(client):
    link = make_link()
    assert client.post(f"/l/{link.token}").status_code == 405
    assert Click.objects.count() == 0


# --- access -------------------------------------------------------------------------------------


def test_no_login_needed_and_a_logged_in_non_staff_user_is_not_refused(client, plain_user):
    link = make_link()
    assert client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE).status_code == 302
    client.force_login(plain_user)
    assert client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE).status_code == 302
    # ... while the rest of the site stays closed to them.
    assert client.get("/campaigns/").status_code == 403


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_concurrent_first_clicks_count_one_unique(transactional_db):
    link = make_link()

    def open_link():
        return Client().get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE).status_code

    assert run_concurrently(open_link, 4) == [302] * 4
    assert Click.objects.filter(link=link).count() == 4
    assert Click.objects.filter(link=link, is_unique=True).count() == 1


def test_a_failing_target_view_gets_a_friendly_page_and_is_logged(client, caplog):
    link = make_link({"view": "links.tests.targets.broken"})
    response = client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE)
    assert response.status_code == 500 and b"Please try the link again" in response.content
    assert b"RuntimeError" not in response.content
    assert "the target view 'links.tests.targets.broken' failed" in caplog.text
    assert Click.objects.get().is_unique  # the opening still counts


def test_an_opening_costs_a_fixed_handful_of_queries(client, django_assert_num_queries):
    link = make_link()
    # The lookup, then one transaction: the first-click UPDATE and the click's INSERT
    # (plus the savepoint pair inside the test's own transaction).
    for _ in range(2):
        with django_assert_num_queries(5):
            assert client.get(f"/l/{link.token}", HTTP_USER_AGENT=PHONE).status_code == 302
    with django_assert_num_queries(1):
        assert client.get("/l/AAAAAAAAAAAA", HTTP_USER_AGENT=PHONE).status_code == 404
