"""Route health and failover: a route (SIM) that keeps failing is taken out of rotation, its
waiting texts move to the next healthy route, and it is probed and restored automatically.

A route is *failing* from its first non-permanent failure (a gateway error worth retrying,
an ambiguous drop, an SMPP bind that is down) until its next success. Failing for longer than
``ROUTES_FAILOVER_AFTER_SECONDS`` marks it unhealthy: the router passes it over, and its
waiting texts — only those no request was started for — go back to the router, which picks
the next healthy route. A permanent error (a bad number) says nothing about the route.

An unhealthy route is probed every ``ROUTES_PROBE_SECONDS``: the router lets one text through
it (claimed with a conditional UPDATE, so one dispatcher probes); a success restores it. An
SMPP route down for its bind is restored as soon as its worker binds again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from modems.models import RouteHealthEvent, SimCard, SimDayCount
from sms.models import DUE_STATES, OutboundMessage, StatusChange

logger = logging.getLogger(__name__)

HANDOVER = "handover"  # extra_sender_data key: pk of the route whose worker is to send the text


def record_success(sim_id: int) -> None:
    now = timezone.now()
    SimCard.objects.filter(pk=sim_id, failing_since__isnull=False).update(failing_since=None)
    _restore(sim_id, now, reason="a text went through")


def record_failure(sim_id: int, reason: str) -> bool:
    """A non-permanent failure on the route. True when this made the route unhealthy."""
    now = timezone.now()
    SimCard.objects.filter(pk=sim_id, failing_since__isnull=True).update(failing_since=now)
    limit = now - timedelta(seconds=settings.ROUTES_FAILOVER_AFTER_SECONDS)
    with transaction.atomic():
        # Conditional: of several dispatchers seeing failures, one takes the route down.
        went_down = SimCard.objects.filter(pk=sim_id, healthy=True, failing_since__lte=limit).update(
            healthy=False,
            health_changed_at=now,
            health_reason=reason[:300],
            next_probe_at=now + timedelta(seconds=settings.ROUTES_PROBE_SECONDS),
        )
        if not went_down:
            SimCard.objects.filter(pk=sim_id, healthy=False, next_probe_at__lte=now).update(
                next_probe_at=now + timedelta(seconds=settings.ROUTES_PROBE_SECONDS)
            )
            return False
        event = RouteHealthEvent.objects.create(sim_id=sim_id, at=now, healthy=False, reason=reason[:300])
    event.moved = fail_over(sim_id)
    event.save(update_fields=["moved"])
    logger.warning("Route %s unhealthy (%s): %d waiting texts moved", sim_id, reason, event.moved)
    return True


def _restore(sim_id: int, now, *, reason: str) -> bool:
    with transaction.atomic():
        if not SimCard.objects.filter(pk=sim_id, healthy=False).update(
            healthy=True, health_changed_at=now, health_reason="", next_probe_at=None, failing_since=None
        ):
            return False
        RouteHealthEvent.objects.create(sim_id=sim_id, at=now, healthy=True, reason=reason)
    logger.info("Route %s healthy again (%s)", sim_id, reason)
    return True


LINK_DOWN = "SMPP bind down"
WORKER_GONE = "SMPP worker not bound"


def link_up(sim_id: int) -> None:
    """An SMPP worker bound (or confirmed its bind). Restores a route that was down for its
    bind only: one unhealthy for refused submits waits for a probe text to go through."""
    now = timezone.now()
    SimCard.objects.filter(pk=sim_id).update(link_seen_at=now)
    SimCard.objects.filter(pk=sim_id, failing_since__isnull=False, healthy=True).update(failing_since=None)
    down_for_link = SimCard.objects.filter(pk=sim_id, healthy=False).filter(
        Q(health_reason__startswith=LINK_DOWN) | Q(health_reason__startswith=WORKER_GONE)
    )
    if down_for_link.exists():
        _restore(sim_id, now, reason="SMPP bind up")


def link_down(sim_id: int, reason: str) -> bool:
    SimCard.objects.filter(pk=sim_id).update(link_seen_at=None)
    return record_failure(sim_id, f"{LINK_DOWN}: {reason}")


def claim_probe(sim: SimCard, now=None) -> bool:
    """Take the right to send one probe text through an unhealthy route (one dispatcher wins)."""
    now = now or timezone.now()
    if sim.healthy or (sim.next_probe_at and sim.next_probe_at > now):
        return False
    return bool(
        SimCard.objects.filter(pk=sim.pk, healthy=False)
        .filter(Q(next_probe_at__isnull=True) | Q(next_probe_at__lte=now))
        .update(next_probe_at=now + timedelta(seconds=settings.ROUTES_PROBE_SECONDS))
    )


def fail_over(sim_id: int) -> int:
    """Send the route's waiting texts back to the router (which passes over this route now).

    Only texts no request was started for move: texts handed to an SMPP worker that did not
    take them yet, and texts waiting to retry after a definite failure. A text SENDING or
    UNKNOWN (it may have left) stays where it is.
    """
    now = timezone.now()
    waiting = list(
        OutboundMessage.objects.filter(sim_id=sim_id, state__in=DUE_STATES).only(
            "pk", "segments", "extra_sender_data", "sim_id", "state"
        )
    )
    if not waiting:
        return 0
    moved = []
    handed_parts = 0
    with transaction.atomic():
        for message in waiting:
            handed = message.extra_sender_data.get(HANDOVER) == sim_id
            extra = {k: v for k, v in message.extra_sender_data.items() if k != HANDOVER}
            if extra.get("prefer_sim") == sim_id or str(extra.get("prefer_sim")) == str(sim_id):
                extra.pop("prefer_sim")
            won = OutboundMessage.objects.filter(pk=message.pk, state=message.state, sim_id=sim_id).update(
                sim_id=None, backend="", next_attempt_at=now, extra_sender_data=extra, changed_at=now
            )
            if won:
                moved.append(message)
                if handed:
                    handed_parts += max(message.segments, 1)
        StatusChange.objects.bulk_create(
            [
                StatusChange(message_id=m.pk, state=m.state, at=now, note=f"Route {sim_id} unhealthy: moved")
                for m in moved
            ]
        )
        # The router reserved allowance when it handed these over; they will not go here.
        SimDayCount.objects.release(sim_id=sim_id, day=timezone.localdate(), parts=handed_parts)
    return len(moved)


def check_routes(now=None) -> dict[str, int]:
    """Periodic check (``manage.py check_routes``): an SMPP route whose worker stopped
    confirming its bind is failing; past the threshold it fails over."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.SMPP_LINK_STALE_SECONDS)
    counts = {"checked": 0, "down": 0}
    for sim in SimCard.objects.active().exclude(backend=""):
        if not sim.hands_over:
            continue
        counts["checked"] += 1
        down = sim.link_seen_at is None or sim.link_seen_at < stale
        if down and record_failure(sim.pk, f"{WORKER_GONE} (no enquire_link confirmed)"):
            counts["down"] += 1
    return counts


def unhealthy_routes():
    return SimCard.objects.active().filter(healthy=False)
