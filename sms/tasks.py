"""Celery tasks of the messaging core. Each is a thin caller of a plain module.

``acks_late``: a task is acknowledged only when it finishes, so a worker killed mid-task
gives the job back to the broker. That is safe because each task is idempotent: the
dispatcher only sends rows it claimed, and rows left in SENDING are resolved by
``recover_stuck`` (never re-sent blindly).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from sms import consent, delivery, dispatch, receiving, rollups

logger = logging.getLogger(__name__)


#: Cache key held while a dispatch_due asked for by ``kick_dispatcher`` waits in the broker.
KICK_LOCK = "sms:dispatch-kick"


@shared_task(acks_late=True, ignore_result=True)
def dispatch_due(batch_size: int | None = None, max_batches: int | None = None, spread: bool = True) -> str:
    """Send every due outbound text (``send_queued``).

    With more than a batch due, the work is spread: up to ``SMS_DISPATCH_WORKERS - 1`` more
    dispatch_due tasks go to the broker (``spread=False``, so they do not spread again), and
    every worker that takes one claims batch after batch until nothing is due. Claims with
    SKIP LOCKED and a token keep them apart; extra tasks that find nothing end at once.
    """
    # From here on this run may miss texts committed later: the next queueing must kick again.
    _forget_kick()
    if spread:
        _spread(batch_size or settings.SMS_DISPATCH_BATCH_SIZE)
    consent.apply_due_opt_outs()  # staff "End" labels whose grace period is over
    summary = dispatch.dispatch(batch_size=batch_size, max_batches=max_batches)
    return str(summary)


def _spread(batch_size: int) -> None:
    if not settings.CELERY_BROKER_URL or settings.SMS_DISPATCH_WORKERS <= 1:
        return
    from sms.models import OutboundMessage

    due = OutboundMessage.objects.due().count()
    helpers = min(settings.SMS_DISPATCH_WORKERS - 1, max(-(-due // batch_size) - 1, 0))
    for _ in range(helpers):
        try:
            dispatch_due.apply_async(kwargs={"batch_size": batch_size, "spread": False}, retry=False)
        except Exception:
            logger.warning("Could not reach the task broker to spread the dispatch", exc_info=True)
            return


@shared_task(acks_late=True, ignore_result=True)
def check_delivery() -> str:
    """Poll gateways that can be asked for delivery states (``check_delivery``)."""
    return str(delivery.check_delivery())


@shared_task(acks_late=True, ignore_result=True)
def recover_stuck() -> dict[str, int]:
    """Resolve texts left in SENDING by a dispatcher that died."""
    return dispatch.recover_stuck()


@shared_task(acks_late=True, ignore_result=True)
def compact_rollups() -> int:
    """Fold the roll-up deltas into the counts (``compact_rollups``)."""
    return rollups.compact()


@shared_task(acks_late=True, ignore_result=True)
def process_inbound(pk: int) -> bool:
    """Run the deferred inbound steps (classifier, auto-replies) of one stored text, once."""
    return receiving.run_deferred(pk)


@shared_task(acks_late=True, ignore_result=True)
def recover_inbound() -> dict[str, int]:
    """Finish inbound texts whose pipeline was interrupted or asked to be run again."""
    return receiving.recover_inbound()


def kick_dispatcher() -> None:
    """Ask a worker to send what was just queued, once the transaction commits.

    Only with a broker: without one the task would run inline, and queueing must not send
    by surprise (cron's ``send_queued`` does that). A broker that is down costs a log line,
    never the caller's request: the beat schedule or cron picks the texts up later.
    """
    if not settings.CELERY_BROKER_URL:
        return
    transaction.on_commit(_enqueue_dispatch)


def _enqueue_dispatch() -> None:
    """One dispatch_due in the broker at a time for all queueing: a 100,000-text fan-out
    commits its batches one after another, and one waiting task sends them all. The lock is
    taken with an atomic cache ``add`` (Redis SET NX with the Redis cache), released when the
    task starts, and expires after ``SMS_DISPATCH_KICK_SECONDS`` should the task be lost."""
    try:
        if not cache.add(KICK_LOCK, 1, timeout=settings.SMS_DISPATCH_KICK_SECONDS):
            return  # a dispatch_due is already waiting: it will find these texts
    except Exception:
        logger.warning("Could not reach the cache for the dispatch lock; enqueueing anyway")
    try:
        dispatch_due.apply_async(retry=False)
    except Exception:
        _forget_kick()
        logger.warning(
            "Could not reach the task broker; queued texts wait for the next scheduled dispatch", exc_info=True
        )


def _forget_kick() -> None:
    try:
        cache.delete(KICK_LOCK)
    except Exception:
        logger.warning("Could not reach the cache to release the dispatch lock; it expires by itself")
