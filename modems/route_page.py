"""The route page of a gateway account (a SIM row naming a backend): its figures in a bounded
number of queries, and the "send a test text" action."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from modems.models import SimCard
from sms import rollups
from sms.models import FAILING, OutboundMessage, State
from sms.stats import FAILED_STATES, REPORTABLE_STATES, SENT_STATES

#: Backend options that name a sender, in the order they are shown.
SENDER_OPTIONS = ("from_number", "sender_id", "sender", "origination_number", "messaging_service_sid")


@dataclass
class RouteFigures:
    backend_name: str
    senders: list[str]
    today_total: int
    today_sent: int
    today_delivered: int
    today_failed: int
    week_reportable: int
    week_delivered: int
    last_error: OutboundMessage | None

    @property
    def delivery_rate(self) -> float | None:
        return self.week_delivered / self.week_reportable if self.week_reportable else None


def senders(sim: SimCard) -> list[str]:
    """The SIM's own number, then the sender(s) its backend is configured with."""
    from modems.routing import backend_for
    from sms.backends.http import gateway_option

    found = [sim.number] if sim.number else []
    try:
        backend = backend_for(sim)
    except ImproperlyConfigured:
        return found
    for option in SENDER_OPTIONS:
        value = gateway_option(backend, option)
        if value and isinstance(value, str) and value not in found:
            found.append(value)
    return found


def sent_today(sim: SimCard) -> int:
    """Texts queued today through this SIM that went out (the roll-ups; a modem's SIM page)."""
    today = timezone.localdate()
    states = rollups.outbound_counts(by=("state",), first=today, last=today, sim_pk=sim.pk)
    return sum(f["n"] for (state,), f in states.items() if state in SENT_STATES)


def figures(sim: SimCard) -> RouteFigures:
    """Today's texts and the 7-day delivery rate of the texts queued through this route (a text
    counts on the day it was queued, its current state: the Stats page's rule), from the
    roll-ups: two small reads at a million texts, where a live count took a quarter second."""
    from sms.backends import get_backend_class

    today = timezone.localdate()
    states = rollups.outbound_counts(by=("day", "state"), first=today - timedelta(days=6), last=today, sim_pk=sim.pk)
    today_states, week_states = Counter(), Counter()
    for (day, state), f in states.items():
        week_states[state] += f["n"]
        if day == today:
            today_states[state] += f["n"]
    counts = {
        "today_total": sum(today_states.values()),
        "today_sent": sum(today_states[s] for s in SENT_STATES),
        "today_delivered": today_states[State.DELIVERED],
        "today_failed": sum(today_states[s] for s in FAILED_STATES),
        "week_reportable": sum(week_states[s] for s in REPORTABLE_STATES),
        "week_delivered": week_states[State.DELIVERED],
    }
    last_error = (
        OutboundMessage.objects.filter(FAILING, sim=sim)
        .exclude(error="")  # with FAILING, the predicate of the partial index sms_out_sim_last_error
        .order_by("-changed_at", "-pk")
        .first()
    )
    try:
        name = get_backend_class(sim.backend).name or sim.backend
    except ImproperlyConfigured:
        name = f"{sim.backend} (not installed)"
    return RouteFigures(backend_name=name, senders=senders(sim), last_error=last_error, **counts)


def send_test_text(sim: SimCard, recipient: str, *, user=None) -> OutboundMessage:
    """Queue a test text asking for this SIM and send it now, through the normal dispatcher
    (opt-outs, limits and the SIM's allowance all apply). The caller checks ``message.sim_id``:
    a SIM that cannot take it (inactive, at its limit) leaves it to another route."""
    from sms.api import send

    who = f" by {user.get_username()}" if user is not None else ""
    return send(
        recipient,
        f"Test text from Texting through {sim}{who}.",
        tag="route-test",
        extra_sender_data={"prefer_sim": sim.pk, "prefer_backend": sim.backend},
        send_immediately=True,
    )
