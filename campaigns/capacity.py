"""How long a campaign will take and what it costs, with today's SIMs, daily limits, the share
kept for one-to-one texts, sending hours and the campaigns queued ahead of it.

The estimate is by the day: SIM allowances are daily, so a campaign of 20,000 segments on a SIM
that may send 450 campaign segments a day takes about 45 days whatever the gateway's speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from campaigns.models import Campaign, RejectedRow
from campaigns.schedule import window_for
from modems.models import SimCard, SimDayCount
from modems.routing import campaign_limit
from sms.models import DUE_STATES, Encoding, OutboundMessage


@dataclass
class Estimate:
    texts: int
    segments: int
    ucs2_texts: int
    ucs2_segments: int
    ahead_segments: int  # of other open campaigns, claimed before this one
    per_day: int | None  # campaign segments all active SIMs may send a day; None: no limit known
    today_left: int | None
    sims: int
    capped_rows: int  # rows held back by the per-contact caps
    window: str
    cost: Decimal | None = None
    currency: str = ""
    days: int = 0  # 0: nothing to send; 1: today
    last_day: date | None = None

    @property
    def ucs2_share(self) -> float:
        return self.ucs2_texts / self.texts if self.texts else 0.0

    @property
    def finishes_today(self) -> bool:
        return self.days <= 1

    @property
    def at_limit_today(self) -> bool:
        return self.per_day is not None and not self.today_left

    def summary(self) -> str:
        if not self.texts:
            return "Nothing left to send."
        parts = [
            f"{self.texts:,} text{'s' if self.texts != 1 else ''} in {self.segments:,} segment"
            f"{'s' if self.segments != 1 else ''} ({self.ucs2_share:.0%} UCS-2)"
        ]
        if self.segments > self.texts:
            parts.append(f"about {self.segments / self.texts:.1f} segments a text: each recipient is charged as many")
        if self.cost is not None:
            parts.append(f"about {self.cost:,.2f} {self.currency}".strip())
        if self.per_day is None:
            parts.append("no daily SIM limit applies: it goes out as fast as the gateway takes it")
        elif self.per_day == 0:
            parts.append("no active SIM can send campaign texts: nothing will go out")
        elif self.finishes_today:
            parts.append("it fits in today's allowance")
        else:
            parts.append(
                f"about {self.days} days at today's limits ({self.per_day:,} campaign segments a day on "
                f"{self.sims} SIM{'s' if self.sims != 1 else ''}); last texts around {self.last_day:%-d %b %Y}"
            )
        return "; ".join(parts) + "."


def _sims() -> list[SimCard]:
    return [s for s in SimCard.objects.active() if s.is_modem or (s.backend and not s.missing_credentials())]


def _price(sims: list[SimCard]) -> tuple[Decimal | None, str]:
    """Average price per segment weighted by allowance, when SIM cards carry a price."""
    priced = [s for s in sims if getattr(s, "price_per_segment", None) is not None]
    if not priced:
        return None, ""
    weight = sum(campaign_limit(s) for s in priced) or len(priced)
    total = sum(Decimal(s.price_per_segment) * (campaign_limit(s) or 1) for s in priced)
    return total / weight, getattr(priced[0], "currency", "")


def window_open_today(now: datetime) -> bool:
    """Whether the site's sending window still has time left today."""
    window = window_for(settings.SMS_DEFAULT_REGION)
    local = timezone.localtime(now)
    if window.start == window.end:
        return True
    if window.start < window.end:
        return local.time() < window.end
    return True  # wraps midnight: open again tonight


def estimate(*, segments: int, texts: int, ucs2_texts: int = 0, ucs2_segments: int = 0, ahead: int = 0,
             capped_rows: int = 0, now: datetime | None = None) -> Estimate:  # fmt: skip
    now = now or timezone.now()
    day = timezone.localdate(now)
    configured = SimCard.objects.exists()
    sims = _sims()
    if not configured:
        per_day = today_left = None
    else:
        used = dict(SimDayCount.objects.filter(sim__in=sims, date=day).values_list("sim_id", "sent"))
        per_day = sum(campaign_limit(s) for s in sims)
        today_left = sum(max(campaign_limit(s) - used.get(s.pk, 0), 0) for s in sims)
        if not window_open_today(now):
            today_left = 0
    price, currency = _price(sims)
    result = Estimate(
        texts=texts,
        segments=segments,
        ucs2_texts=ucs2_texts,
        ucs2_segments=ucs2_segments,
        ahead_segments=ahead,
        per_day=per_day,
        today_left=today_left,
        sims=len(sims),
        capped_rows=capped_rows,
        window=str(window_for(settings.SMS_DEFAULT_REGION)),
        cost=(price * segments).quantize(Decimal("0.01")) if price is not None else None,
        currency=currency,
    )
    if not texts:
        return result
    if per_day is None:
        result.days, result.last_day = 1, day
    elif per_day > 0:
        need = ahead + segments
        if need <= today_left:
            result.days = 1
        else:
            result.days = 1 + math.ceil((need - today_left) / per_day)
        result.last_day = day + timedelta(days=result.days - 1)
    return result


def for_campaign(campaign: Campaign, *, now: datetime | None = None) -> Estimate:
    """The estimate of what ``campaign`` still has to send (three queries plus the SIMs')."""
    waiting = OutboundMessage.objects.filter(state__in=DUE_STATES)
    mine = waiting.filter(campaign=campaign).aggregate(
        n_texts=Count("pk"),
        n_segments=Sum("segments"),
        n_ucs2_texts=Count("pk", filter=Q(encoding=Encoding.UCS2)),
        n_ucs2_segments=Sum("segments", filter=Q(encoding=Encoding.UCS2)),
    )
    open_states = [Campaign.State.RUNNING, Campaign.State.SCHEDULED]
    ahead = waiting.filter(campaign__state__in=open_states, campaign_id__lt=campaign.pk).aggregate(n=Sum("segments"))
    capped = RejectedRow.objects.filter(campaign=campaign, reason=RejectedRow.Reason.FREQUENCY_CAP).count()
    return estimate(
        texts=mine["n_texts"],
        segments=mine["n_segments"] or 0,
        ucs2_texts=mine["n_ucs2_texts"],
        ucs2_segments=mine["n_ucs2_segments"] or 0,
        ahead=ahead["n"] or 0,
        capped_rows=capped,
        now=now,
    )


def fits_today(rows: int, *, now: datetime | None = None) -> bool:
    """Before a campaign is made: may ``rows`` texts (at least a segment each) all go today,
    after the open campaigns already waiting?"""
    ahead = OutboundMessage.objects.filter(
        state__in=DUE_STATES, campaign__state__in=[Campaign.State.RUNNING, Campaign.State.SCHEDULED]
    ).aggregate(n=Sum("segments"))["n"]
    return estimate(texts=rows, segments=rows, ahead=ahead or 0, now=now).finishes_today
