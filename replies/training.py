"""Retraining off the request path: after enough new staff labels a Celery task (with a broker)
or a background thread trains a new version. ``classifier.train`` holds a file lock, so two
runs never overlap (a second one simply gives up)."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)


def new_staff_labels() -> int:
    """Staff labels recorded since the newest model (of any status) was trained."""
    from replies.models import ClassifierModel, Label, Source

    total = Label.objects.filter(source=Source.STAFF).count()
    last = ClassifierModel.objects.order_by("-version").values_list("staff_labels", flat=True).first()
    return total - (last or 0)


def retrain_if_due() -> bool:
    """Start a background retrain when REPLIES_RETRAIN_AFTER_LABELS new staff labels exist."""
    every = settings.REPLIES_RETRAIN_AFTER_LABELS
    if every <= 0 or new_staff_labels() < every:
        return False
    transaction.on_commit(start_training)
    return True


def start_training() -> str:
    """Retrain off the request path: a Celery task when a broker is set, else a thread here.

    Returns "task", "thread" or "" (a retrain is already running in this process)."""
    if settings.CELERY_BROKER_URL:
        from replies.tasks import train_classifier

        try:
            train_classifier.apply_async(kwargs={"resort": True}, retry=False)
            return "task"
        except Exception:
            logger.warning("Could not reach the task broker; retraining in a thread here instead")
    return "thread" if start_background_training() is not None else ""


_running = threading.Event()


def start_background_training() -> threading.Thread | None:
    if _running.is_set():
        return None
    _running.set()
    thread = threading.Thread(target=_run, name="replies-train", daemon=True)
    thread.start()
    return thread


def _run() -> None:
    from replies.classifier import TrainingBusy, train

    try:
        row = train()
        logger.info("Background retrain finished: %s", row)
    except TrainingBusy:
        logger.info("Background retrain skipped: another run holds the lock")
    except Exception:
        logger.exception("Background retrain failed")
    finally:
        _running.clear()
        connection.close()
