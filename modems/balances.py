"""Gateway balances: each gateway-account SIM asks its provider for its remaining credit
(``get_balance()`` on backends whose provider has a balance API), periodically
(``manage.py check_balances``, the ``check-balances`` beat entry) and on demand (the button on
the route page). A failed check keeps the last known balance and records the provider's error,
shown on the page; it never raises.

Backends with a balance API: Clickatell (legacy ``getbalance``, in credits), Clickatell
Platform, Twilio (Balance resource), Vonage (EUR), Plivo (USD), SMS Broadcast (credits).
Without one: Amazon SNS (a monthly spend limit, no credit), ATS, SMS Operator, modems.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from modems.models import SimCard
from modems.routing import backend_for
from sms.backends import BackendError, get_backend_class

logger = logging.getLogger(__name__)


@dataclass
class BalanceSummary:
    checked: int = 0
    failed: int = 0
    low: int = 0
    skipped: int = 0

    def __str__(self):
        return (
            f"{self.checked} balances checked, {self.failed} failed, {self.low} low, "
            f"{self.skipped} without a balance API"
        )


def has_balance_api(sim: SimCard) -> bool:
    if sim.is_modem or not sim.backend:
        return False
    try:
        return callable(getattr(get_backend_class(sim.backend), "get_balance", None))
    except ImproperlyConfigured:
        return False


def check_balance(sim: SimCard) -> bool:
    """Ask the provider now and store the answer (or its error) on the SIM. True when it answered."""
    if not has_balance_api(sim):
        return False
    error = ""
    try:
        if sim.missing_credentials():
            raise BackendError(f"environment variables not set: {', '.join(sim.missing_credentials())}")
        value, currency = backend_for(sim).get_balance()
        amount = Decimal(str(value)).quantize(Decimal("0.0001"))
    except BackendError as exc:
        error = str(exc) or exc.__class__.__name__
    except (InvalidOperation, TypeError, ValueError) as exc:
        error = f"unreadable balance ({exc.__class__.__name__})"
    except Exception as exc:  # a library's surprise must not break the page or the other checks
        logger.exception("Balance check of SIM %s crashed", sim.pk)
        error = f"balance check failed: {exc.__class__.__name__}: {exc}"
    fields = {"balance_checked_at": timezone.now(), "balance_error": error[:500]}
    if not error:
        fields.update(balance=amount, balance_currency=(currency or "")[:10])
    SimCard.objects.filter(pk=sim.pk).update(**fields)
    for name, value in fields.items():
        setattr(sim, name, value)
    return not error


def check_balances(*, progress=None) -> BalanceSummary:
    summary = BalanceSummary()
    for sim in SimCard.objects.active().exclude(backend="").order_by("pk"):
        if not has_balance_api(sim):
            summary.skipped += 1
            continue
        if check_balance(sim):
            summary.checked += 1
            summary.low += sim.is_low_on_balance
        else:
            summary.failed += 1
        if progress:
            progress(sim, summary)
    return summary
