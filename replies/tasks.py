"""Celery tasks of the replies app: thin callers of the functions the command calls."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def train_classifier(resort: bool = True) -> str:
    """``train_classifier --resort``: train a new version, then sort texts waiting for review.

    The training holds a lock: a second run at the same time gives up rather than waits.
    """
    from replies.classifier import TrainingBusy, train
    from replies.sorting import resort_pending

    try:
        row = train()
    except TrainingBusy as exc:
        return f"Skipped: {exc}"
    if row.status != row.Status.READY:
        return f"Classifier v{row.version} {row.status}: {row.note}"
    sorted_ = f"; {resort_pending()} waiting texts sorted" if resort else ""
    return f"Classifier v{row.version} ready{sorted_}"
