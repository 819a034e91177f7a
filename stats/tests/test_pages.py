"""The Stats page against the hand-counted world of conftest.py: exact figures, links, CSV."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sms import rollups
from sms.models import OutboundMessage, State
from sms.testing import assert_staff_only
from stats.ranges import Period
from stats.sections import SECTIONS

pytestmark = pytest.mark.django_db


def _csv(client, section, table, query="range=7d"):
    response = client.get(reverse("stats:csv", args=[section, table]) + "?" + query)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_texts_per_sim_per_day_table(staff_client, world):
    rows = _csv(staff_client, "sims", "texts-per-sim")
    assert rows[0] == [
        "Day",
        "S1 sent",
        "S1 received",
        "S2 sent",
        "S2 received",
        "Default backend (locmem) sent",
        "Default backend (locmem) received",
    ]
    today, yesterday = timezone.localdate(), timezone.localdate() - timedelta(days=1)
    assert rows[1] == [str(today), "4", "2", "1", "0", "0", "0"]
    assert rows[2] == [str(yesterday), "1", "0", "0", "1", "1", "0"]
    assert len(rows) == 1 + 7 + 1 and rows[-1] == ["Total", "5", "2", "1", "1", "1", "0"]


def test_each_count_links_to_that_sims_texts_of_that_day(staff_client, world):
    html = staff_client.get(reverse("stats:index") + "?range=7d").content.decode()
    today = timezone.localdate()
    url = f"/sms/outbound/?sim={world['s1'].pk}&amp;day={today:%Y-%m-%d}"
    assert f'<a href="{url}">4</a>' in html
    listing = staff_client.get(url.replace("&amp;", "&")).content.decode()
    assert listing.count("/sms/outbound/") - listing.count('href="/sms/outbound/"') >= 4
    assert staff_client.get(url.replace("&amp;", "&")).context["table"].paginator.count == 4
    inbound = f"/sms/received/?sim={world['s2'].pk}&day={today - timedelta(days=1):%Y-%m-%d}"
    assert staff_client.get(inbound).context["table"].paginator.count == 1
    none = f"/sms/outbound/?sim=none&backend=locmem&day={today - timedelta(days=1):%Y-%m-%d}"
    assert staff_client.get(none).context["table"].paginator.count == 1


def test_table_cells_are_escaped_once(staff_client, world):
    from campaigns.models import Campaign

    Campaign.objects.filter(name="Spring").update(name="<b>Spring & Co</b>")
    html = staff_client.get(reverse("stats:section", args=["replies"]) + "?range=7d").content.decode()
    assert '<th scope="row" class="text-nowrap fw-normal">&lt;b&gt;Spring &amp; Co&lt;/b&gt;</th>' in html
    assert "<b>Spring" not in html and "&amp;amp;" not in html


def test_least_used_sim_today_is_named(staff_client, world):
    html = staff_client.get(reverse("stats:index")).content.decode()
    assert re.search(
        r'id="least-used">Least used SIM today: <a href="[^"]+"><strong>S2</strong></a> \(1 text sent', html
    )


def test_delivery_per_route_and_network_and_top_errors(staff_client, world):
    routes = _csv(staff_client, "delivery", "delivery-by-route")
    # Route, Network, Texts, Delivered, Sent no report, Undelivered, Failed, Unknown, Refused, Waiting, Rate
    assert routes[1] == ["S1", "Net A", "5", "3", "1", "1", "0", "0", "0", "0", "60.0"]
    assert routes[2] == ["S2", "Net B", "1", "0", "1", "0", "0", "0", "0", "0", "0.0"]
    assert routes[3] == ["Default backend (locmem)", "—", "1", "0", "0", "0", "1", "0", "0", "0", ""]
    networks = _csv(staff_client, "delivery", "delivery-by-network")
    assert networks[1][:3] == ["Net A", "5", "3"] and networks[2][:3] == ["Net B", "1", "0"]
    errors = _csv(staff_client, "delivery", "top-errors")
    assert errors[1:] == [
        ["S1", "Net A", "Absent subscriber", "1"],
        ["Default backend (locmem)", "—", "Invalid number", "1"],
    ]


def test_replies_per_type_and_rates_per_campaign_and_template(staff_client, world):
    by_type = _csv(staff_client, "replies", "replies-by-type")
    header = by_type[0]
    row = dict(zip(header, by_type[1], strict=True))
    assert row["Campaign"] == "Spring" and row["Thanks"] == "1" and row["End"] == "1" and row["Total"] == "2"
    campaign = _csv(staff_client, "replies", "rates-by-campaign")
    # Spring: 4 texts went out (3 today, 1 yesterday); 2 replies; 1 opt-out; no tracked links.
    assert campaign[1] == ["Spring", "4", "2", "50.0", "1", "25.0", "0", "0", ""]
    template = _csv(staff_client, "replies", "rates-by-template")
    assert template[1] == ["Group A", "4", "2", "50.0", "1", "25.0", "0", "0", ""]


def test_click_through_per_campaign_and_template(staff_client, world):
    from links.models import Click, Link

    spring = OutboundMessage.objects.filter(campaign__name="Spring").order_by("created_at", "pk")
    delivered = [m for m in spring if m.state == State.DELIVERED]  # yesterday's and today's two
    undelivered = next(m for m in spring if m.state == State.ERROR_UPDATE)
    for i, message in enumerate([*delivered, undelivered]):
        Link.objects.create(token=f"tok{i}", message=message, recipient=f"+44791112300{i}")
    first = Link.objects.get(token="tok1")
    first.first_clicked_at = timezone.now()
    first.save()
    Click.objects.create(link=first, user_agent="phone")
    Click.objects.create(link=Link.objects.get(token="tok2"), user_agent="WhatsApp/2", is_bot=True)  # a bot
    # 4 texts with a link, 3 of them delivered, 1 person clicked: 33.3 %.
    campaign = _csv(staff_client, "replies", "rates-by-campaign")
    assert campaign[0][-3:] == ["Texts with a link", "People who clicked", "Click-through %"]
    assert campaign[1] == ["Spring", "4", "2", "50.0", "1", "25.0", "4", "1", "33.3"]
    template = _csv(staff_client, "replies", "rates-by-template")
    assert template[1][-3:] == ["4", "1", "33.3"]
    today = _csv(
        staff_client,
        "replies",
        "rates-by-campaign",
        f"range=custom&from={timezone.localdate()}&to={timezone.localdate()}",
    )
    assert today[1][-3:] == ["3", "1", "50.0"]  # today only: yesterday's delivered text is out of range


def test_consent_over_time_by_source(staff_client, world):
    rows = _csv(staff_client, "consent", "consent")
    assert rows[0][1:] == [
        f"{k} by {s}" for k in ("Opt-outs", "Opt-ins") for s in ("keyword", "classifier", "staff", "import")
    ]
    assert rows[1][1:] == ["1", "0", "0", "0", "0", "0", "0", "0"]  # today: STOP
    assert rows[2][1:] == ["0", "0", "0", "0", "0", "0", "1", "0"]  # yesterday: staff, by phone


def test_cost_per_route_and_the_ucs2_share(staff_client, world):
    rows = _csv(staff_client, "cost", "cost-by-route")
    # Charged: S1 has 2 delivered + 1 undelivered + 1 sent (UCS-2, 2 parts) today + 1 delivered yesterday.
    assert rows[1] == ["S1", "5", "6", "1", "2", "0.04000", "GBP", "0.24"]
    assert rows[2] == ["S2", "1", "1", "0", "0", "", "", ""]
    assert rows[-1] == ["Total", "6", "7", "1", "2", "", "", "0.24 GBP"]
    html = staff_client.get(reverse("stats:section", args=["cost"])).content.decode()
    assert 'id="ucs2-one-char">1</strong>' in html and "U+2019" in html and "1 extra segment" in html


def test_sorting_and_review_queue(staff_client, world):
    rows = _csv(staff_client, "sorting", "sorting")
    assert rows[1][1:] == ["2", "1", "1", "0", "0", "0"]  # today: keyword 1, classifier 1
    assert rows[2][1:] == ["1", "0", "0", "0", "1", "0"]  # yesterday: 1 still waiting
    html = staff_client.get(reverse("stats:section", args=["sorting"])).content.decode()
    assert 'id="waiting-now"><strong>1</strong>' in html


def test_custom_range_and_a_bad_range_falls_back_to_30_days(staff_client, world):
    yesterday = timezone.localdate() - timedelta(days=1)
    rows = _csv(staff_client, "sims", "texts-per-sim", f"range=custom&from={yesterday}&to={yesterday}")
    assert [r[0] for r in rows[1:]] == [str(yesterday), "Total"]
    response = staff_client.get(reverse("stats:index") + "?range=custom&from=2026-05-02&to=2026-05-01")
    assert response.context["period"].preset == "30d" and "ends before it starts" in response.content.decode()


def test_figures_are_the_same_before_and_after_compaction(staff_client, world):
    before = _csv(staff_client, "sims", "texts-per-sim")
    assert rollups.OutboundCountDelta.objects.exists()  # the world's texts are still deltas
    rollups.compact()
    assert not rollups.OutboundCountDelta.objects.exists()
    assert _csv(staff_client, "sims", "texts-per-sim") == before


# Session + user, then: roll-up reads are two queries each (counts + deltas).
QUERIES = {
    "sims": 2 + 1 + 4 + 2,  # SIMs; per-SIM out/in; chart out (its received: the same read)
    "delivery": 2 + 1 + 2 + 2,  # SIMs; states per route; SIMs and failed texts for the reasons
    # the replies' roll-up, texts sent; by type: types, names; per campaign / template: opt-out
    # types, names, click-through (links)
    "replies": 2 + 2 + 2 + 2 + 2 * 3,
    "consent": 2 + 1,
    "cost": 2 + 1 + 2 + 1,  # SIMs; segments; the UCS-2 sample
    "sorting": 2 + 2 + 2,  # replies by day (the replies' roll-up), staff labels by day, waiting now
}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_each_section_query_count_is_pinned(staff_client, world, section, django_assert_num_queries):
    from django.core.cache import cache

    url = reverse("stats:section", args=[section])
    staff_client.get(url)
    cache.clear()  # the section's figures again (charts are drawn again too: no queries)
    with django_assert_num_queries(QUERIES[section] + 1):  # + the data version
        assert staff_client.get(url).status_code == 200
    with django_assert_num_queries(3):  # unchanged data: session, user, data version
        assert staff_client.get(url).status_code == 200


def test_a_new_text_or_label_shows_at_once_despite_the_cache(staff_client, world):
    from replies.models import Label, Source
    from stats.tests.conftest import _out

    assert _csv(staff_client, "sims", "texts-per-sim")[1][3] == "1"  # S2 today
    _out(world["s2"], "delivered")
    assert _csv(staff_client, "sims", "texts-per-sim")[1][3] == "2"
    assert _csv(staff_client, "sorting", "sorting")[1][-1] == "0"
    message = world["s1"].inbound_messages.first()
    Label.objects.create(message=message, type_name="Thanks", source=Source.STAFF, at=timezone.now())
    assert _csv(staff_client, "sorting", "sorting")[1][-1] == "1"


def test_a_text_folded_in_by_a_compaction_shows_at_once(staff_client, world):
    """Right after a compaction no delta is left, so the newest delta ids read the same as after
    the one before; the version also counts compactions, so the page is not served from the
    cache of the data before the second one."""
    from stats.sections import data_version
    from stats.tests.conftest import _out

    rollups.compact()
    before = data_version()
    assert _csv(staff_client, "sims", "texts-per-sim")[1][3] == "1"  # cached under `before`
    _out(world["s2"], "delivered")
    rollups.compact()
    assert data_version() != before
    assert _csv(staff_client, "sims", "texts-per-sim")[1][3] == "2"


@pytest.mark.parametrize("section", list(SECTIONS))
def test_query_count_does_not_grow_with_the_data(staff_client, world, section, django_assert_num_queries):
    from stats.tests.conftest import _out

    url = reverse("stats:section", args=[section])
    staff_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        staff_client.get(url)
    for days_ago in range(5):
        for _ in range(3):
            _out(world["s2"], "delivered", days_ago=days_ago)
    staff_client.get(url)
    with CaptureQueriesContext(connection) as large:
        staff_client.get(url)
    assert len(large) == len(small)


def test_stats_pages_and_csv_are_staff_only(client, plain_user):
    urls = [("get", reverse("stats:index"))]
    urls += [("get", reverse("stats:section", args=[s])) for s in SECTIONS]
    urls += [("get", reverse("stats:csv", args=["sims", "texts-per-sim"]))]
    assert_staff_only(client, plain_user, urls)


def test_unknown_section_or_table_is_404(staff_client):
    assert staff_client.get("/stats/nope/").status_code == 404
    assert staff_client.get("/stats/sims/nope.csv").status_code == 404


def test_period_presets():
    from datetime import date

    from stats.ranges import preset

    today = date(2026, 3, 15)
    assert preset("7d", today) == Period(date(2026, 3, 9), today, "7d")
    assert preset("30d", today).first == date(2026, 2, 14)
    assert preset("month", today).first == date(2026, 3, 1)
    assert preset("last-month", today) == Period(date(2026, 2, 1), date(2026, 2, 28), "last-month")
