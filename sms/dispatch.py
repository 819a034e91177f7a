"""The dispatcher: claims due texts, routes them, calls the backends, records the outcome.

Used by ``send_queued``, by ``send(..., send_immediately=True)`` and by the task engine.

Never twice: a batch is claimed and committed as SENDING *before* any gateway is called, and
the route (backend, SIM) is committed before the call too. A dispatcher that dies between
the gateway call and recording the outcome leaves rows in SENDING with their backend set;
``recover_stuck`` later marks them UNKNOWN, or queues them again only when the backend's
gateway drops a second send with the same client reference. Rows stuck without a backend
never reached a gateway and are simply queued again.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from sms import signals
from sms.backends import BackendError, SendResult, get_backend_class
from sms.bulk import insert_rows, update_rows
from sms.models import DUE_STATES, ConsentEvent, Contact, OutboundMessage, State, StatusChange
from sms.routing import Deferral, Route, route

logger = logging.getLogger(__name__)


@dataclass
class DispatchSummary:
    claimed: int = 0
    sent: int = 0
    debug: int = 0
    retry: int = 0
    failed: int = 0
    refused: int = 0
    deferred: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchSummary) -> None:
        for name in ("claimed", "sent", "debug", "retry", "failed", "refused", "deferred", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors[:20])

    def __str__(self):
        return (
            f"{self.claimed} claimed: {self.sent} sent, {self.debug} debug, {self.retry} to retry, "
            f"{self.failed} failed, {self.refused} refused, {self.deferred} deferred"
        )


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base... capped; never sooner than Retry-After."""
    seconds = min(settings.SMS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), settings.SMS_RETRY_MAX_SECONDS)
    if retry_after:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=seconds)


def claim_batch(*, size: int, now=None, pks=None) -> list[OutboundMessage]:
    """Atomically take up to ``size`` due messages for this dispatcher and mark them SENDING.

    On PostgreSQL rows locked by another dispatcher are skipped; on SQLite the transaction
    takes the write lock up front (IMMEDIATE). Either way the UPDATE re-checks the state, and
    only rows carrying our claim token are ours.
    """
    now = now or timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        candidates = OutboundMessage.objects.due(now).in_claim_order()
        if pks is not None:
            candidates = candidates.filter(pk__in=pks)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True)[:size])
        if not ids:
            return []
        OutboundMessage.objects.filter(pk__in=ids, state__in=DUE_STATES).update(
            state=State.SENDING,
            claimed_at=now,
            claim_token=token,
            changed_at=now,
            number_of_send_attempts=F("number_of_send_attempts") + 1,
        )
        claimed = list(OutboundMessage.objects.filter(claim_token=token, state=State.SENDING).order_by("pk"))
        insert_rows([StatusChange(message=m, state=State.SENDING, at=now) for m in claimed])
    for message in claimed:
        signals.status_changed.send(
            sender=OutboundMessage, message=message, previous=State.WAITING, state=State.SENDING
        )
    return claimed


def dispatch(*, batch_size: int | None = None, max_batches: int | None = None, progress=None) -> DispatchSummary:
    """Send every due message, batch after batch, until none is due (or ``max_batches``)."""
    batch_size = batch_size or settings.SMS_DISPATCH_BATCH_SIZE
    summary = DispatchSummary()
    while max_batches is None or summary.batches < max_batches:
        claimed = claim_batch(size=batch_size)
        if not claimed:
            break
        summary.add(send_claimed(claimed))
        summary.batches += 1
        if progress:
            progress(summary)
    return summary


def send_message_now(message: OutboundMessage) -> OutboundMessage:
    """Send one queued message right away (``send_immediately=True``)."""
    claimed = claim_batch(size=1, pks=[message.pk])
    if claimed:
        send_claimed(claimed)
    message.refresh_from_db()
    return message


def send_claimed(messages: list[OutboundMessage]) -> DispatchSummary:
    """Route and send messages this dispatcher has claimed (state SENDING)."""
    summary = DispatchSummary(claimed=len(messages))
    now = timezone.now()

    # Suppression again at dispatch time: an opt-out may have arrived since queueing.
    opted_out = Contact.objects.opted_out_numbers({m.recipient for m in messages})
    if opted_out:
        confirmations = _valid_confirmations([m for m in messages if m.recipient in opted_out])
        refused = [m for m in messages if m.recipient in opted_out and m.pk not in confirmations]
        _finish(refused, State.REFUSED, now, error="Recipient opted out", note="Opted out before sending")
        summary.refused += len(refused)
        messages = [m for m in messages if m.recipient not in opted_out or m.pk in confirmations]
    # An opt-out confirmation to a number that has opted back in since would tell them the opposite.
    stale = [m for m in messages if m.confirms_opt_out_id and m.recipient not in opted_out]
    if stale:
        note = "Opted back in before the opt-out confirmation left"
        _finish(stale, State.REFUSED, now, error=note, note=note)
        summary.refused += len(stale)
        messages = [m for m in messages if m not in stale]
    if not messages:
        return summary

    groups: dict[tuple, tuple[Route, list[OutboundMessage]]] = {}
    deferred: dict[tuple, list[OutboundMessage]] = defaultdict(list)
    for message, decision in zip(messages, route(messages), strict=True):
        if isinstance(decision, Deferral):
            deferred[(decision.reason, decision.until)].append(message)
        else:
            groups.setdefault(decision.key, (decision, []))[1].append(message)
    for (reason, until), waiting in deferred.items():
        _requeue(waiting, now, until=until, note=reason, refund_attempt=True)
        summary.deferred += len(waiting)

    for route_, group in groups.values():
        # Commit the route before the call: recovery must know which gateway may have it.
        for message in group:
            message.backend = route_.backend.slug
            message.sim_id = route_.sim_id
            message.sender = message.sender or route_.sender
        update_rows(group, ["backend", "sim", "sender"])
        try:
            results = route_.backend.publish_messages(group)
        except BackendError as exc:  # a batch API failing as a whole
            results = [SendResult(message=m, error=exc) for m in group]
        except Exception as exc:  # a bug or an unexpected library error: never lose the batch
            logger.exception("Backend %s crashed while sending %d messages", route_.backend.slug, len(group))
            results = [SendResult(message=m, error=BackendError(f"Backend crashed: {exc!r}")) for m in group]
        _record(results, route_, summary)
    return summary


def _valid_confirmations(messages: list[OutboundMessage]) -> set[int]:
    """Pks of the messages that confirm an opt-out of their own recipient (the only texts an
    opted-out number may still get)."""
    wanted = {m.confirms_opt_out_id for m in messages if m.confirms_opt_out_id}
    if not wanted:
        return set()
    events = dict(
        ConsentEvent.objects.filter(pk__in=wanted, kind=ConsentEvent.Kind.OPT_OUT).values_list("pk", "number")
    )
    return {m.pk for m in messages if m.confirms_opt_out_id and events.get(m.confirms_opt_out_id) == m.recipient}


def _record(results: list[SendResult], route_: Route, summary: DispatchSummary) -> None:
    now = timezone.now()
    ok = [r for r in results if r.ok]
    debug = route_.backend.debug
    for result in ok:
        message = result.message
        message.external_id = result.external_id[:100]
        if result.sender:
            message.sender = result.sender[:20]
        if result.extra_sender_data:
            message.extra_sender_data = {**message.extra_sender_data, **result.extra_sender_data}
        message.sent_at = now
        message.error = ""
    new_state = State.DEBUG if debug else State.SENT
    if ok:
        _finish(
            [r.message for r in ok],
            new_state,
            now,
            extra_fields=["external_id", "sender", "extra_sender_data", "sent_at"],
        )
        for result in ok:
            signals.message_sent.send(sender=OutboundMessage, message=result.message)
    if debug:
        summary.debug += len(ok)
    else:
        summary.sent += len(ok)

    failed = [r for r in results if not r.ok]
    for result in failed:
        _record_failure(result.message, result.error, now, summary)
    if route_.on_outcome:
        route_.on_outcome([r.message for r in ok], [r.message for r in failed])


def _record_failure(message: OutboundMessage, error: BackendError, now, summary: DispatchSummary) -> None:
    text = str(error) or error.__class__.__name__
    if error.code:
        text = f"[{error.code}] {text}"
    summary.errors.append(f"{message.recipient}: {text}")
    if error.opt_out:
        contact, _ = Contact.objects.get_or_create(number=message.recipient)
        _finish([message], State.REFUSED, now, error=text, note="Gateway says the recipient opted out")
        contact.opt_out(reason=f"Gateway: {text}", source="gateway", evidence=text)
        summary.refused += 1
        return
    if error.ambiguous:
        _finish([message], State.UNKNOWN, now, error=text, note=text)
        summary.failed += 1
        return
    if error.throttled:
        # Throttling is about us, not the text: wait as asked without spending an attempt.
        _requeue(
            [message],
            now,
            until=now + retry_delay(1, error.retry_after),
            note=f"Throttled: {text}",
            refund_attempt=True,
            state=State.ERROR_RETRY,
            error=text,
        )
        summary.retry += 1
        return
    if error.permanent or not message.retry or message.number_of_send_attempts >= settings.SMS_MAX_ATTEMPTS:
        _finish([message], State.ERROR, now, error=text, note=text)
        summary.failed += 1
        return
    until = now + retry_delay(message.number_of_send_attempts, error.retry_after)
    _requeue([message], now, until=until, note=text, state=State.ERROR_RETRY, error=text)
    summary.retry += 1


def _finish(messages, state, now, *, error: str | None = None, note: str = "", extra_fields=()) -> None:
    if not messages:
        return
    for message in messages:
        previous = message.state
        message.state = state
        message.changed_at = now
        message.claim_token = None
        if error is not None:
            message.error = error[:1000]
        message._previous_state = previous
    # One transaction: a reader (or a crash) never sees the new state without its history row.
    with transaction.atomic():
        update_rows(messages, ["state", "changed_at", "claim_token", "error", *extra_fields])
        insert_rows([StatusChange(message=m, state=state, at=now, note=note[:500]) for m in messages])
    for message in messages:
        signals.status_changed.send(
            sender=OutboundMessage, message=message, previous=message._previous_state, state=state
        )


def _requeue(messages, now, *, until, note: str, refund_attempt=False, state=State.WAITING, error="") -> None:
    for message in messages:
        message.next_attempt_at = until
        if refund_attempt:
            message.number_of_send_attempts = max(message.number_of_send_attempts - 1, 0)
    with transaction.atomic():
        update_rows(messages, ["next_attempt_at", "number_of_send_attempts"])
        _finish(messages, state, now, error=error or note, note=note)


def recover_stuck(*, timeout: timedelta | None = None) -> dict[str, int]:
    """Resolve rows left in SENDING by a dispatcher that died. Safe to run at any time."""
    if timeout is None:
        timeout = timedelta(seconds=settings.SMS_SENDING_TIMEOUT_SECONDS)
    now = timezone.now()
    counts = {"requeued": 0, "unknown": 0}
    stuck = list(OutboundMessage.objects.stuck(timeout, now))
    for message in stuck:
        never_called = not message.backend
        try:
            dedup = bool(message.backend) and get_backend_class(message.backend).deduplicates_on_reference
        except Exception:
            dedup = False
        # Conditional UPDATE: if the slow dispatcher finishes after all, it has already moved
        # the row on and we change nothing.
        if never_called or dedup:
            note = (
                "Recovered: never reached a gateway"
                if never_called
                else "Recovered: re-sent with the same client reference (the gateway deduplicates)"
            )
            won = OutboundMessage.objects.filter(
                pk=message.pk, state=State.SENDING, claimed_at=message.claimed_at
            ).update(
                state=State.WAITING,
                changed_at=now,
                claim_token=None,
                next_attempt_at=now,
                number_of_send_attempts=F("number_of_send_attempts") - (1 if never_called else 0),
            )
            new_state, key = State.WAITING, "requeued"
        else:
            note = (
                "Dispatcher stopped during the gateway call; not re-sent to avoid a duplicate. "
                "Check the gateway's logs."
            )
            won = OutboundMessage.objects.filter(
                pk=message.pk, state=State.SENDING, claimed_at=message.claimed_at
            ).update(state=State.UNKNOWN, changed_at=now, claim_token=None, error=note)
            new_state, key = State.UNKNOWN, "unknown"
        if won:
            StatusChange.objects.create(message=message, state=new_state, at=now, note=note)
            signals.status_changed.send(
                sender=OutboundMessage, message=message, previous=State.SENDING, state=new_state
            )
            counts[key] += 1
    return counts
