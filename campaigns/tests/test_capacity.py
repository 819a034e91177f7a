"""Before a campaign starts staff see how long it will take with today's SIMs and what it
costs in segments; one-to-one texts keep a share of every SIM and go before campaign texts."""

from decimal import Decimal

import pytest

from campaigns import capacity
from campaigns.fanout import SourceRow, create_campaign
from campaigns.models import Campaign
from campaigns.tests.conftest import make_template
from modems.models import SimCard
from modems.routing import CAMPAIGN_SHARE_USED
from modems.testing import create_sim
from sms.api import send
from sms.dispatch import claim_batch, dispatch
from sms.models import OutboundMessage, State, StatusChange

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sim_routing(settings):
    settings.SMS_ROUTER = "campaigns.routing.campaign_router"
    settings.CAMPAIGNS_INNER_ROUTER = "modems.routing.sim_router"
    settings.MODEMS_RESERVED_SHARE = 0.1


def pasted(n, start=1):
    return "\n".join(f"074500{i:05d},Person {i}" for i in range(start, start + n))


def test_a_campaign_too_big_for_today_is_held_with_the_estimate(staff_client):
    create_sim(daily_limit=10)  # 9 campaign segments a day, 1 kept for one-to-one texts
    template = make_template()
    response = staff_client.post(
        "/campaigns/new/", {"name": "Big", "template": template.pk, "numbers": pasted(40)}, follow=True
    )
    html = response.content.decode()
    campaign = Campaign.objects.get(name="Big")
    assert campaign.state == Campaign.State.PAUSED and "Held for review" in campaign.paused_reason
    assert "about 5 days at today&#x27;s limits (9 campaign segments a day on 1 SIM)" in html
    assert "40 texts in 40 segments (0% UCS-2)" in html
    assert dispatch().claimed == 0  # nothing left before staff resumed it
    assert 'id="estimate"' in html and ">Resume<" in html


def test_a_campaign_that_fits_today_starts_at_once_and_says_so(staff_client):
    create_sim(daily_limit=100)
    template = make_template()
    response = staff_client.post(
        "/campaigns/new/", {"name": "Small", "template": template.pk, "numbers": pasted(5)}, follow=True
    )
    assert Campaign.objects.get(name="Small").state == Campaign.State.RUNNING
    assert "it fits in today&#x27;s allowance" in response.content.decode()


def test_the_estimate_counts_ucs2_segments_and_campaigns_ahead():
    create_sim(daily_limit=100)
    make_template(body="{greeting} {name}, our offer!")
    create_campaign(name="First", source="manual", rows=[SourceRow("Group A", "07450000001", "Ann")])
    rows = [SourceRow("Group A", f"0745000010{i}", "Łukasz" if i < 2 else "Bob") for i in range(4)]
    second, _ = create_campaign(name="Second", source="manual", rows=rows)
    estimate = capacity.for_campaign(second)
    assert (estimate.texts, estimate.ucs2_texts, estimate.ucs2_share) == (4, 2, 0.5)
    assert estimate.segments == 4  # short texts: one segment each
    assert estimate.ahead_segments == 1 and estimate.per_day == 90 and estimate.finishes_today
    assert "(50% UCS-2)" in estimate.summary()
    assert estimate.cost is None  # no price per segment on SIM cards yet: segments only


def test_the_cost_uses_the_sims_price_per_segment_when_they_have_one(monkeypatch):
    sims = [SimCard(daily_limit=100, backend="locmem"), SimCard(daily_limit=300, backend="locmem")]
    sims[0].price_per_segment, sims[1].price_per_segment = Decimal("0.04"), Decimal("0.02")
    price, _ = capacity._price(sims)
    assert price == Decimal("0.025")  # weighted by what each SIM may carry


def test_a_text_from_compose_goes_first_and_finds_the_reserved_allowance(outbox):
    create_sim(daily_limit=10)  # campaigns may use 9
    make_template()
    rows = [SourceRow("Group A", f"074500000{i:02d}", "P") for i in range(12)]
    create_campaign(name="Big", source="manual", rows=rows)
    summary = dispatch()
    assert summary.sent == 9 and summary.deferred == 3
    notes = set(StatusChange.objects.filter(state=State.WAITING).values_list("note", flat=True))
    assert CAMPAIGN_SHARE_USED in notes
    manual = send("+447911123001", "Your table is ready", tag="manual")
    assert dispatch().sent == 1
    manual.refresh_from_db()
    assert manual.state == State.SENT  # not tomorrow behind the campaign


def test_one_to_one_texts_are_claimed_before_older_campaign_texts():
    make_template()
    create_campaign(
        name="Big", source="manual", rows=[SourceRow("Group A", f"074500000{i:02d}", "P") for i in range(5)]
    )
    manual = send("+447911123001", "Your order has shipped", tag="transactional")
    claimed = claim_batch(size=1)
    assert [m.pk for m in claimed] == [manual.pk]


def test_the_page_says_the_sims_are_at_their_limit_not_going_out_now(staff_client):
    create_sim(daily_limit=10)
    make_template()
    campaign, _ = create_campaign(
        name="Big", source="manual", rows=[SourceRow("Group A", f"074500000{i:02d}", "P") for i in range(12)]
    )
    dispatch()
    OutboundMessage.objects.filter(campaign=campaign, state=State.WAITING).update(next_attempt_at=None)
    html = staff_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "every SIM has used today's campaign allowance: continues tomorrow" in html
    assert "going out now" not in html
