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
from django.db import transaction

from sms import delivery, dispatch

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def dispatch_due(batch_size: int | None = None, max_batches: int | None = None) -> str:
    """Send every due outbound text (``send_queued``)."""
    summary = dispatch.dispatch(batch_size=batch_size, max_batches=max_batches)
    return str(summary)


@shared_task(acks_late=True, ignore_result=True)
def check_delivery() -> str:
    """Poll gateways that can be asked for delivery states (``check_delivery``)."""
    return str(delivery.check_delivery())


@shared_task(acks_late=True, ignore_result=True)
def recover_stuck() -> dict[str, int]:
    """Resolve texts left in SENDING by a dispatcher that died."""
    return dispatch.recover_stuck()


def kick_dispatcher() -> None:
    """Ask a worker to send what was just queued, once the transaction commits.

    Only with a broker: without one the task would run inline, and queueing must not send
    by surprise (cron's ``send_queued`` does that). A broker that is down costs a log line,
    never the caller's request: the beat schedule or cron picks the texts up later.
    """
    if not settings.CELERY_BROKER_URL:
        return

    def enqueue():
        try:
            dispatch_due.apply_async(retry=False)
        except Exception:
            logger.warning("Could not reach the task broker; queued texts wait for the next scheduled dispatch")

    transaction.on_commit(enqueue)
