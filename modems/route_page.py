"""The route page of a gateway account (a SIM row naming a backend): its figures in a bounded
number of queries, and the "send a test text" action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Q
from django.utils import timezone

from modems.models import SimCard
from sms.models import OutboundMessage, State
from sms.stats import FAILED_STATES, REPORTABLE_STATES, local_midnight

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


def figures(sim: SimCard) -> RouteFigures:
    from sms.backends import get_backend_class

    midnight = local_midnight(timezone.localdate())
    week_ago = timezone.now() - timedelta(days=7)
    texts = OutboundMessage.objects.filter(sim=sim)
    counts = texts.aggregate(
        today_total=Count("pk", filter=Q(created_at__gte=midnight)),
        today_sent=Count("pk", filter=Q(sent_at__gte=midnight)),
        today_delivered=Count("pk", filter=Q(delivered_at__gte=midnight)),
        today_failed=Count("pk", filter=Q(state__in=FAILED_STATES, changed_at__gte=midnight)),
        week_reportable=Count("pk", filter=Q(sent_at__gte=week_ago, state__in=REPORTABLE_STATES)),
        week_delivered=Count("pk", filter=Q(sent_at__gte=week_ago, state=State.DELIVERED)),
    )
    last_error = (
        texts.filter(state__in=(*FAILED_STATES, State.ERROR_RETRY, State.UNKNOWN))
        .exclude(error="")
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
