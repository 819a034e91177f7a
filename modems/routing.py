"""The SIM router (``settings.SMS_ROUTER``): which SIM carries each outbound text.

For each text: an active SIM with allowance left today for all its parts, preferring the SIM
the text asks for (``extra_sender_data["prefer_sim"]``: follow-ups stay on the SIM of the first
text; a modem SIM that has allowance but is busy with this batch keeps the text for the next
batch), else a SIM of the gateway it asks for (``prefer_backend``), then a SIM on the
recipient's network, then higher priority, then the least used today. With no SIM configured
at all, ``sms.routing.default_router`` routes (``prefer_backend`` honoured there too).

Routes with destination prefixes (``SimCard.prefixes``) carry only texts to those prefixes and
come first for them (the longest matching prefix first). An unhealthy route (``modems.health``)
is passed over, except for one probe text now and then; an SMPP route whose worker is not
bound is passed over. Texts for an SMPP route are *handed over* rather than sent here: the
router pins them to the route and defers them, and the route's worker claims them.

Allowance is *reserved* with a conditional UPDATE before the Route is returned and given back
through ``Route.on_outcome`` for texts that did not go, so concurrent dispatchers never push a
SIM past its limit. A dispatcher that dies mid-send keeps its reservation: the count may end
up above the texts actually sent, never the other way round.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from datetime import datetime, time, timedelta
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from modems import health
from modems.models import SimCard, SimDayCount
from sms.backends import BaseBackend, get_backend, get_backend_class
from sms.bulk import update_rows
from sms.models import State
from sms.routing import Deferral, Route, default_router

logger = logging.getLogger(__name__)

ALL_AT_LIMIT = "every SIM has reached its daily limit"
CAMPAIGN_SHARE_USED = "every SIM has used its campaign share today (the rest is kept for one-to-one texts)"
NONE_ACTIVE = "no active SIM card can send (all switched off, or their credentials are not set)"
NONE_ACTIVE_WAIT = timedelta(minutes=10)
MODEM_BUSY = "waiting for a free modem: it goes out with the next batch"
ALL_UNHEALTHY = "every route that could carry it is unhealthy: waiting for the next probe"
HANDED_OVER = "handed to the SMPP route {sim}: its worker sends it"


@lru_cache(maxsize=100_000)
def recipient_carrier(number: str) -> str:
    """The carrier libphonenumber gives for a number's range ("" when unknown or ported)."""
    import phonenumbers
    from phonenumbers import carrier

    try:
        return carrier.name_for_number(phonenumbers.parse(number, None), "en")
    except phonenumbers.NumberParseException:
        return ""


def tomorrow_midnight(now: datetime | None = None) -> datetime:
    today = timezone.localdate(now)
    return timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))


def reserved_parts(sim: SimCard) -> int:
    """Parts of ``sim``'s daily allowance kept for one-to-one and transactional texts: campaign
    texts may not use them (``MODEMS_RESERVED_SHARE``), so a text from Compose never waits for
    tomorrow behind a big campaign."""
    return math.ceil(sim.daily_limit * settings.MODEMS_RESERVED_SHARE)


def campaign_limit(sim: SimCard) -> int:
    return max(sim.daily_limit - reserved_parts(sim), 0)


def limit_for(sim: SimCard, message) -> int:
    return campaign_limit(sim) if message.campaign_id else sim.daily_limit


def backend_for(sim: SimCard) -> BaseBackend:
    if sim.is_modem:
        return get_backend("modem", device=sim.device, sim_id=sim.pk, pin=sim.pin())
    # Route options (not secret) first, the credentials from the environment on top; a
    # backend whose webhooks are per route (the HTTP connector) learns which route it is.
    options = {**(sim.options or {}), **sim.credentials()}
    if getattr(get_backend_class(sim.backend), "per_route_webhooks", False):
        options["route"] = sim.pk
    return get_backend(sim.backend, **options)


def sim_router(messages) -> list[Route | Deferral]:
    sims = [sim for sim in SimCard.objects.active().select_related("network") if sim.is_modem or sim.backend]
    if not sims and not SimCard.objects.exists():
        return default_router(messages)
    decisions: list[Route | Deferral | None] = [None] * len(messages)
    # A text that names its backend (the demo, an API caller) goes where it asks.
    explicit = [i for i, m in enumerate(messages) if m.extra_sender_data.get("backend")]
    if explicit:
        for i, decision in zip(explicit, default_router([messages[i] for i in explicit]), strict=True):
            decisions[i] = decision
    usable = []
    resting = []
    unhealthy = []
    probes: set[int] = set()
    now = timezone.now()
    cooldown_start = now - timedelta(seconds=settings.MODEMS_UNREACHABLE_SECONDS)
    for sim in sims:
        if not sim.is_modem and sim.missing_credentials():
            logger.warning("SIM %s skipped: environment variables not set: %s", sim, sim.missing_credentials())
            continue
        if sim.hands_over and not sim.link_is_up(now):
            unhealthy.append(sim)  # no worker bound: nothing would send what we hand over
            continue
        if not sim.healthy:
            if health.claim_probe(sim, now):
                probes.add(sim.pk)
                usable.append(sim)
            else:
                unhealthy.append(sim)
            continue
        if sim.is_modem and _failed_lately(sim, cooldown_start):
            resting.append(sim)  # its modem did not answer a moment ago: let the others carry the texts
            continue
        usable.append(sim)
    # Only unreachable modems left: try them again rather than hold everything back.
    usable = usable or resting
    pending = [(i, m) for i, m in enumerate(messages) if decisions[i] is None]
    if pending and not usable:
        if unhealthy:
            probe_at = min((s.next_probe_at for s in unhealthy if s.next_probe_at), default=None)
            wait = Deferral(reason=ALL_UNHEALTHY, until=max(probe_at or now, now) + timedelta(seconds=1))
        else:
            wait = Deferral(reason=NONE_ACTIVE, until=now + NONE_ACTIVE_WAIT)
        for index, _message in pending:
            decisions[index] = wait
    elif pending:
        _plan(pending, usable, decisions, probes=probes)
        _hand_over(messages, decisions, usable, now)
    return decisions


def _hand_over(messages, decisions: list, sims: list[SimCard], now) -> None:
    """Texts routed to an SMPP route: pinned to it and deferred; its worker claims them."""
    workers = {sim.pk: sim for sim in sims if sim.hands_over}
    if not workers:
        return
    until = now + timedelta(seconds=settings.SMPP_HANDOVER_SECONDS)
    handed = []
    for index, decision in enumerate(decisions):
        if isinstance(decision, Route) and decision.sim_id in workers:
            sim = workers[decision.sim_id]
            message = messages[index]
            message.sim_id = sim.pk
            message.backend = sim.backend
            message.extra_sender_data = {**message.extra_sender_data, health.HANDOVER: sim.pk}
            message.sender = message.sender or sim.number
            handed.append(message)
            decisions[index] = Deferral(reason=HANDED_OVER.format(sim=sim), until=until)
    update_rows(handed, ["sim", "backend", "extra_sender_data", "sender"])


def _plan(pending, sims: list[SimCard], decisions: list, *, probes: set[int] = frozenset()) -> None:
    day = timezone.localdate()
    by_pk = {sim.pk: sim for sim in sims}
    SimDayCount.objects.ensure(by_pk, day)
    used = dict(SimDayCount.objects.filter(sim_id__in=by_pk, date=day).values_list("sim_id", "sent"))
    remaining = {pk: sim.daily_limit - used.get(pk, 0) for pk, sim in by_pk.items()}
    reserved = {pk: reserved_parts(sim) for pk, sim in by_pk.items()}
    # Names each SIM's network answers to, case-folded once per batch.
    names = {
        sim.pk: {sim.network.name.casefold()} | {n.strip().casefold() for n in sim.network.carrier_names.split(",")}
        for sim in sims
    }
    excluded: dict[int, set[int]] = defaultdict(set)
    routes: dict[int, Route] = {}
    deferral = Deferral(reason=ALL_AT_LIMIT, until=tomorrow_midnight())
    share_used = Deferral(reason=CAMPAIGN_SHARE_USED, until=tomorrow_midnight())
    # A modem sends a text every few seconds: a whole batch on one modem would keep the last
    # texts in SENDING past SMS_SENDING_TIMEOUT_SECONDS, where recovery would mark them UNKNOWN.
    cap = settings.MODEMS_MAX_TEXTS_PER_BATCH
    taken: dict[int, int] = defaultdict(int)
    busy = Deferral(reason=MODEM_BUSY, until=timezone.now())

    while pending:
        plan: dict[int, list] = defaultdict(list)
        for index, message in pending:
            parts = max(message.segments, 1)
            carrier = recipient_carrier(message.recipient).casefold()
            free = [s for s in sims if not (s.is_modem and taken[s.pk] >= cap) and not (s.pk in probes and taken[s.pk])]
            # A campaign text sees each SIM's allowance minus the part kept for one-to-one texts.
            room = {pk: n - reserved[pk] for pk, n in remaining.items()} if message.campaign_id else remaining
            if len(free) < len(sims) and _prefers_busy(message, parts, sims, free, room, excluded[index]):
                decisions[index] = busy  # its SIM has allowance: wait for the next batch there
                continue
            sim = _pick(message, parts, free, room, excluded[index], carrier, names)
            if sim is None:
                at_limit = _pick(message, parts, sims, room, excluded[index], carrier, names) is None
                if at_limit and message.campaign_id and _pick(message, parts, sims, remaining, set(), carrier, names):
                    decisions[index] = share_used
                else:
                    decisions[index] = deferral if at_limit else busy
                continue
            remaining[sim.pk] -= parts
            taken[sim.pk] += 1
            plan[sim.pk].append((index, message, parts))
        pending = []
        for pk, all_items in plan.items():
            sim = by_pk[pk]
            won = []
            # One-to-one texts first (the whole allowance), then campaign texts (their share).
            kinds = [
                [item for item in all_items if not item[1].campaign_id],
                [item for item in all_items if item[1].campaign_id],
            ]
            for items in (kind for kind in kinds if kind):
                limit = limit_for(sim, items[0][1])
                if SimDayCount.objects.reserve(sim_id=pk, day=day, parts=sum(p for _, _, p in items), limit=limit):
                    won.extend(items)
                    continue
                # Another dispatcher took some of this SIM's allowance since we read it: one
                # text at a time now; the ones that no longer fit look for another SIM.
                for item in items:
                    if SimDayCount.objects.reserve(sim_id=pk, day=day, parts=item[2], limit=limit):
                        won.append(item)
                    else:
                        excluded[item[0]].add(pk)
                        taken[pk] -= 1
                        pending.append(item[:2])
                current = SimDayCount.objects.filter(sim_id=pk, date=day).values_list("sent", flat=True).first()
                remaining[pk] = sim.daily_limit - (current or 0)
            if won:
                route = routes.get(pk) or _route(sim, day)
                routes[pk] = route
                for index, _message, _parts in won:
                    decisions[index] = route


def _prefers_busy(message, parts: int, sims, free, remaining, excluded) -> bool:
    """The text asks for a modem SIM that has allowance but took its batch's share already."""
    preferred = message.extra_sender_data.get("prefer_sim")
    if preferred is None:
        return False
    for sim in sims:
        if str(sim.pk) == str(preferred):
            return sim not in free and remaining[sim.pk] >= parts and sim.pk not in excluded
    return False


def _slug(sim: SimCard) -> str:
    return "modem" if sim.is_modem else sim.backend


def prefix_match(sim: SimCard, number: str) -> int:
    """Length of the longest of the route's prefixes the number starts with; 0 for a route
    without prefixes (any destination); -1 when it has prefixes and none matches."""
    prefixes = sim.prefix_list()
    if not prefixes:
        return 0
    return max((len(p) for p in prefixes if number.startswith(p)), default=-1)


def _pick(message, parts: int, sims, remaining, excluded, carrier: str, names) -> SimCard | None:
    matches = {s.pk: prefix_match(s, message.recipient) for s in sims}
    candidates = [s for s in sims if remaining[s.pk] >= parts and s.pk not in excluded and matches[s.pk] >= 0]
    if not candidates:
        return None
    preferred = message.extra_sender_data.get("prefer_sim")
    for sim in candidates:
        if preferred is not None and str(sim.pk) == str(preferred):
            return sim
    # Its SIM is gone, switched off or spent: another SIM of the same gateway is the next best.
    same_backend = message.extra_sender_data.get("prefer_backend") or ""
    return min(
        candidates,
        key=lambda s: (
            not (same_backend and _slug(s) == same_backend),
            -matches[s.pk],
            not (carrier and carrier in names[s.pk]),
            -s.priority,
            s.daily_limit - remaining[s.pk],
            s.pk,
        ),
    )


def _route(sim: SimCard, day) -> Route:
    backend = backend_for(sim)

    def on_outcome(sent, failed) -> None:
        # Texts that may have reached the network (a modem that dropped after the PDU) keep
        # their allowance: counting a text that went out as unsent could break the limit.
        maybe_sent = getattr(backend, "maybe_sent_pks", set())
        back = sum(max(m.segments, 1) for m in failed if m.pk not in maybe_sent)
        SimDayCount.objects.release(sim_id=sim.pk, day=day, parts=back)
        _record_health(sim.pk, sent, failed)

    return Route(
        backend=backend,
        sim_id=sim.pk,
        sender=sim.number,
        on_outcome=on_outcome,
        max_in_flight=1 if sim.is_modem else sim.max_in_flight,
        rate=sim.messages_per_second,
        rate_key=f"sim:{sim.pk}",
    )


def _record_health(sim_id: int, sent, failed) -> None:
    """A text through is a success; failures worth retrying (or ambiguous) count against the
    route; a permanent error is the text's fault, not the route's."""
    if sent:
        health.record_success(sim_id)
        return
    transient = [m for m in failed if m.state in (State.ERROR_RETRY, State.UNKNOWN)]
    if transient:
        health.record_failure(sim_id, transient[0].error or "send failed")


def _failed_lately(sim: SimCard, since) -> bool:
    """The modem did not answer a check (modem_status, a send, read_in) since ``since``."""
    status_failed = sim.status_error and sim.status_checked_at and sim.status_checked_at > since
    read_failed = sim.read_error and sim.last_read_at and sim.last_read_at > since
    return bool(status_failed or read_failed)
