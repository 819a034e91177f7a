"""Run the SMPP client of one route (a SIM with backend ``smpp``) until stopped.

    manage.py smpp_worker ROUTE            # ROUTE: the SIM's id or name
    manage.py smpp_worker ROUTE --seconds 60

Supervisor-friendly: runs in the foreground, logs binds and drops, stops cleanly on SIGTERM
or SIGINT (the texts in flight get their answers first).
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from modems.models import SimCard
from modems.smpp.worker import RouteWorker


def find_route(route: str) -> SimCard:
    sims = SimCard.objects.filter(backend="smpp")
    sim = sims.filter(pk=int(route)).first() if route.isdigit() else sims.filter(name=route).first()
    if sim is None:
        raise CommandError(f"No SMPP route {route!r} (a SIM card with backend 'smpp', by id or name)")
    return sim


class Command(BaseCommand):
    help = "Keep an SMPP route bound and send the texts handed to it"

    def add_arguments(self, parser):
        parser.add_argument("route", help="The SIM card (id or name) of the SMPP route")
        parser.add_argument("--seconds", type=float, default=None, help="Stop after this long")

    def handle(self, *args, route: str, seconds: float | None, **options):
        sim = find_route(route)
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        worker = RouteWorker(sim, stop=stop, progress=lambda text: self.stdout.write(f"{sim}: {text}"))
        summary = worker.run(max_seconds=seconds)
        self.stdout.write(self.style.SUCCESS(f"SMPP route {sim}: {summary}"))
