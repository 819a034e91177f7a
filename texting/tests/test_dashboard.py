"""The dashboard: today's figures, the delivery rate, the 14-day chart, latest replies."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from sms import stats
from sms.models import OutboundMessage, State
from sms.testing import assert_staff_only, create_inbound, create_message

pytestmark = pytest.mark.django_db


def _stat(html, name):
    return re.search(rf'data-stat="{name}">([^<]*)<', html).group(1)


def _make(state, *, sent_days_ago=None, delivered=False):
    """A text in ``state``, queued and sent ``sent_days_ago`` (figures count it on its queue day)."""
    message = create_message(state=state)
    now = timezone.now()
    fields = {}
    if sent_days_ago is not None:
        fields["sent_at"] = now - timedelta(days=sent_days_ago)
        fields["changed_at"] = fields["created_at"] = fields["sent_at"]
    if delivered:
        fields["delivered_at"] = fields["sent_at"]
    OutboundMessage.objects.filter(pk=message.pk).update(**fields)
    return message


def test_dashboard_figures(staff_client):
    create_message()  # queued
    _make(State.SENT, sent_days_ago=0)
    _make(State.DELIVERED, sent_days_ago=0, delivered=True)
    _make(State.DELIVERED, sent_days_ago=0, delivered=True)
    _make(State.ERROR_UPDATE, sent_days_ago=0)
    _make(State.DELIVERED, sent_days_ago=3, delivered=True)
    _make(State.DELIVERED, sent_days_ago=20, delivered=True)  # outside the 7-day rate
    create_inbound(content="Thanks!")
    html = staff_client.get("/").content.decode()
    assert _stat(html, "queued") == "1"
    assert _stat(html, "sent") == "4"
    assert _stat(html, "delivered") == "2"
    assert _stat(html, "failed") == "1"
    assert _stat(html, "received") == "1"
    assert _stat(html, "delivery-rate") == "60%"  # 3 delivered of 5 sent in 7 days
    assert "Thanks!" in html


def test_daily_series_put_each_text_on_its_local_day():
    _make(State.DELIVERED, sent_days_ago=0, delivered=True)
    _make(State.DELIVERED, sent_days_ago=2, delivered=True)
    _make(State.ERROR_UPDATE, sent_days_ago=2)
    _make(State.SENT, sent_days_ago=30)
    create_inbound(received_at=timezone.now() - timedelta(days=1))
    dates, series = stats.daily(days=14)
    assert len(dates) == 14 and dates[-1] == timezone.localdate()
    assert series["sent"][-1] == 1 and series["sent"][-3] == 2 and sum(series["sent"]) == 3
    assert series["delivered"][-1] == 1 and series["delivered"][-3] == 1
    assert series["failed"][-3] == 1 and sum(series["failed"]) == 1
    assert series["replies"][-2] == 1


def test_dashboard_chart_is_inline_svg_with_every_series_and_its_text_alternative(staff_client):
    _make(State.DELIVERED, sent_days_ago=1, delivered=True)
    html = staff_client.get("/").content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    label = "Texts per day, last 14 days. Totals: sent 1, delivered 1, failed 0, replies 0"
    assert f'aria-label="{label}"' in svg and f"<title>{label}</title>" in svg
    legend = html[html.index('class="list-inline small mb-1 chart-legend"') :]
    legend = legend[: legend.index("</ul>")]
    for name in ("Sent (1)", "Delivered (1)", "Failed (0)", "Replies (0)"):
        assert name in legend  # the legend, as text under the picture (its totals move with every text)
    yesterday = timezone.localdate() - timedelta(days=1)
    table = html[html.rindex("</svg>") :]
    assert (
        table.count("<tr><td>") == 14
        and f"<tr><td>{yesterday:%-d %b}</td><td>1</td><td>1</td><td>0</td><td>0</td></tr>" in table
    )
    assert "http" not in svg.replace("http://www.w3.org/", "").replace("http://purl.org/", "")  # nothing fetched


def test_dashboard_query_count_is_pinned(staff_client, django_assert_num_queries):
    for i in range(20):
        message = create_message(f"+4479111{i:05d}")
        create_inbound(message.recipient, f"reply {i}", external_id=f"r{i}")
    # session, user, queued now, outbound roll-up (counts + deltas), inbound roll-up (counts +
    # deltas), latest replies, replies to sort, latest campaigns, gateway accounts low on balance,
    # unhealthy routes; 3 for refresh_states (a finished campaign reads Completed)
    with django_assert_num_queries(15):
        staff_client.get("/")


def test_empty_dashboard_says_so(staff_client):
    html = staff_client.get("/").content.decode()
    assert _stat(html, "delivery-rate") == "—" and "No replies yet." in html


def test_dashboard_denies_anonymous_and_non_staff(client, plain_user):
    assert_staff_only(client, plain_user, [("get", "/")])


def test_dashboard_shows_latest_campaigns_and_replies_waiting_to_be_sorted(staff_client):
    from campaigns.fanout import SourceRow, create_campaign
    from campaigns.tests.conftest import make_template
    from replies.models import Reply

    html = staff_client.get("/").content.decode()
    assert 'id="needs-review"' not in html and "No campaigns yet" in html
    make_template()
    create_campaign(name="Spring offer", source="manual", rows=[SourceRow("Group A", "07450000001", "Ann")])
    Reply.objects.create(message=create_inbound("+447450000009", "what time do you open?"))
    html = staff_client.get("/").content.decode()
    assert "Spring offer" in html and "1 to sort" in html and "?needs_review=true" in html
