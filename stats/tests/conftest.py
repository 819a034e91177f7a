"""A small, hand-counted world for the Stats page (every expected figure is counted below).

Today (local), at 10:00:
  S1 (Net A, 0.04 GBP a part): 3 texts of campaign "Spring" / template "Group A": delivered,
     delivered, undelivered ("Absent subscriber"); one more text, UCS-2 because of one ’,
     100 characters: 2 parts (would be 1 in GSM-7), sent.
  S2 (Net B, no price):  1 text, sent, GSM-7.
  2 replies on S1 to Spring's delivered texts: "Thanks" (classifier) and "STOP" (keyword,
     opt-out, the consent ledger: keyword).
Yesterday at 10:00:
  S1: 1 text delivered (campaign Spring).
  no SIM (default backend locmem): 1 text failed to send ("Invalid number").
  1 reply on S2 (no campaign) waiting for review; an opt-in recorded by staff (phone).
"""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Template
from modems.testing import create_network, create_sim
from replies.models import Reply, ReplyType, Source
from sms.models import ConsentEvent, Contact, InboundMessage, OutboundMessage, State

UCS2_TEXT = "It’s ready: " + "x" * 88  # 100 characters, one of them outside GSM-7


def at(days_ago: int, hour: int = 10):
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=days_ago), time(hour)))


def _out(sim, state, *, days_ago=0, campaign=None, template=None, content="Hello", encoding="gsm7", segments=1, **kw):
    return OutboundMessage.objects.create(
        recipient=kw.pop("recipient", "+447911123001"),
        content=content,
        state=state,
        sim=sim,
        backend=sim.backend if sim else "locmem",
        campaign=campaign,
        template=template,
        tag="first" if campaign else "",
        encoding=encoding,
        segments=segments,
        created_at=at(days_ago),
        **kw,
    )


def _in(sim, content, *, days_ago=0, reply_to=None, n=[0]):  # a counter for ids
    n[0] += 1
    return InboundMessage.objects.create(
        sender="+447911123001",
        content=content,
        backend="locmem",
        external_id=f"stats-{n[0]}",
        sim=sim,
        in_reply_to=reply_to,
        received_at=at(days_ago, 11),
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Section caches are keyed by the data's ids, which another test's rolled-back data reuses."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db):
    from replies.testing import ensure_reply_types

    if not ReplyType.objects.exists():  # a transactional (browser) test's flush removed them
        ensure_reply_types()
    from django.conf import settings

    from sms import rollups

    rollups.set_zone(settings.TIME_ZONE)  # likewise the roll-ups' zone row
    s1 = create_sim(name="S1", network=create_network("Net A"), price_per_segment=Decimal("0.04"), currency="GBP")
    s2 = create_sim(name="S2", network=create_network("Net B"), number="+447700900002")
    template = Template.objects.create(name="Group A", slug="group-a", body="Hello {name}")
    spring = Campaign.objects.create(name="Spring")
    d1 = _out(s1, State.DELIVERED, campaign=spring, template=template)
    d2 = _out(s1, State.DELIVERED, campaign=spring, template=template)
    _out(s1, State.ERROR_UPDATE, campaign=spring, template=template, error="Absent subscriber")
    _out(s1, State.SENT, content=UCS2_TEXT, encoding="ucs2", segments=2)
    _out(s2, State.SENT)
    _out(s1, State.DELIVERED, days_ago=1, campaign=spring, template=template)
    _out(None, State.ERROR, days_ago=1, error="Invalid number")
    thanks, end = ReplyType.objects.get(slug="thanks"), ReplyType.objects.get(slug="end")
    r1 = _in(s1, "Thanks", reply_to=d1)
    Reply.objects.create(message=r1, reply_type=thanks, source=Source.CLASSIFIER, needs_review=False)
    r2 = _in(s1, "STOP", reply_to=d2)
    Reply.objects.create(message=r2, reply_type=end, source=Source.KEYWORD, keyword="stop", needs_review=False)
    r3 = _in(s2, "who is this?", days_ago=1)
    Reply.objects.create(message=r3, needs_review=True)
    contact = Contact.objects.create(number="+447911123001")
    ConsentEvent.objects.create(contact=contact, number=contact.number, kind="opt_out", source="keyword", at=at(0))
    ConsentEvent.objects.create(contact=contact, number=contact.number, kind="opt_in", source="phone", at=at(1))
    return {"s1": s1, "s2": s2, "spring": spring, "template": template}
