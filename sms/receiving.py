"""Inbound texts and delivery reports, whichever way they arrive (webhook, modem, polling)."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from sms import signals
from sms.backends import InboundData, StatusReport
from sms.backends.http import without_nul
from sms.models import Contact, InboundMessage, OutboundMessage, PipelineState, State
from sms.phone import try_normalise
from sms.sanity import checked_inbound, checked_report

logger = logging.getLogger(__name__)

# Order of progress: a late "sent" report never moves a delivered text backwards.
_RANK = {State.SENDING: 0, State.SENT: 1, State.DELIVERED: 2, State.ERROR_UPDATE: 2}


class RetryLater(Exception):
    """Raised by an inline pipeline step that could not finish now (a keyword handler asking
    to be called again): the text stays stored ``pending`` and the webhook answers what makes
    the gateway deliver it again (``backend.webhook_response("retry")``)."""


def store_inbound(backend: str, data: InboundData, *, sim_id: int | None = None) -> tuple[InboundMessage, bool]:
    """Store an inbound text once (idempotent on backend + gateway id) and run the pipeline.

    Returns (message, created); ``message.retry_later`` is True when an inline step asked for
    the text to be delivered again. A duplicate delivery of a finished text runs nothing; of
    a ``pending`` one (the gateway's retry after "retry later"), runs the inline steps again
    under a row lock, so two concurrent deliveries run them once.

    The row and the inline steps' work (``SMS_INBOUND_PIPELINE``: its link, keyword routing,
    an opt-out and its confirmation) commit together: a process that dies half-way leaves
    nothing, so the gateway's retry (or the next ``read_in`` of a text still on the SIM) runs
    it all. A step that *raises* is rolled back alone (a savepoint), logged, and the text
    kept; a retry does not run it again. The deferred steps (``SMS_INBOUND_DEFERRED_PIPELINE``:
    the classifier, auto-replies) run in the same transaction without a task broker, and
    after the commit in ``sms.tasks.process_inbound`` with one.
    """
    data = checked_inbound(data)  # no NUL, an id that fits, a sane time (sms/sanity.py)
    sender = try_normalise(data.sender) or data.sender.strip()[:20]
    recipient = try_normalise(data.recipient) or (data.recipient or "").strip()[:20] if data.recipient else ""
    external_id = data.external_id or _fallback_id(data)
    fields = {
        "sender": sender,
        "recipient": recipient,
        "content": data.content,
        "backend": backend,
        "external_id": external_id,
        "received_at": data.received_at or timezone.now(),
        "raw": data.raw,
        "sim_id": sim_id,
        "pipeline_state": PipelineState.PENDING,
        "pipeline_changed_at": timezone.now(),
    }
    try:
        message = _store_prepared(fields)
        if message is not None:
            _announce(message)
            return message, True
        try:
            # The fast path: the row and the inline steps in one transaction, without savepoints
            # (each costs two round trips) and with the row stored in the state it will commit
            # in (no second UPDATE): issue 11 keeps the request within 8 queries.
            with transaction.atomic():
                message = InboundMessage.objects.create(**{**fields, **_fast_path_state()})
                _run_inline(message, fast=True)
        except _StepRaised as raised:
            # A step raised (or asked to be run again): all of that try is rolled back; store
            # the text again, each step in its own savepoint, and give the step that raised its
            # outcome without calling it twice (the steps before it run again: idempotent).
            # Same id as the try: a step may have shown it to someone (a handler's log, a call).
            with transaction.atomic():
                message = InboundMessage.objects.create(pk=raised.pk, **fields)
                _run_inline(message, outcomes={raised.index: raised.error})
    except IntegrityError:
        # Stored before (the gateway's retry, or the same callback twice at once): the unique
        # constraint says so, without a look-up ahead of every first delivery.
        existing = InboundMessage.objects.filter(backend=backend, external_id=external_id).first()
        if existing is None:
            raise  # another constraint (a SIM deleted meanwhile)
        return _redelivered(existing), False
    _announce(message)
    return message, True


def _store_prepared(fields: dict) -> InboundMessage | None:
    """The fastest path: every inline step did its work on this text by reading ahead (its
    ``prepare(message) -> bool``: reads only, sets fields on the unsaved row, True when
    nothing is left to do). The text is then one INSERT, committed on its own: with the reads,
    two round trips to the database. None when a step has more to do (a STOP, a new contact)."""
    state = _fast_path_state()
    if not state:
        return None
    message = InboundMessage(**{**fields, **state})
    for step in pipeline():
        prepare = getattr(step, "prepare", None)
        try:
            if prepare is None or not prepare(message):
                return None
        except Exception:
            logger.warning("Inbound step %s could not prepare; running it in full", _name(step), exc_info=True)
            return None
    if connection.in_atomic_block:  # the caller's transaction: a duplicate must not abort it
        with transaction.atomic():
            message.save(force_insert=True)
    else:
        message.save(force_insert=True)
    message.retry_later = False
    if message.pipeline_state == PipelineState.QUEUED:
        transaction.on_commit(lambda: _enqueue_deferred(message.pk))
    return message


def _fast_path_state() -> dict:
    """Pipeline fields of a text whose inline steps will all succeed (else it is rolled back)."""
    if deferred_pipeline() and not settings.CELERY_BROKER_URL:
        return {}  # the deferred steps run in this transaction and record DONE themselves
    state = PipelineState.QUEUED if deferred_pipeline() else PipelineState.DONE
    return {"pipeline_state": state, "pipeline_attempts": 1}


class _StepRaised(Exception):
    """On the fast path, inline step number ``index`` raised ``error`` on text ``pk``."""

    def __init__(self, index: int, error: Exception, pk: int):
        super().__init__(index, error, pk)
        self.index, self.error, self.pk = index, error, pk


def _redelivered(message: InboundMessage) -> InboundMessage:
    message.retry_later = False
    if message.pipeline_state != PipelineState.PENDING:
        return message
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().filter(pk=message.pk).first()
        if locked is None or locked.pipeline_state != PipelineState.PENDING:
            message.pipeline_state = locked.pipeline_state if locked else message.pipeline_state
            return message  # another delivery finished it meanwhile
        locked.redelivered = True  # the inline steps ran on it before: each checks what it finished
        _run_inline(locked)
    _announce(locked)
    return locked


def _run_inline(message: InboundMessage, *, fast: bool = False, outcomes: dict | None = None) -> None:
    """Run the inline steps (inside the caller's transaction), then hand over to the deferred.

    Each step in its own savepoint; with ``fast`` none, and the first exception is raised as
    ``_StepRaised`` for the caller to roll back and run again with ``outcomes`` (step index ->
    the exception it raised, given to it instead of calling it)."""
    message.retry_later = False
    for index, step in enumerate(pipeline()):
        try:
            if fast:
                try:
                    step(message)
                except Exception as exc:
                    raise _StepRaised(index, exc, message.pk) from exc
            elif outcomes and index in outcomes:
                raise outcomes[index]
            else:
                with transaction.atomic():
                    step(message)
        except _StepRaised:
            raise
        except RetryLater as exc:
            message.retry_later = True
            message.pipeline_error = (str(exc) or "A pipeline step asked to be run again later")[:500]
            break
        except Exception:
            # A failing step (a classifier bug, say) must not lose the text or make the
            # gateway retry forever: its own work is rolled back, later steps still run.
            logger.exception("Inbound pipeline step %s failed on message %s", _name(step), message.pk)
    if fast and message.pipeline_state != PipelineState.PENDING:
        # Stored in its final state (``_fast_path_state``): nothing to write again but which
        # step took the text (the keyword router sets it as it routes).
        if message.routed_by:
            InboundMessage.objects.filter(pk=message.pk).update(routed_by=message.routed_by)
        if message.pipeline_state == PipelineState.QUEUED:
            transaction.on_commit(lambda: _enqueue_deferred(message.pk))
        return
    message.pipeline_attempts += 1
    message.pipeline_changed_at = timezone.now()
    if message.retry_later:
        _save_pipeline(message)
        return
    message.pipeline_error = ""
    if not deferred_pipeline():
        message.pipeline_state = PipelineState.DONE
        _save_pipeline(message)
    elif settings.CELERY_BROKER_URL:
        message.pipeline_state = PipelineState.QUEUED
        _save_pipeline(message)
        transaction.on_commit(lambda: _enqueue_deferred(message.pk))
    else:
        _run_deferred_steps(message)


def _name(step) -> str:
    return f"{getattr(step, '__module__', '')}.{getattr(step, '__qualname__', step)!s}"


def _save_pipeline(message: InboundMessage) -> None:
    fields = ["pipeline_state", "pipeline_attempts", "pipeline_error", "pipeline_changed_at", "routed_by"]
    message.save(update_fields=fields)


def _enqueue_deferred(pk: int) -> None:
    from sms.tasks import process_inbound

    try:
        process_inbound.apply_async(args=[pk], retry=False)
    except Exception:  # a broker that is down costs a log line; recover_inbound runs it later
        logger.warning("Could not reach the task broker; inbound text %s waits for recover_inbound", pk, exc_info=True)


def _run_deferred_steps(message: InboundMessage) -> None:
    for step in deferred_pipeline():
        try:
            with transaction.atomic():
                step(message)
        except Exception:
            logger.exception("Deferred inbound step %s failed on message %s", _name(step), message.pk)
    message.pipeline_state = PipelineState.DONE
    message.pipeline_changed_at = timezone.now()
    _save_pipeline(message)


def run_deferred(pk: int) -> bool:
    """Run the deferred steps of a ``queued`` text once (the task engine's job). Returns
    whether this call ran them: a second call, or one racing another worker, does nothing."""
    with transaction.atomic():
        candidates = InboundMessage.objects.filter(pk=pk, pipeline_state=PipelineState.QUEUED)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        message = candidates.first()
        if message is None:
            return False
        _run_deferred_steps(message)
    _announce(message)
    return True


def recover_inbound(*, older_than: timedelta | None = None) -> dict[str, int]:
    """Finish texts the pipeline left behind: ``queued`` ones whose task was lost (a worker
    died, the broker was down) and ``pending`` ones whose gateway never delivered them again
    (our own retry; a keyword step gives up after its own limits). Safe to run at any time."""
    if older_than is None:
        older_than = timedelta(seconds=settings.SMS_INBOUND_RECOVER_SECONDS)
    cutoff = timezone.now() - older_than
    counts = {"deferred": 0, "retried": 0, "still_pending": 0}
    unfinished = InboundMessage.objects.exclude(pipeline_state=PipelineState.DONE).filter(
        pipeline_changed_at__lt=cutoff
    )
    for pk, state in unfinished.values_list("pk", "pipeline_state")[:1000]:
        if state == PipelineState.QUEUED:
            counts["deferred"] += run_deferred(pk)
            continue
        message = _redelivered(InboundMessage.objects.get(pk=pk))
        counts["still_pending" if message.retry_later else "retried"] += 1
    return counts


def _announce(message: InboundMessage) -> None:
    if message.pipeline_state == PipelineState.DONE:
        signals.message_received.send(sender=InboundMessage, message=message)


def _fallback_id(data: InboundData) -> str:
    """Gateways without ids: sender + time + content identify a text well enough."""
    import hashlib

    when = (data.received_at or timezone.now()).isoformat(timespec="seconds")
    return "h-" + hashlib.sha256(f"{data.sender}|{when}|{data.content}".encode()).hexdigest()[:40]


@lru_cache(maxsize=8)
def _pipeline(paths: tuple[str, ...]):
    return [import_string(path) for path in paths]


def pipeline():
    """The inline steps: run in the webhook's request, in the text's own transaction."""
    return _pipeline(tuple(settings.SMS_INBOUND_PIPELINE))


def deferred_pipeline():
    """The steps that may run after the commit (on a worker when a broker is configured)."""
    return _pipeline(tuple(settings.SMS_INBOUND_DEFERRED_PIPELINE))


def link_conversation(message: InboundMessage) -> None:
    """Pipeline step: link to the contact and to the last outbound text to that number.

    For a known contact the work is done ahead of the INSERT (``prepare``: one query, the
    contact's row with the id of the last text to it, found with the (recipient, created_at)
    index in a subquery); run as a step: that query and the link's UPDATE, two more for a new
    contact."""
    if not _prepare_link(message):
        contact = _new_contact(message.sender)
        message.contact = contact
        message.in_reply_to_id = last_outbound_to(message.sender, message.received_at)
    message.save(update_fields=["contact", "in_reply_to"])


def _prepare_link(message: InboundMessage) -> bool:
    when = connection.ops.adapt_datetimefield_value(message.received_at)  # as the ORM stores it
    params = [when, State.REFUSED.value, State.ABORTED.value, message.sender]
    contact = next(iter(Contact.objects.raw(_contact_with_last_sql(), params)), None)
    if contact is None:
        return False
    message.contact = contact
    message.in_reply_to_id = contact.last_outbound
    return True


@lru_cache(maxsize=1)
def _contact_with_last_sql() -> str:
    """The contact of a number with the id of the last text we sent it (not a refused one), in
    one statement. Written once as SQL: the ORM's Subquery(OuterRef) takes ~1.5 ms of CPU to
    compile on every webhook, more than the query itself."""
    q = connection.ops.quote_name
    contact, outbound = q(Contact._meta.db_table), q(OutboundMessage._meta.db_table)
    # Only quoted names of our own tables and columns go into the text; every value is a parameter.
    return (
        f"SELECT c.*, (SELECT o.{q('id')} FROM {outbound} o WHERE o.{q('recipient')} = c.{q('number')}"  # noqa: S608
        f" AND o.{q('created_at')} <= %s AND o.{q('state')} NOT IN (%s, %s)"
        f" ORDER BY o.{q('created_at')} DESC, o.{q('id')} DESC LIMIT 1) AS last_outbound"
        f" FROM {contact} c WHERE c.{q('number')} = %s"
    )


link_conversation.prepare = _prepare_link


def last_outbound_to(number: str, before) -> int | None:
    return (
        OutboundMessage.objects.filter(recipient=number, created_at__lte=before)
        .exclude(state__in=(State.REFUSED, State.ABORTED))
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )


def contact_for(number: str) -> Contact:
    """The contact of ``number``, created if new, without ``get_or_create``'s savepoint."""
    return Contact.objects.filter(number=number).first() or _new_contact(number)


def _new_contact(number: str) -> Contact:
    # One INSERT ... ON CONFLICT (number) DO UPDATE ... RETURNING id: a racer's row is fine.
    (contact,) = Contact.objects.bulk_create(
        [Contact(number=number)], update_conflicts=True, unique_fields=["number"], update_fields=["number"]
    )
    if contact.pk is None:  # a database that cannot return the id of an upsert
        contact = Contact.objects.get(number=number)
    return contact


def apply_status_report(backend: str, report: StatusReport) -> OutboundMessage | None:
    """Apply one delivery report. Unknown ids are logged and ignored (never an error)."""
    report = checked_report(report)  # no NUL, an id that fits, a sane time (sms/sanity.py)
    message = None
    if report.reference:
        message = (
            OutboundMessage.objects.filter(reference=_uuid_or_none(report.reference)).first()
            if _uuid_or_none(report.reference)
            else None
        )
    if message is None and report.external_id:
        message = OutboundMessage.objects.filter(backend=backend, external_id=report.external_id).first()
    if message is None:
        logger.info(
            "Status report for an unknown message (%s id=%r ref=%r): ignored",
            backend,
            report.external_id,
            report.reference,
        )
        return None
    if report.external_id and not message.external_id:
        # The report arrived before the dispatcher stored the gateway's id.
        OutboundMessage.objects.filter(pk=message.pk, external_id="").update(external_id=report.external_id[:100])
        message.external_id = report.external_id[:100]
    if report.opt_out:
        contact, _ = Contact.objects.get_or_create(number=message.recipient)
        contact.opt_out(
            reason=f"Gateway reported opt-out ({report.error_code or report.gateway_status})",
            source="gateway",
            evidence=str(report.raw)[:2000],
        )
    if report.state is None:
        return message
    if _RANK.get(report.state, 0) < _RANK.get(message.state, 0):
        return message  # out-of-order report: keep the later state
    note = f"{backend}: {report.gateway_status}" + (
        f" [{report.error_code}] {report.error}" if report.error or report.error_code else ""
    )
    if report.state == State.DELIVERED:
        message.mark_delivered(at=report.at, note=note)
    elif report.state == State.ERROR_UPDATE:
        message.mark_failed_after_send(error=note)
    elif report.state == State.SENT and message.state in (State.SENDING, State.UNKNOWN):
        message.set_state(State.SENT, note=note, sent_at=message.sent_at or timezone.now())
    return message


def _uuid_or_none(value: str):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def without_nul_fields(data):
    """A copy of an InboundData/StatusReport without NUL characters in its text fields."""
    import dataclasses

    changes = {
        f.name: without_nul(getattr(data, f.name))
        for f in dataclasses.fields(data)
        if isinstance(getattr(data, f.name), str | dict)
    }
    return dataclasses.replace(data, **changes)
