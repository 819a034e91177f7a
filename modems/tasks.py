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
