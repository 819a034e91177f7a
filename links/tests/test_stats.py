"""Click-through (unique clicks / delivered) and clicks per day, in a bounded number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.fanout import SourceRow, fan_out
from campaigns.models import Campaign
from campaigns.tests.conftest import make_template
from links.models import Link
from links.services import click_stats, record_click
from sms import api
from sms.models import OutboundMessage, State

pytestmark = pytest.mark.django_db

TARGET = {"url": "https://shop.example.com/offer"}


def send_links(n, *, delivered, tag="t"):
    messages = [api.send(f"+4479111230{i:02d}", "Here: {link}", tag=tag, extra_data={"link": TARGET}) for i in range(n)]
    OutboundMessage.objects.filter(pk__in=[m.pk for m in messages[:delivered]]).update(state=State.DELIVERED)
    return [m.link for m in messages]


def test_click_through_is_unique_clicks_over_delivered():
    links = send_links(5, delivered=4)
    now = timezone.now()
    record_click(links[0], user_agent="phone", is_bot=False, at=now - timedelta(days=1))
    record_click(links[0], user_agent="phone", is_bot=False, at=now)
    record_click(links[1], user_agent="phone", is_bot=False, at=now)
    record_click(links[2], user_agent="WhatsApp/2", is_bot=True, at=now)
    stats = click_stats(OutboundMessage.objects.all(), now=now)
    assert (stats.texts, stats.delivered, stats.unique, stats.opens, stats.bots) == (5, 4, 2, 3, 1)
    assert stats.click_through == 50.0
    assert len(stats.days) == 14 and stats.days[-1] == timezone.localdate(now)
    assert stats.series["opens"][-2:] == [1, 2]
    assert stats.series["unique"][-2:] == [1, 1]
    assert stats.series["bots"][-1] == 1 and sum(stats.series["bots"]) == 1


def test_a_recipient_with_two_links_counts_once_on_the_day_of_their_first_click():
    first = api.send("+447911123001", "{link}", extra_data={"link": TARGET}).link
    second = api.send("+447911123001", "{link}", extra_data={"link": TARGET}).link
    OutboundMessage.objects.update(state=State.DELIVERED)
    now = timezone.now()
    record_click(second, user_agent="phone", is_bot=False, at=now - timedelta(days=2))
    record_click(first, user_agent="phone", is_bot=False, at=now)
    stats = click_stats(OutboundMessage.objects.all(), now=now)
    assert (stats.unique, stats.opens, stats.click_through) == (1, 2, 50.0)
    assert stats.series["unique"][-3:] == [1, 0, 0] and sum(stats.series["unique"]) == 1
    assert stats.series["opens"][-3:] == [1, 0, 1]


def test_only_the_given_texts_count():
    send_links(2, delivered=2, tag="a")
    other = send_links(2, delivered=2, tag="b")
    record_click(other[0], user_agent="phone", is_bot=False)
    assert click_stats(OutboundMessage.objects.filter(tag="a")).unique == 0
    assert click_stats(OutboundMessage.objects.filter(tag="b")).unique == 1


def test_nothing_delivered_yet_has_no_click_through():
    send_links(2, delivered=0)
    assert click_stats(OutboundMessage.objects.all()).click_through is None


def test_no_links_costs_one_query():
    api.send("+447911123001", "no link")
    with CaptureQueriesContext(connection) as ctx:
        assert click_stats(OutboundMessage.objects.all()).texts == 0
    assert len(ctx) == 1


def test_query_count_does_not_grow_with_links_and_clicks():
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            click_stats(OutboundMessage.objects.all())
        return len(ctx)

    links = send_links(3, delivered=3)
    record_click(links[0], user_agent="phone", is_bot=False)
    small = queries()
    for link in send_links(30, delivered=20) + links:
        record_click(link, user_agent="phone", is_bot=False)
        record_click(link, user_agent="Twitterbot/1.0", is_bot=True)
    assert queries() == small == 4


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def campaign_with_clicks():
    template = make_template(body="{name}, 15% off: {link}", link_url=TARGET["url"])
    campaign = Campaign.objects.create(name="c")
    fan_out(campaign=campaign, rows=[SourceRow("Group A", f"07450{i:06d}", f"N{i}") for i in range(4)])
    OutboundMessage.objects.update(state=State.DELIVERED)
    for link in Link.objects.order_by("pk")[:2]:
        record_click(link, user_agent="phone", is_bot=False)
    record_click(Link.objects.first(), user_agent="Slackbot-LinkExpanding 1.0", is_bot=True)
    return campaign, template


def test_campaign_page_shows_click_through_and_a_chart(staff_client, campaign_with_clicks):
    campaign, _ = campaign_with_clicks
    body = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "data-click-through>50.0%" in body
    assert "data-unique>2<" in body and "data-opens>2<" in body and "data-bots>1<" in body
    assert '<g data-series="opens">' in body and '<g data-series="unique">' in body


def test_template_page_shows_its_clicks(staff_client, campaign_with_clicks):
    _, template = campaign_with_clicks
    body = staff_client.get(f"/campaigns/templates/{template.pk}/").content.decode()
    assert 'id="link-clicks"' in body and "data-click-through>50.0%" in body


def test_a_campaign_without_links_says_so(staff_client):
    make_template()
    campaign = Campaign.objects.create(name="c")
    fan_out(campaign=campaign, rows=[SourceRow("Group A", "07450000001", "Ann")])
    body = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "No tracked links in these texts" in body


def test_the_partial_renders_for_any_queryset_of_texts(rf):
    from django.template.loader import render_to_string

    links = send_links(2, delivered=2, tag="keyword")
    record_click(links[0], user_agent="phone", is_bot=False)
    html = render_to_string("links/_clicks.html", {"texts": OutboundMessage.objects.filter(tag="keyword")})
    assert "data-click-through>50.0%" in html
