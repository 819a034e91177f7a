"""Every path that queues a text turns {link} into the recipient's own working link."""

import math
import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.fanout import SourceRow, fan_out
from campaigns.followups import send_followups
from campaigns.models import Campaign, Recipient
from campaigns.tests.conftest import make_template
from links.hook import ALPHABET, TOKEN_LENGTH, new_token
from links.models import Link
from sms import api
from sms.dispatch import dispatch
from sms.encoding import segment_info
from sms.models import OutboundMessage, State

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https://texting\.example\.com/l/([A-Za-z0-9]+)")
TARGET = {"url": "https://shop.example.com/offer"}
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def token_of(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(1)


def assert_working_link(client, message: OutboundMessage, target: str = TARGET["url"]) -> str:
    """The stored text carries a link of its own that redirects to ``target``."""
    message.refresh_from_db()
    assert "{link}" not in message.content
    token = token_of(message.content)
    link = Link.objects.get(token=token)
    assert link.message_id == message.pk and link.recipient == message.recipient
    assert message.extra_data["link"]["token"] == token
    info = segment_info(message.content)
    assert (message.encoding, message.segments) == (info.encoding, info.segments)
    response = client.get(f"/l/{token}", HTTP_USER_AGENT=PHONE)
    assert response.status_code == 302 and response["Location"] == target
    return token


def test_tokens_are_long_random_and_url_safe():
    tokens = [new_token() for _ in range(20_000)]
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) == TOKEN_LENGTH and set(t) <= set(ALPHABET) for t in tokens)
    assert TOKEN_LENGTH * math.log2(len(ALPHABET)) >= 64
    # Every character is used about evenly at every position: no structure to guess from.
    for position in (0, TOKEN_LENGTH - 1):
        counts = Counter(t[position] for t in tokens)
        assert len(counts) == len(ALPHABET)
        assert max(counts.values()) < 3 * len(tokens) / len(ALPHABET)


def test_send_makes_a_link_and_counts_its_real_length(client):
    message = api.send("+447911123001", "Your ticket: {link}", extra_data={"link": TARGET})
    assert message.state == State.WAITING
    assert_working_link(client, message)
    assert len(message.content) == len("Your ticket: ") + len("https://texting.example.com/l/") + TOKEN_LENGTH


def test_the_sent_text_is_the_one_with_the_link(client, outbox):
    message = api.send("+447911123001", "Open {link} now", extra_data={"link": TARGET}, send_immediately=True)
    assert outbox[0]["body"] == message.content
    assert_working_link(client, message)


def test_each_recipient_gets_a_link_of_their_own(client):
    first = api.send("+447911123001", "{link}", extra_data={"link": TARGET})
    second = api.send("+447911123001", "{link}", extra_data={"link": TARGET})
    assert token_of(first.content) != token_of(second.content)


def test_a_link_to_a_target_view(client):
    message = api.send(
        "+447911123001", "Finish here: {link}", extra_data={"link": {"view": "links.tests.targets.thank_you"}}
    )
    token = token_of(message.content)
    response = client.get(f"/l/{token}", HTTP_USER_AGENT=PHONE)
    assert response.status_code == 200 and b"Thanks, +447911123001" in response.content


def test_send_template_uses_the_templates_link_target(client):
    make_template(name="Tickets", slug="tickets", body="Hi {name}, your ticket: {link}", link_url=TARGET["url"])
    message = api.send_template("+447911123001", "tickets", {"name": "Ann"})
    assert message.state == State.WAITING and message.content.startswith("Hi Ann, your ticket: https://")
    assert_working_link(client, message)


def test_send_template_link_argument_overrides_the_template(client):
    make_template(name="Tickets", slug="tickets", body="Your ticket: {link}", link_url=TARGET["url"])
    message = api.send_template("+447911123001", "tickets", link={"url": "https://other.example.com/"})
    assert_working_link(client, message, "https://other.example.com/")


def test_campaign_fan_out_gives_every_recipient_a_link(client):
    make_template(body="{name}, 15% off: {link}", link_url=TARGET["url"])
    campaign = Campaign.objects.create(name="c")
    result = fan_out(campaign=campaign, rows=[SourceRow("Group A", f"07450{i:06d}", f"N{i}") for i in range(5)])
    assert result.queued == 5
    messages = list(OutboundMessage.objects.filter(campaign=campaign))
    tokens = {assert_working_link(client, m) for m in messages}
    assert len(tokens) == 5 and Link.objects.count() == 5


def test_fan_out_queries_do_not_grow_with_rows():
    """Links add one bulk INSERT per batch (split only by SQLite's parameter cap), no per-row query."""
    make_template(body="{name}, 15% off: {link}", link_url=TARGET["url"])
    counts = []
    for n in (10, 400):
        campaign = Campaign.objects.create(name=f"c{n}")
        rows = [SourceRow("Group A", f"0745{n:03d}{i:04d}", f"N{i}") for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            assert fan_out(campaign=campaign, rows=rows, batch_size=500).queued == n
        link_inserts = [q for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "links_link"')]
        others = [q for q in ctx.captured_queries if not q["sql"].startswith("INSERT")]
        counts.append((len(others), len(link_inserts)))
    assert counts[0][0] == counts[1][0]
    assert counts[0][1] == 1 and counts[1][1] <= 4
    assert Link.objects.count() == 410


def test_follow_ups_get_links_of_their_own(client):
    make_template(
        body="Hi {name}",
        followup_body="{name}, last chance: {link}",
        link_url=TARGET["url"],
        followup_delay=timedelta(days=2),
    )
    campaign = Campaign.objects.create(name="c")
    fan_out(campaign=campaign, rows=[SourceRow("Group A", "07450000001", "Ann")])
    dispatch()
    past = timezone.now() - timedelta(days=3)
    OutboundMessage.objects.update(sent_at=past, created_at=past)
    Recipient.objects.update(created_at=past)
    assert send_followups().queued == 1
    followup = OutboundMessage.objects.get(tag="followup")
    assert_working_link(client, followup)


def test_compose_page_sends_a_link(staff_client, outbox):
    response = staff_client.post(
        "/sms/compose/",
        {"recipient": "07911 123001", "content": "Your receipt: {link}", "link_url": TARGET["url"]},
    )
    assert response.status_code == 302
    message = OutboundMessage.objects.get()
    assert outbox[0]["body"] == message.content
    staff_client.logout()
    assert_working_link(staff_client, message)


def test_keyword_style_reply_passes_its_target_in_extra_data(client):
    # What the keywords app's replies do: send(..., extra_data={"link": {...}}).
    message = api.send(
        "+447911123001",
        "Thanks for texting UNICORN! Claim it: {link}",
        tag="keyword",
        extra_data={"link": {"view": "links.tests.targets.thank_you"}},
    )
    response = client.get(f"/l/{token_of(message.content)}", HTTP_USER_AGENT=PHONE)
    assert response.status_code == 200


# --- never a broken link ----------------------------------------------------------------------


def test_without_a_public_url_the_text_is_refused_with_the_reason(settings, outbox):
    settings.SMS_PUBLIC_URL = ""
    message = api.send("+447911123001", "Open {link}", extra_data={"link": TARGET}, send_immediately=True)
    assert message.state == State.REFUSED and "SMS_PUBLIC_URL is not configured" in message.error
    assert outbox == [] and Link.objects.count() == 0


def test_a_public_url_without_scheme_is_refused(settings):
    settings.SMS_PUBLIC_URL = "texting.example.com"
    message = api.send("+447911123001", "Open {link}", extra_data={"link": TARGET})
    assert message.state == State.REFUSED and "must start with https://" in message.error


@pytest.mark.parametrize(
    ("extra_data", "reason"),
    [
        ({}, "names no link target"),
        ({"link": {"url": "javascript:alert(1)"}}, "not an http(s) URL"),
        ({"link": {"view": "links.tests.targets.missing"}}, "cannot be imported"),
        ({"link": {"view": "links.tests.targets.not_callable"}}, "not callable"),
        ({"link": {"url": "https://a.example/", "view": "links.tests.targets.thank_you"}}, "not both"),
    ],
)
def test_a_text_with_link_but_no_usable_target_is_refused(extra_data, reason, outbox):
    message = api.send("+447911123001", "Open {link}", extra_data=extra_data, send_immediately=True)
    assert message.state == State.REFUSED and reason in message.error
    assert message.status_changes.get().note == message.error
    assert outbox == []


def test_without_a_link_hook_link_texts_are_refused(settings):
    settings.SMS_LINK_HOOK = ""
    message = api.send("+447911123001", "Open {link}", extra_data={"link": TARGET})
    assert message.state == State.REFUSED and "SMS_LINK_HOOK" in message.error
    assert api.send("+447911123001", "No link here").state == State.WAITING


def test_an_opted_out_number_gets_no_link(client):
    from sms.testing import create_contact

    create_contact("+447911123001", opted_out_at=timezone.now())
    message = api.send("+447911123001", "Open {link}", extra_data={"link": TARGET})
    assert message.state == State.REFUSED and "opted out" in message.error
    assert Link.objects.count() == 0


def test_fan_out_skips_a_group_whose_links_cannot_be_made(settings):
    make_template(body="{name}: {link}", link_url=TARGET["url"])
    settings.SMS_PUBLIC_URL = ""
    campaign = Campaign.objects.create(name="c")
    result = fan_out(campaign=campaign, rows=[SourceRow("Group A", "07450000001", "Ann")])
    assert result.queued == 0 and "SMS_PUBLIC_URL is not configured" in result.skipped_groups["Group A"]
    assert OutboundMessage.objects.count() == 0


def test_a_link_column_in_the_source_does_not_replace_the_tracked_link(client):
    make_template(body="{name}: {link}", link_url=TARGET["url"])
    campaign = Campaign.objects.create(name="c")
    fan_out(
        campaign=campaign, rows=[SourceRow("Group A", "07450000001", "Ann", {"link": "https://elsewhere.example/"})]
    )
    message = OutboundMessage.objects.get()
    assert "elsewhere" not in message.content
    assert_working_link(client, message)
