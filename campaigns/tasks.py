"""Celery tasks of the campaigns app: thin callers of the functions the commands call.

Each is safe to run twice or concurrently: pulls share a lock (PullRun), follow-ups claim their
recipients (SKIP LOCKED) and notifications are claimed with a conditional UPDATE.
"""

from __future__ import annotations

from celery import shared_task

from campaigns import followups, notify, pull


@shared_task(acks_late=True, ignore_result=True)
def pull_campaign(run_pk: int | None = None) -> str:
    """``pull_campaign``: fetch the source and fan out; ``run_pk`` is a PullRun the page queued."""
    from campaigns.models import PullRun

    run = PullRun.objects.filter(pk=run_pk).first() if run_pk else None
    if run_pk and (run is None or run.state != PullRun.State.QUEUED):
        return f"Pull #{run_pk} is not queued any more"  # already taken (a redelivered task)
    if run is None and not pull.source_configured():
        return pull.NO_SOURCE  # beat runs it every 10 minutes: not a failure, and no failed pull recorded
    run = pull.pull_campaign(run=run, trigger="celery" if run is None else run.trigger)
    return f"Pull #{run.pk} {run.state}: {run.summary or run.error}"


@shared_task(acks_late=True, ignore_result=True)
def send_followups() -> str:
    """``send_followups``: queue the follow-ups whose delay has passed."""
    return str(followups.send_followups())


@shared_task(acks_late=True, ignore_result=True)
def notify_sources() -> str:
    """``notify_sources``: error-rate guard, completion, and the source's notifications."""
    return str(notify.notify_sources())
