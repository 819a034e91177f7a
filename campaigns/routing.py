"""The campaign router: a wrapper around the real router (``SMS_ROUTER`` hand-over).

Set ``SMS_ROUTER=campaigns.routing.campaign_router`` and name the real router (the default one,
or the modems app's SIM router) in ``CAMPAIGNS_INNER_ROUTER``. For campaign texts it:

- defers texts of a paused campaign (paused after they were claimed) until it is resumed;
- defers texts due in the recipient's quiet hours, whatever made them due (a retry's backoff,
  a resume, a dispatcher that was down) until the sending window opens;
- pauses a campaign whose error rate crossed the threshold, and defers its texts.

Texts that are not campaign texts pass straight through.
"""

from __future__ import annotations

import time
from functools import lru_cache

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from campaigns.control import check_error_rates
from campaigns.models import PAUSED_UNTIL, Campaign
from campaigns.schedule import next_allowed, zones_and_region
from sms.routing import Deferral, Route

#: The error-rate guard scans a campaign's recent texts: once per this many seconds per
#: process is plenty, and keeps a 100,000-text campaign's dispatch from paying it every batch.
CHECK_EVERY_SECONDS = 20
_last_check: dict[str, float] = {"at": float("-inf")}


@lru_cache(maxsize=4)
def _inner(path: str):
    return import_string(path)


def _guard(ids: set[int], now) -> None:
    clock = time.monotonic()
    if clock - _last_check["at"] >= CHECK_EVERY_SECONDS:
        _last_check["at"] = clock
        check_error_rates(campaign_ids=ids, now=now)


def campaign_router(messages) -> list[Route | Deferral]:
    now = timezone.now()
    ids = {m.campaign_id for m in messages if m.campaign_id}
    states: dict[int, str] = {}
    if ids:
        _guard(ids, now)
        states = dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "state"))
    decisions: list[Route | Deferral | None] = [None] * len(messages)
    passing = []
    for i, message in enumerate(messages):
        if message.campaign_id:
            state = states.get(message.campaign_id)
            if state in (Campaign.State.PAUSED, Campaign.State.ABORTED):
                decisions[i] = Deferral(reason=f"Campaign {state}", until=PAUSED_UNTIL)
                continue
            zones, region = zones_and_region(message.recipient)
            opens = next_allowed(now, zones, region)
            if opens > now:
                decisions[i] = Deferral(reason=f"Quiet hours in {', '.join(zones)}", until=opens)
                continue
        passing.append(i)
    if passing:
        routes = _inner(settings.CAMPAIGNS_INNER_ROUTER)([messages[i] for i in passing])
        for i, decision in zip(passing, routes, strict=True):
            decisions[i] = decision
    return decisions
