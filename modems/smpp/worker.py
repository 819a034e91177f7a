"""The SMPP worker of one route: claim the texts handed to it, submit them through a window
of outstanding submit_sm, store the ids, apply receipts, store inbound texts, reconnect.

Never twice, nothing lost:
- texts are claimed as the dispatcher claims them (SKIP LOCKED where the database has it, a
  claim token, SENDING committed) *before* any submit_sm;
- a submit_sm_resp's id is stored (``SmppPart``) by the reader thread before it reads the next
  PDU, so a receipt that follows it always finds it; a receipt that overtakes it is kept
  (``SmppEarlyReceipt``) and applied when the id is stored;
- when the connection drops, a text with a part sent and not answered (or only some parts
  accepted) may have left: it becomes UNKNOWN, never re-sent; a text none of whose parts
  reached the socket goes back to waiting for this route (a failover moves it elsewhere).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import smpplib.consts as c
from django.conf import settings
from django.db import close_old_connections, transaction

from modems import health
from modems.models import SimCard, SmppPart
from modems.smpp import codec
from modems.smpp.receipts import (
    BACKEND,
    apply_delivery,
    apply_receipt,
    body_of,
    store_deliver_sm,
    store_part_ids,
    text_of,
)
from modems.smpp.session import THROTTLING_STATUSES, LinkDown, NotSent, Session
from sms import signals
from sms.dispatch import retry_delay
from sms.models import OutboundMessage, State

logger = logging.getLogger(__name__)

# submit_sm_resp statuses worth another try later (the rest say the text itself is wrong).
TEMPORARY_STATUSES = {c.SMPP_ESME_RSYSERR, c.SMPP_ESME_RSUBMITFAIL, c.SMPP_ESME_RX_T_APPN} | THROTTLING_STATUSES


@dataclass
class WorkerSummary:
    connects: int = 0
    sent: int = 0
    failed: int = 0
    retry: int = 0
    unknown: int = 0
    requeued: int = 0
    receipts: int = 0
    inbound: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self):
        return (
            f"{self.connects} binds: {self.sent} sent, {self.retry} to retry, {self.failed} failed, "
            f"{self.unknown} unknown, {self.requeued} back to waiting; {self.receipts} receipts, "
            f"{self.inbound} inbound"
        )


@dataclass
class Flight:
    """A claimed text on its way: its parts and what the SMSC answered for each."""

    message: OutboundMessage
    parts: list[codec.Part]
    answers: dict[int, tuple[int, str]] = field(default_factory=dict)  # seq -> (status, id)
    outstanding: set[int] = field(default_factory=set)
    done: bool = False

    @property
    def may_have_left(self) -> bool:
        return bool(self.outstanding) or any(status == c.SMPP_ESME_ROK for status, _ in self.answers.values())


def route_options(sim: SimCard) -> dict:
    options = dict(sim.options or {})
    secrets = sim.credentials()
    return {
        "host": options.get("host", "127.0.0.1"),
        "port": int(options.get("port", 2775)),
        "system_id": options.get("system_id", ""),
        "password": secrets.get("password", ""),
        "system_type": options.get("system_type", ""),
        "window": int(options.get("window") or settings.SMPP_DEFAULT_WINDOW),
        "source_addr": options.get("source_addr") or sim.number,
    }


def claim_for_route(sim: SimCard, *, size: int) -> list[OutboundMessage]:
    """Claim up to ``size`` texts handed to this route (as the dispatcher's claim_batch does)."""
    import uuid

    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from sms.bulk import insert_rows
    from sms.models import StatusChange

    now = timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        candidates = OutboundMessage.objects.filter(
            state=State.WAITING, sim_id=sim.pk, **{f"extra_sender_data__{health.HANDOVER}": sim.pk}
        ).order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True)[:size])
        if not ids:
            return []
        OutboundMessage.objects.filter(pk__in=ids, state=State.WAITING, sim_id=sim.pk).update(
            state=State.SENDING,
            claimed_at=now,
            claim_token=token,
            changed_at=now,
            backend=BACKEND,
            number_of_send_attempts=F("number_of_send_attempts") + 1,
        )
        claimed = list(OutboundMessage.objects.filter(claim_token=token, state=State.SENDING).order_by("pk"))
        insert_rows([StatusChange(message=m, state=State.SENDING, at=now, note=f"SMPP route {sim}") for m in claimed])
    for message in claimed:
        signals.status_changed.send(
            sender=OutboundMessage, message=message, previous=State.WAITING, state=State.SENDING
        )
    return claimed


def _acquire_rate(sim: SimCard, parts: int) -> None:
    """The route's shared messages/second limit, once ``sms.ratelimit`` (issue 11) is there."""
    try:
        from sms import ratelimit
    except ImportError:
        return
    acquire = getattr(ratelimit, "acquire_for_sim", None)
    if acquire:
        acquire(sim, parts)


class RouteWorker:
    def __init__(self, sim: SimCard, *, stop: threading.Event | None = None, progress=None):
        self.sim = sim
        self.stop = stop or threading.Event()
        self.progress = progress or (lambda text: None)
        self.summary = WorkerSummary()
        self.flights: dict[int, Flight] = {}
        self.lock = threading.Lock()
        self.options = route_options(sim)
        self._retry: list[tuple[Flight, codec.Part]] = []
        # The reader thread and this one take turns with the database: SQLite (the default,
        # and the test database) allows one writer, and the work per PDU is small.
        self.db = threading.RLock()
        self.failing = False  # a temporary refusal since the last success (health to clear)
        self._ids: list = []  # (message, part, SMSC id) answered, not stored yet
        self._complete: list[Flight] = []  # every part answered, the text not recorded yet

    # --- the loop --------------------------------------------------------------------------

    def run(self, *, max_seconds: float | None = None) -> WorkerSummary:
        """Bind, serve, reconnect with backoff, until ``stop`` is set (or ``max_seconds``)."""
        deadline = time.monotonic() + max_seconds if max_seconds else None
        backoff = 1.0
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            session = self._session()
            try:
                session.open()
            except LinkDown as exc:
                self._link_down(str(exc))
                self.stop.wait(backoff)
                backoff = min(backoff * 2, settings.SMPP_RECONNECT_MAX_SECONDS)
                continue
            backoff = 1.0
            self.summary.connects += 1
            with self.db:
                health.link_up(self.sim.pk)
            self.progress(f"bound to {self.options['host']}:{self.options['port']} as {self.options['system_id']}")
            try:
                self._serve(session, deadline)
            except Exception as exc:  # LinkDown, or the database failing under us
                if not isinstance(exc, LinkDown):
                    logger.exception("SMPP worker of %s stopped serving", self.sim)
                session.close(unbind=False)
                self._resolve_after_drop(session, str(exc))
                self._link_down(str(exc))
                self.stop.wait(backoff)
                continue
            session.close()
            self._resolve_after_drop(session, "worker stopped")
        close_old_connections()
        return self.summary

    def _session(self) -> Session:
        o = self.options
        return Session(
            host=o["host"],
            port=o["port"],
            system_id=o["system_id"],
            password=o["password"],
            system_type=o["system_type"],
            window=o["window"],
            response_timeout=settings.SMPP_RESPONSE_TIMEOUT,
            on_response=self._on_response,
            on_deliver=self._on_deliver,
        )

    def _link_down(self, reason: str) -> None:
        self.summary.errors.append(reason)
        self.progress(f"link down: {reason}")
        with self.db:
            health.link_down(self.sim.pk, reason)

    def _serve(self, session: Session, deadline) -> None:
        queue: deque[tuple[Flight, codec.Part]] = deque()
        last_link = time.monotonic()
        idle_until = 0.0
        self.failing = True  # the first text through clears whatever failures came before
        while True:
            self.flush()
            session.check()
            now = time.monotonic()
            if self.stop.is_set() or (deadline is not None and now >= deadline):
                break
            if now - last_link >= settings.SMPP_ENQUIRE_LINK_SECONDS:
                session.enquire_link()
                with self.db:
                    health.link_up(self.sim.pk)  # bind confirmed: the route page shows it alive
                last_link = now
            claimed = []
            if len(queue) < session.window and now >= idle_until:
                # Claim ahead (up to two windows): the next submit_sm is ready the moment an
                # answer frees a slot. Claimed and not yet submitted is safe: on a drop they
                # simply wait again.
                with self.db:
                    claimed = claim_for_route(self.sim, size=2 * session.window - len(queue))
                for message in claimed:
                    flight = Flight(message=message, parts=codec.split(message.content, reference=message.pk))
                    with self.lock:
                        self.flights[message.pk] = flight
                    queue.extend((flight, part) for part in flight.parts)
                # Nothing handed over: look again in a moment, not at every answer.
                idle_until = now + 0.05 if not claimed else 0.0
            if not queue:
                time.sleep(0.01)
                continue
            flight, part = queue.popleft()
            if flight.done:
                continue
            _acquire_rate(self.sim, 1)
            with self.lock:
                flight.outstanding.add(part.seq)
            try:
                session.submit((flight, part), **self._submit_params(flight.message, part))
            except NotSent:
                with self.lock:
                    flight.outstanding.discard(part.seq)
                raise
            # Parts the SMSC throttled come back here to be sent again (they were not taken).
            with self.lock:
                retry, self._retry = self._retry, []
            queue.extendleft(reversed(retry))
        # Stopping: let the answers to what is in flight arrive before unbinding.
        session.wait_idle(settings.SMPP_RESPONSE_TIMEOUT)
        self.flush()
        session.check()

    def _submit_params(self, message: OutboundMessage, part: codec.Part) -> dict:
        source = self.options["source_addr"] or message.sender or ""
        numeric = source.lstrip("+").isdigit()
        return {
            "source_addr_ton": c.SMPP_TON_INTL if numeric else c.SMPP_TON_ALNUM,
            "source_addr_npi": c.SMPP_NPI_ISDN if numeric else c.SMPP_NPI_UNK,
            "source_addr": source.lstrip("+"),
            "dest_addr_ton": c.SMPP_TON_INTL,
            "dest_addr_npi": c.SMPP_NPI_ISDN,
            "destination_addr": message.recipient.lstrip("+"),
            "short_message": part.short_message,
            "data_coding": part.data_coding,
            "esm_class": part.esm_class,
            "registered_delivery": 1,  # ask for a receipt per part
        }

    # --- answers (reader thread) -----------------------------------------------------------

    def _on_response(self, key, status: int, message_id: str) -> None:
        with self.db:
            self._answer(key, status, message_id)

    def _answer(self, key, status: int, message_id: str) -> None:
        """Note the answer; the database work waits for the next ``flush`` (a batch of them)."""
        flight, part = key
        with self.lock:
            flight.outstanding.discard(part.seq)
            if status in THROTTLING_STATUSES:
                self._retry.append((flight, part))
                return
            flight.answers[part.seq] = (status, message_id)
            if status == c.SMPP_ESME_ROK:
                self._ids.append((flight.message, part, message_id))
            if len(flight.answers) == len(flight.parts):
                flight.done = True
                self.flights.pop(flight.message.pk, None)
                self._complete.append(flight)

    def flush(self) -> None:
        """Store the ids answered since the last flush (and apply receipts that came first),
        then record the texts whose every part is answered. Runs before any deliver_sm is
        matched, so a receipt always finds an id its SMSC has given us."""
        with self.lock:
            ids, self._ids = self._ids, []
            complete, self._complete = self._complete, []
        if not ids and not complete:
            return
        with self.db:
            if ids:
                store_part_ids(self.sim, ids)
            sent = []
            for flight in complete:
                if all(status == c.SMPP_ESME_ROK for status, _ in flight.answers.values()):
                    sent.append(flight)
                else:
                    self._finish(flight)
            if sent:
                self._finish_sent(sent)

    def _finish_sent(self, flights: list[Flight]) -> None:
        from sms.bulk import insert_rows, update_rows
        from sms.models import StatusChange

        now = _now()
        messages = []
        for flight in flights:
            message = flight.message
            message.extra_sender_data = {k: v for k, v in message.extra_sender_data.items() if k != health.HANDOVER}
            message.external_id = flight.answers[flight.parts[0].seq][1][:100]
            message.sent_at = message.sent_at or now
            message.state, message.changed_at, message.error, message.claim_token = State.SENT, now, "", None
            messages.append(message)
        fields = ["state", "changed_at", "error", "claim_token", "external_id", "sent_at", "extra_sender_data"]
        with transaction.atomic():
            update_rows(messages, fields)
            insert_rows(
                [
                    StatusChange(message=m, state=State.SENT, at=now, note=f"SMPP: {len(f.parts)} part(s) accepted")
                    for m, f in zip(messages, flights, strict=True)
                ]
            )
        for message in messages:
            signals.status_changed.send(
                sender=OutboundMessage, message=message, previous=State.SENDING, state=State.SENT
            )
            signals.message_sent.send(sender=OutboundMessage, message=message)
        self.summary.sent += len(messages)
        if self.failing:
            health.record_success(self.sim.pk)
            self.failing = False
        # Receipts that overtook their submit_sm_resp are on the parts by now.
        early = set(SmppPart.objects.filter(message__in=messages).exclude(stat="").values_list("message_id", flat=True))
        for message in messages:
            if message.pk in early:
                apply_delivery(message)

    def _finish(self, flight: Flight) -> None:
        """A text with a part refused."""
        message = flight.message
        answers = [flight.answers[p.seq] for p in flight.parts]
        accepted = [mid for status, mid in answers if status == c.SMPP_ESME_ROK]
        refused = [status for status, _ in answers if status != c.SMPP_ESME_ROK]
        extra = {k: v for k, v in message.extra_sender_data.items() if k != health.HANDOVER}
        text = ", ".join(f"0x{s:08X} {c.DESCRIPTIONS.get(s, 'unknown')}" for s in sorted(set(refused)))
        if accepted:
            note = f"SMPP: {len(accepted)} of {len(answers)} parts accepted, the rest refused ({text}); not re-sent"
            message.set_state(State.ERROR, note=note, error=note, claim_token=None)
            self.summary.failed += 1
            return
        temporary = all(s in TEMPORARY_STATUSES for s in refused)
        if temporary and message.retry and message.number_of_send_attempts < settings.SMS_MAX_ATTEMPTS:
            # Back to the dispatcher: the router may pick this route again or another one.
            message.extra_sender_data = extra
            message.set_state(
                State.ERROR_RETRY,
                note=f"SMPP: {text}",
                error=f"SMPP: {text}",
                next_attempt_at=_now() + retry_delay(message.number_of_send_attempts),
                claim_token=None,
                save_fields=("extra_sender_data",),
            )
            self.summary.retry += 1
            self.failing = True
            health.record_failure(self.sim.pk, f"SMPP: {text}")
        else:
            message.set_state(State.ERROR, note=f"SMPP: {text}", error=f"SMPP: {text}", claim_token=None)
            self.summary.failed += 1

    def _resolve_after_drop(self, session: Session, reason: str) -> None:
        with self.db:
            self._resolve(session, reason)

    def _resolve(self, session: Session, reason: str) -> None:
        """After the connection is gone (the reader has stopped): what was in flight?"""
        self.flush()
        session.take_outstanding()
        with self.lock:
            flights = list(self.flights.values())
            self.flights.clear()
            self._retry = []
        for flight in flights:
            if flight.done:
                continue
            message = flight.message
            if flight.may_have_left:
                note = f"SMPP connection lost before the SMSC answered ({reason}); not re-sent: it may have left"
                message.set_state(State.UNKNOWN, note=note, error=note, claim_token=None)
                self.summary.unknown += 1
            else:
                note = f"SMPP connection lost before this text was submitted ({reason}); waiting again"
                message.set_state(
                    State.WAITING,
                    note=note,
                    claim_token=None,
                    number_of_send_attempts=max(message.number_of_send_attempts - 1, 0),
                )
                self.summary.requeued += 1

    def _on_deliver(self, pdu) -> None:
        self.flush()  # every id answered so far is stored before a receipt is matched
        with self.db:
            self._deliver(pdu)

    def _deliver(self, pdu) -> None:
        if codec.is_receipt(int(pdu.esm_class or 0)):
            receipt = codec.read_receipt(
                body_of(pdu),
                receipted_message_id=text_of(getattr(pdu, "receipted_message_id", "")),
                message_state=getattr(pdu, "message_state", None),
            )
            apply_receipt(self.sim, receipt)
            self.summary.receipts += 1
            return
        store_deliver_sm(self.sim, pdu)
        self.summary.inbound += 1


def _now():
    from django.utils import timezone

    return timezone.now()
