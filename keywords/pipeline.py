"""The routing step (an inline step of ``settings.SMS_INBOUND_PIPELINE``): ``route``.

Runs in the webhook's request, in the text's transaction, after ``link_conversation``:
STOP/START/HELP, then configured keywords and their handlers (see ``keywords/routing.py`` for
the order). It sets ``message.routed_by`` when it takes a text; the deferred replies step
leaves such texts out of classification.

Exactly once: the ``Dispatch`` row is the record of "done", written in the same transaction as
the handler's work. A text that already has one is not routed again (a duplicate delivery, a
re-run of a pending text). A handler that asks for a retry, raises or runs past its deadline
has its work rolled back and raises ``RetryLater``: the text stays stored, pending, the webhook
answers the gateway's "retry", and the retry (or ``recover_inbound``) runs it again - until
``KEYWORDS_HANDLER_MAX_ATTEMPTS`` attempts or ``KEYWORDS_HANDLER_GIVE_UP_HOURS`` have passed,
when the text goes to the inbox marked "keyword failed".
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from keywords import actions, handlers, routing
from keywords.models import Dispatch, Keyword
from keywords.signals import keyword_received
from sms.models import InboundMessage
from sms.receiving import RetryLater

logger = logging.getLogger(__name__)


class _HandlerFailed(Exception):
    """Rolls the handler's savepoint back."""


def route(message: InboundMessage) -> None:
    """Pipeline step: route one stored inbound text (idempotent)."""
    if getattr(message, "redelivered", False):  # the inline steps ran before: did this one finish then?
        done = Dispatch.objects.filter(message=message).values_list("routed_by", flat=True).first()
        if done is not None:
            _set_routed_by(message, done)
            return
    decision = routing.decide(content=message.content, recipient=message.recipient)
    if not decision.routed_by:
        return
    if decision.kind == "stop":
        actions.opt_out_by_text(message)
        _finish(message, decision)
    elif decision.kind == "start":
        _finish(message, decision, reply=actions.opt_in_by_text(message))
    elif decision.kind == "help":
        reply = actions.answer(message=message, content=routing.cache.snapshot().standard.help_text)
        _finish(message, decision, reply=reply)
    else:
        _run_keyword(message, decision)


def _nothing_to_route(message: InboundMessage) -> bool:
    """``route`` ahead of the INSERT (``sms.receiving``'s fast path): most texts are neither
    STOP/START/HELP nor a keyword, and cost no query here (the router's cache)."""
    return not routing.decide(content=message.content, recipient=message.recipient).routed_by


route.prepare = _nothing_to_route


def _run_keyword(message: InboundMessage, decision: routing.Decision) -> None:
    keyword = decision.keyword
    if routing.over_limit(keyword, message.sender):
        _finish(message, decision, state=Dispatch.State.LIMITED, error="Over the per-contact limit")
        return
    attempts = _attempts(message) + 1
    try:
        with transaction.atomic():
            if keyword.handler:
                result, error = handlers.call(
                    keyword.handler, message, decision.argument, timeout=settings.KEYWORDS_HANDLER_TIMEOUT_SECONDS
                )
                if result != handlers.Result.HANDLED:
                    raise _HandlerFailed(error)
            reply = _reply(message, keyword, decision.argument)
    except _HandlerFailed as exc:
        error = str(exc)
        if _give_up(message, attempts):
            logger.error("Keyword %s failed on message %s after %s attempts: %s", keyword, message.pk, attempts, error)
            record_health(keyword, error=error)
            _finish(message, decision, state=Dispatch.State.FAILED, error=error, attempts=attempts)
            return
        # Rolls back this step: the text stays pending. Anything written now would be rolled
        # back too, so this error reaches the keyword's health at the next attempt (_attempts).
        raise RetryLater(f"{keyword.routed_by}: {error}") from None
    _finish(message, decision, reply=reply, attempts=attempts)
    keyword_received.send_robust(sender=Keyword, message=message, keyword=keyword, argument=decision.argument)


def _reply(message: InboundMessage, keyword: Keyword, argument: str):
    if not keyword.reply_template:
        return None
    contact = actions.contact_of(message)
    content = actions.render_reply(keyword.reply_template, word=keyword.word, argument=argument, name=contact.name)
    link = keyword.link_target()
    extra = {"extra_data": {"link": link}} if link else {}
    return actions.answer(message=message, content=content, tag=actions.KEYWORD_REPLY_TAG, **extra)


def _attempts(message: InboundMessage) -> int:
    """Attempts before this one (the pipeline counts those that asked for a retry). The last
    one's error is noted in the keyword's health now: its own note was rolled back."""
    previous = getattr(message, "pipeline_attempts", 0) or 0
    error = getattr(message, "pipeline_error", "") or ""
    prefix, _, detail = error.partition(": ")
    if previous and prefix.startswith("keyword:"):
        keyword = routing.cache.snapshot().keywords.get(prefix.partition(":")[2])
        if keyword is not None:
            record_health(keyword, error=detail)
    return previous


def _give_up(message: InboundMessage, attempts: int) -> bool:
    if attempts >= settings.KEYWORDS_HANDLER_MAX_ATTEMPTS:
        return True
    # A text the gateway held for days (a phone out of coverage) still gets one retry.
    too_old = timezone.now() - message.received_at >= timedelta(hours=settings.KEYWORDS_HANDLER_GIVE_UP_HOURS)
    return attempts > 1 and too_old


def record_health(keyword: Keyword, *, error: str) -> None:
    """The keyword's last failure (an UPDATE: the router's cache stays valid). Its last success
    is its latest done Dispatch: no write to a row every text of the keyword would queue on."""
    Keyword.objects.filter(pk=keyword.pk).update(last_failure_at=timezone.now(), last_error=error[:2000])


def _finish(message, decision, *, state=Dispatch.State.DONE, reply=None, error="", attempts=1) -> None:
    message.keyword_dispatch = Dispatch.objects.create(  # cached for the deferred replies step
        message=message,
        routed_by=decision.routed_by,
        keyword=decision.keyword,
        sender=message.sender,
        argument=decision.argument[:500],
        state=state,
        attempts=attempts,
        error=error,
        reply=reply,
    )
    _set_routed_by(message, decision.routed_by)


def _set_routed_by(message: InboundMessage, routed_by: str) -> None:
    """Saved with the pipeline's state at the end of the inline steps (sms.receiving)."""
    message.routed_by = routed_by
