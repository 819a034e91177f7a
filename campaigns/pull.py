"""Pulling a campaign from the data source: lock, fetch, fan out, record the run.

Called by ``pull_campaign`` (cron), ``campaigns.tasks.pull_campaign`` (Celery) and by the "pull
now" button, which hands it to a Celery worker (with a broker) or a background thread with its
own database connection, and lets the page poll the PullRun row.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from campaigns.fanout import FanOutResult, fan_out
from campaigns.models import Campaign, PullRun
from campaigns.sources import SourceError, fetch, parse_payload

logger = logging.getLogger(__name__)

#: Background pulls started by this process (tests join them).
threads: list[threading.Thread] = []


def campaign_for_period(*, now: datetime, url: str) -> Campaign:
    """The campaign pulls of this period share: same data twice = nobody texted twice."""
    label = timezone.localtime(now).strftime(settings.CAMPAIGNS_PULL_PERIOD_FORMAT)
    campaign, _ = Campaign.objects.get_or_create(
        key=f"pull:{label}",
        defaults={"name": f"Pull {label}", "source": Campaign.Source.PULL, "source_url": url, "created_at": now},
    )
    return campaign


def _acquire(run: PullRun, now: datetime) -> bool:
    stale = now - timedelta(seconds=settings.CAMPAIGNS_PULL_LOCK_TIMEOUT_SECONDS)
    PullRun.objects.filter(state=PullRun.State.RUNNING, heartbeat_at__lt=stale).update(
        state=PullRun.State.FAILED, error="Abandoned: no progress for too long (the worker died?)", finished_at=now
    )
    try:
        with transaction.atomic():
            PullRun.objects.filter(pk=run.pk).update(state=PullRun.State.RUNNING, started_at=now, heartbeat_at=now)
    except IntegrityError:
        PullRun.objects.filter(pk=run.pk).update(state=PullRun.State.LOCKED, finished_at=now)
        run.refresh_from_db()
        return False
    run.refresh_from_db()
    return True


NO_SOURCE = "No data source configured (TEXTING_API_URL is empty): nothing to pull."


def source_configured(url: str | None = None) -> bool:
    return bool(settings.TEXTING_API_URL if url is None else url)


def pull_campaign(
    *, run: PullRun | None = None, trigger: str = "cron", user=None, url: str | None = None, progress=None
) -> PullRun:
    """Fetch the source and queue its rows. Returns the PullRun (its state says how it went)."""
    url = settings.TEXTING_API_URL if url is None else url
    run = run or PullRun.objects.create(trigger=trigger, requested_by=user)
    now = timezone.now()
    if not url:
        PullRun.objects.filter(pk=run.pk).update(
            state=PullRun.State.FAILED, error="TEXTING_API_URL is not set", finished_at=now
        )
        run.refresh_from_db()
        return run
    if not _acquire(run, now):
        return run
    try:
        data = fetch(url=url, key=settings.TEXTING_API_KEY)
        rows, bad = parse_payload(data)
        campaign = campaign_for_period(now=now, url=url)
        PullRun.objects.filter(pk=run.pk).update(campaign=campaign, rows_total=len(rows) + len(bad))

        def heartbeat(done: int, total: int) -> None:
            PullRun.objects.filter(pk=run.pk).update(rows_done=done, heartbeat_at=timezone.now())
            if progress:
                progress(done, total)

        result: FanOutResult = fan_out(campaign=campaign, rows=rows, bad_rows=bad, now=now, progress=heartbeat)
        PullRun.objects.filter(pk=run.pk).update(
            state=PullRun.State.SUCCEEDED,
            rows_done=result.rows,
            queued=result.queued,
            rejected=result.rejected_total,
            summary=str(result),
            finished_at=timezone.now(),
        )
    except SourceError as exc:
        PullRun.objects.filter(pk=run.pk).update(state=PullRun.State.FAILED, error=str(exc), finished_at=timezone.now())
    except Exception as exc:
        logger.exception("Pull #%s crashed", run.pk)
        PullRun.objects.filter(pk=run.pk).update(
            state=PullRun.State.FAILED, error=f"Crashed: {exc!r}", finished_at=timezone.now()
        )
    run.refresh_from_db()
    return run


def _run_in_thread(run_pk: int) -> None:
    try:
        pull_campaign(run=PullRun.objects.get(pk=run_pk))
    finally:
        connection.close()  # the thread's own connection


def _enqueue(run_pk: int) -> None:
    from campaigns.tasks import pull_campaign as task

    try:
        task.apply_async(args=[run_pk], retry=False)
    except Exception:
        logger.warning("Could not reach the task broker; pull #%s runs in a thread here instead", run_pk)
        thread = threading.Thread(target=_run_in_thread, args=(run_pk,), name=f"pull-{run_pk}", daemon=True)
        threads.append(thread)
        thread.start()


def start_pull(*, user=None) -> PullRun:
    """Queue a pull from the page and run it off the request path: a Celery task when a broker
    is set, else a thread of this process (or inline with CAMPAIGNS_PULL_IN_BACKGROUND off)."""
    run = PullRun.objects.create(trigger="button", requested_by=user)
    if settings.CELERY_BROKER_URL:
        transaction.on_commit(lambda: _enqueue(run.pk))
    elif settings.CAMPAIGNS_PULL_IN_BACKGROUND:
        thread = threading.Thread(target=_run_in_thread, args=(run.pk,), name=f"pull-{run.pk}", daemon=True)
        threads.append(thread)
        transaction.on_commit(thread.start)
    else:
        pull_campaign(run=run)
    return run
