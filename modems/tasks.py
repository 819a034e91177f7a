"""Celery tasks of the modems app: thin callers of the functions the commands call."""

from __future__ import annotations

from celery import shared_task

from modems import reading


@shared_task(acks_late=True, ignore_result=True)
def read_in() -> str:
    """``read_in``: store the texts on every active modem's SIM, then delete them there."""
    return str(reading.read_in())


@shared_task(acks_late=True, ignore_result=True)
def modem_status() -> str:
    """``modem_status``: SIM status, signal and registration of every active modem."""
    return str(reading.check_all())


@shared_task(acks_late=True, ignore_result=True)
def check_balances() -> str:
    """``check_balances``: each gateway account's remaining credit, from its provider."""
    from modems import balances

    return str(balances.check_balances())


@shared_task(acks_late=True, ignore_result=True)
def check_routes() -> str:
    """``check_routes``: SMPP routes whose worker stopped confirming its bind fail over."""
    from modems.health import check_routes as check

    return str(check())


@shared_task(bind=True, acks_late=True, ignore_result=True)
def smpp_worker(self, sim_id: int, seconds: float = 300.0) -> str:
    """The task-engine form of ``manage.py smpp_worker``: serve the route for ``seconds``, then
    queue itself again (a worker restart or a deploy never leaves the route unserved for long).
    Start it once per route: ``modems.tasks.smpp_worker.delay(sim_id)``."""
    from modems.models import SimCard
    from modems.smpp.worker import RouteWorker

    sim = SimCard.objects.filter(pk=sim_id, backend="smpp", active=True).first()
    if sim is None:
        return f"route {sim_id}: not an active SMPP route; stopped"
    summary = RouteWorker(sim).run(max_seconds=seconds)
    if not self.app.conf.task_always_eager:  # without a broker there is nobody to hand it to
        self.apply_async(args=(sim_id,), kwargs={"seconds": seconds})
    return f"route {sim}: {summary}"
