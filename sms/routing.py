"""Routes: which backend (and SIM) carries each outbound text.

The dispatcher calls the router named by ``settings.SMS_ROUTER`` with a list of claimed
messages and gets back, in the same order, a ``Route`` or a ``Deferral`` for each. The modem
app plugs its SIM router in here; the core only knows the shape of the hand-over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from sms.backends import BaseBackend, get_backend, get_backend_class


@dataclass
class Route:
    backend: BaseBackend
    sim_id: int | None = None
    sender: str = ""
    #: Called after the send with (sent messages, failed messages), e.g. to give back SIM
    #: allowance reserved for texts that did not go.
    on_outcome: Callable | None = field(default=None, compare=False)
    #: Gateway requests one dispatcher keeps in flight at once on this route (None: the
    #: setting SMS_SEND_CONCURRENCY). A backend that is not thread-safe always gets 1.
    max_in_flight: int | None = None
    #: Messages (segments, for a backend that ``counts_segments``) per second on this route
    #: across all dispatchers (``sms.ratelimit``); None or 0: no limit.
    rate: float | None = None
    #: Name of the route's shared limiter bucket ("sim:3", "backend:twilio").
    rate_key: str = ""

    @property
    def key(self) -> tuple:
        return (self.backend.slug, self.sim_id, id(self.backend))

    @property
    def limiter_key(self) -> str:
        return self.rate_key or (f"sim:{self.sim_id}" if self.sim_id else f"backend:{self.backend.slug}")


@dataclass
class Deferral:
    """No route now: the text waits (it is not failed) until ``until``, and staff see why."""

    reason: str
    until: datetime


def preferred_backend(slug: str | None) -> str | None:
    """``slug`` if it can carry a text now (known, configured from settings, no SIM needed)."""
    if not slug or slug not in settings.SMS_BACKENDS:
        return None
    try:
        cls = get_backend_class(slug)
    except ImproperlyConfigured:
        return None
    return slug if cls.standalone and cls.is_configured() else None


def default_router(messages) -> list[Route | Deferral]:
    """Everything through the default backend, or the backend a message asks for.

    ``extra_sender_data["backend"]`` is an order (the demo, an API caller);
    ``extra_sender_data["prefer_backend"]`` a wish (a follow-up stays on the gateway of the
    first text), granted while that backend is still configured.
    """
    cache: dict[str, BaseBackend] = {}
    routes = []
    for message in messages:
        extra = message.extra_sender_data
        slug = extra.get("backend") or preferred_backend(extra.get("prefer_backend")) or settings.SMS_DEFAULT_BACKEND
        if slug not in cache:
            cache[slug] = get_backend(slug)
        routes.append(
            Route(
                backend=cache[slug],
                sender=message.sender or settings.SMS_DEFAULT_SENDER,
                rate=settings.SMS_SEND_RATE_PER_SECOND or None,
                rate_key=f"backend:{slug}",
            )
        )
    return routes


@lru_cache(maxsize=8)
def _load(path: str):
    return import_string(path)


def route(messages) -> list[Route | Deferral]:
    return _load(settings.SMS_ROUTER)(messages)
