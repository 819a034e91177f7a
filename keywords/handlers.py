"""The handler contract, and running a handler within a deadline.

A handler is any callable named by its dotted path on a keyword::

    from keywords.handlers import Result

    def on_abc(message, argument):        # message: sms.models.InboundMessage, argument: str
        reward = Reward.objects.create(number=message.sender, code=argument)
        sms.api.send(message.sender, f"Your code {reward.code} is booked")  # queued, not sent now
        return Result.HANDLED                 # or Result.RETRY_LATER ("send it to me again later")

- It runs inside the inbound text's transaction: its database work (and every text it queues
  through ``sms.api``) commits together with the record that it ran, or not at all. So a
  gateway's retry after "retry later", a crash or a time-out runs it again only when it did
  not finish, and two deliveries of the same text at once run it once. Work outside the
  database (an HTTP call to another system) is not rolled back: make it idempotent, keyed on
  ``message.pk``. Do not use ``send_immediately=True`` (a text handed to the gateway cannot be
  taken back if the handler is then rolled back).
- Returning ``None`` counts as handled. Raising counts as retry-later (logged).
- It must return within ``KEYWORDS_HANDLER_TIMEOUT_SECONDS``: past it, ``HandlerTimeout`` is
  raised inside the handler (at its next Python instruction; a call blocked in C, such as a
  socket read, is interrupted when it returns, so give your own HTTP calls shorter time-outs),
  its work is rolled back and the gateway is asked to retry.

The ``keywords.signals.keyword_received`` signal fires after a keyword's handler succeeded
(or for keywords without a handler); a receiver cannot ask for a retry: what it raises is
logged and ignored.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from enum import StrEnum

from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class Result(StrEnum):
    HANDLED = "handled"  # done: the webhook answers the gateway's "OK"
    RETRY_LATER = "retry"  # not fully handled: roll back, have the gateway send the text again


class HandlerTimeout(Exception):
    """Raised inside a handler that ran past its deadline."""


def call(path: str, message, argument: str, *, timeout: float) -> tuple[Result, str]:
    """Run the handler at ``path``; (result, error text). Never raises (but see HandlerTimeout)."""
    try:
        handler = import_string(path)
    except ImportError as exc:  # checked at save; the code may have changed since
        logger.error("Keyword handler %s cannot be imported: %s", path, exc)
        return Result.RETRY_LATER, f"Cannot import {path}: {exc}"
    try:
        outcome = run_with_deadline(lambda: handler(message, argument), timeout)
    except HandlerTimeout:
        logger.warning("Keyword handler %s ran past %ss on message %s", path, timeout, message.pk)
        return Result.RETRY_LATER, f"Timed out after {timeout:g} s"
    except Exception as exc:
        logger.exception("Keyword handler %s raised on message %s", path, message.pk)
        return Result.RETRY_LATER, f"{exc.__class__.__name__}: {exc}"[:2000]
    if outcome is None or outcome == Result.HANDLED or outcome is True:
        return Result.HANDLED, ""
    if outcome == Result.RETRY_LATER or outcome is False:
        return Result.RETRY_LATER, "The handler asked to be called again later"
    logger.error("Keyword handler %s returned %r, not a Result: treated as retry-later", path, outcome)
    return Result.RETRY_LATER, f"Returned {outcome!r}, not a keywords.handlers.Result"


def _raise_in(thread_id: int, exc_type) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc_type))


def _clear_in(thread_id: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)


def run_with_deadline(function, seconds: float):
    """``function()`` in this thread, interrupted with HandlerTimeout after ``seconds``.

    The handler must run in the request's own thread: it shares the request's database
    connection and transaction (a second connection would wait on SQLite's write lock until
    the request ends). A watchdog timer raises the exception asynchronously in this thread.
    """
    if not seconds or seconds <= 0:
        return function()
    thread_id = threading.get_ident()
    lock = threading.Lock()
    state = {"finished": False, "fired": False}

    def fire():
        with lock:
            if not state["finished"]:
                state["fired"] = True
                _raise_in(thread_id, HandlerTimeout)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        return function()
    finally:
        with lock:
            state["finished"] = True
            if state["fired"]:
                _clear_in(thread_id)  # fired as the function returned: not delivered yet
        timer.cancel()
