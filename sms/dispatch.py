"""The dispatcher: claims due texts, routes them, calls the backends, records the outcome.

Used by ``send_queued``, by ``send(..., send_immediately=True)`` and by the task engine.

Never twice: a batch is claimed and committed as SENDING *before* any gateway is called, and
the route (backend, SIM) is committed before the call too. The batch then goes out with many
requests in flight (``sms.sending``): each text's ``request_started_at`` is committed just
before its request starts, and its outcome as soon as its answer arrives. A dispatcher that
dies leaves in SENDING with the mark only the requests it had in flight; ``recover_stuck``
later marks those UNKNOWN (or queues them again when the gateway drops a second send with the
same client reference). Rows stuck without the mark never reached a gateway and are simply
queued again. Outcomes are conditional UPDATEs: a delivery report that beat the dispatcher's
own record is never overwritten.
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
from django.db.models.functions import Greatest
from django.utils import timezone

from sms import sending, signals
from sms.backends import BackendError, SendResult, get_backend_class
from sms.bulk import insert_rows, update_rows
from sms.models import DUE_STATES, ConsentEvent, Contact, OutboundMessage, State, StatusChange
from sms.routing import Deferral, Route, route

#: States an outcome may be written over: ours (SENDING), or recovery's guess (UNKNOWN) when
#: a dispatcher it gave up on answers after all. Never over a delivery report or a requeue.
OUTCOME_STATES = (State.SENDING, State.UNKNOWN)

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
            request_started_at=None,
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
    """Send every due message, batch after batch, until none is due (or ``max_batches``).

    The next batch is claimed as soon as every text of the current one has *started*, so the
    requests in flight do not drain to zero at each batch boundary.
    """
    batch_size = batch_size or settings.SMS_DISPATCH_BATCH_SIZE
    summary = DispatchSummary()
    sender = sending.Sender(mark_started=_mark_started)
    while max_batches is None or summary.batches < max_batches:
        claimed = claim_batch(size=batch_size)
        if not claimed:
            break
        send_claimed(claimed, sender=sender, summary=summary)
        summary.batches += 1
        if progress:
            progress(summary)
    sender.drain()
    if progress and summary.batches:
        progress(summary)
    return summary


def send_message_now(message: OutboundMessage) -> OutboundMessage:
    """Send one queued message right away (``send_immediately=True``)."""
    claimed = claim_batch(size=1, pks=[message.pk])
    if claimed:
        send_claimed(claimed)
    message.refresh_from_db()
    return message


def send_claimed(
    messages: list[OutboundMessage], *, sender: sending.Sender | None = None, summary: DispatchSummary | None = None
) -> DispatchSummary:
    """Route and send messages this dispatcher has claimed (state SENDING).

    With a ``sender`` (``dispatch``'s), returns once every text has started, its outcomes
    recorded later by the sender; without one, once every outcome is recorded.
    """
    summary = summary if summary is not None else DispatchSummary()
    summary.claimed += len(messages)
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

    lanes = []
    for route_, group in groups.values():
        # Commit the route before the call: recovery must know which gateway may have it.
        for message in group:
            message.backend = route_.backend.slug
            message.sim_id = route_.sim_id
            message.sender = message.sender or route_.sender
        update_rows(group, ["backend", "sim", "sender"])
        lanes.append(
            sending.Lane(
                route_,
                group,
                record=lambda route_, results: _record(results, route_, summary),
                give_back=lambda waiting, note: _give_back(waiting, note, summary),
            )
        )
    own = sender is None
    sender = sender or sending.Sender(mark_started=_mark_started)
    sender.add(lanes)
    if own:
        sender.drain()
    else:
        sender.pump()
    return summary


def _mark_started(jobs: list[sending.Job]) -> list[sending.Job]:
    """Commit "the request starts now" for these jobs' texts (one UPDATE per claim); keep the
    jobs whose texts are still ours (recovery may have given up on a very slow dispatcher)."""
    messages = [m for job in jobs for m in job.messages]
    now = timezone.now()
    by_token: dict = defaultdict(list)
    for message in messages:
        by_token[message.claim_token].append(message.pk)
    lost = False
    for token, pks in by_token.items():
        marked = OutboundMessage.objects.filter(pk__in=pks, claim_token=token, state=State.SENDING).update(
            request_started_at=now
        )
        lost = lost or marked < len(pks)
    if lost:
        ours = {
            (pk, token)
            for pk, token in OutboundMessage.objects.filter(
                pk__in=[m.pk for m in messages], request_started_at=now
            ).values_list("pk", "claim_token")
        }
        for job in jobs:
            job.messages = [m for m in job.messages if (m.pk, m.claim_token) in ours]
        jobs = [job for job in jobs if job.messages]
    for message in messages:
        message.request_started_at = now
    return jobs


def _give_back(messages: list[OutboundMessage], note: str, summary: DispatchSummary) -> None:
    now = timezone.now()
    _requeue(messages, now, until=now + timedelta(seconds=30), note=note, refund_attempt=True)
    summary.deferred += len(messages)


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
        won = _finish(
            [r.message for r in ok],
            new_state,
            now,
            extra_fields=["external_id", "sender", "extra_sender_data", "sent_at"],
        )
        for message in won:
            signals.message_sent.send(sender=OutboundMessage, message=message)
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


def _finish(messages, state, now, *, error: str | None = None, note: str = "", extra_fields=()) -> list:
    """Move claimed texts to ``state`` with their history rows, in one transaction, unless
    something else moved them first (a delivery report, recovery's requeue): returns the texts
    moved. Data fields (``extra_fields``) of an accepted text are kept even when a report beat
    us to its state.

    The hot path is two round trips: one conditional UPDATE per row (pipelined) whose total
    row count says whether every row was still ours, and the history INSERT.
    """
    if not messages:
        return []
    for message in messages:
        message.state = state
        message.changed_at = now
        message.claim_token = None
        if error is not None:
            message.error = error[:1000]
    fields = ["state", "changed_at", "claim_token", "error", *extra_fields]
    with transaction.atomic(savepoint=False):
        # One transaction: a reader (or a crash) never sees the new state without its history row.
        if _update_if_outcome_allowed(messages, fields) == len(messages):
            won = messages
        else:
            pks = [m.pk for m in messages]
            current = dict(OutboundMessage.objects.filter(pk__in=pks).values_list("pk", "state"))
            moved = set(
                OutboundMessage.objects.filter(pk__in=pks, state=state, changed_at=now).values_list("pk", flat=True)
            )
            won = [m for m in messages if m.pk in moved]
            reported = [
                m
                for m in messages
                if m.pk not in moved and current.get(m.pk) in (State.SENT, State.DELIVERED, State.ERROR_UPDATE)
            ]
            if extra_fields and reported and state in (State.SENT, State.DEBUG):
                update_rows(reported, list(extra_fields))
        insert_rows([StatusChange(message=m, state=state, at=now, note=note[:500]) for m in won])
    for message in won:
        signals.status_changed.send(sender=OutboundMessage, message=message, previous=State.SENDING, state=state)
    return won


def _update_if_outcome_allowed(messages, field_names) -> int:
    """``update_rows`` with ``AND state IN OUTCOME_STATES``; the number of rows changed.

    PostgreSQL: one ``UPDATE ... FROM (VALUES ...)`` whatever the number of rows (so a bigger
    group costs no more round trips); SQLite: one prepared statement run per row.
    """
    meta = OutboundMessage._meta
    fields = [meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    states = ", ".join(["%s"] * len(OUTCOME_STATES))
    values = [[m.pk, *(f.get_db_prep_save(getattr(m, f.attname), connection) for f in fields)] for m in messages]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            casts = [f"%s::{meta.pk.db_type(connection)}"] + [f"%s::{f.db_type(connection)}" for f in fields]
            row = f"({', '.join(casts)})"
            names = ", ".join(["id", *(quote(f.column) for f in fields)])
            assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
            sql = (
                f"UPDATE {table} AS t SET {assignments} "  # noqa: S608 (names from the model)
                f"FROM (VALUES {', '.join([row] * len(values))}) AS v({names}) "
                f"WHERE t.{pk} = v.id AND t.{quote('state')} IN ({states})"
            )
            cursor.execute(sql, [p for row_values in values for p in row_values] + list(OUTCOME_STATES))
            return cursor.rowcount
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s AND {quote('state')} IN ({states})"  # noqa: S608
        cursor.executemany(sql, [[*row_values[1:], row_values[0], *OUTCOME_STATES] for row_values in values])
        return cursor.rowcount


def _requeue(messages, now, *, until, note: str, refund_attempt=False, state=State.WAITING, error="") -> None:
    for message in messages:
        message.next_attempt_at = until
        if refund_attempt:
            message.number_of_send_attempts = max(message.number_of_send_attempts - 1, 0)
    _finish(
        messages,
        state,
        now,
        error=error or note,
        note=note,
        extra_fields=["next_attempt_at", "number_of_send_attempts"],
    )


def recover_stuck(*, timeout: timedelta | None = None) -> dict[str, int]:
    """Resolve rows left in SENDING by a dispatcher that died. Safe to run at any time."""
    if timeout is None:
        timeout = timedelta(seconds=settings.SMS_SENDING_TIMEOUT_SECONDS)
    now = timezone.now()
    counts = {"requeued": 0, "unknown": 0}
    stuck = list(OutboundMessage.objects.stuck(timeout, now))
    for message in stuck:
        # No route, or no request mark: this attempt's gateway request never started.
        never_called = not message.backend or message.request_started_at is None
        try:
            dedup = bool(message.backend) and get_backend_class(message.backend).deduplicates_on_reference
        except Exception:
            dedup = False
        # Conditional UPDATE: if the slow dispatcher finishes after all, it has already moved
        # the row on and we change nothing.
        if never_called or dedup:
            note = (
                "Recovered: its request to the gateway never started"
                if never_called
                else "Recovered: re-sent with the same client reference (the gateway deduplicates)"
            )
            still = OutboundMessage.objects.filter(pk=message.pk, state=State.SENDING, claimed_at=message.claimed_at)
            if never_called:  # ...and the dispatcher cannot start it from now on (claim token gone)
                still = still.filter(request_started_at__isnull=True)
            won = still.update(
                state=State.WAITING,
                changed_at=now,
                claim_token=None,
                next_attempt_at=now,
                number_of_send_attempts=Greatest(F("number_of_send_attempts") - (1 if never_called else 0), 0),
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
