"""Reading texts off modem SIMs (``read_in``) and checking modems (``modem_status``).

The rule that keeps texts safe: a text is deleted from the SIM only after it is committed to
the database, either as an InboundMessage (through ``sms.receiving.store_inbound``, exactly
as a webhook would, so the reply pipeline classifies it) or, for one part of a long text, as
an InboundPart row waiting for its siblings. A crash or an unplugged modem at any point
leaves the text on the SIM; reading it again is harmless because storing is idempotent.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from modems import pdu
from modems.driver import Modem, ModemError, PinRefused, SimNotReady
from modems.models import InboundPart, SimCard, SimDayCount
from sms.backends import InboundData
from sms.receiving import store_inbound

logger = logging.getLogger(__name__)

BACKEND = "modem"
MISSING_PART = "[…]"
# Assembled parts are kept this long so a part whose SIM copy could not be deleted is
# recognised when it is read again.
KEEP_ASSEMBLED = timedelta(days=7)


@dataclass
class ReadSummary:
    sims: int = 0
    listed: int = 0
    stored: int = 0
    duplicates: int = 0
    parts_kept: int = 0
    assembled: int = 0
    incomplete: int = 0
    deleted: int = 0
    unreadable: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: ReadSummary) -> None:
        for name in ("sims", "listed", "stored", "duplicates", "parts_kept", "assembled", "incomplete", "deleted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.unreadable += other.unreadable
        self.errors.extend(other.errors)

    def __str__(self):
        text = (
            f"{self.sims} SIM(s): {self.listed} on the SIMs, {self.stored} stored, {self.duplicates} already stored, "
            f"{self.parts_kept} parts waiting, {self.assembled} long texts assembled, {self.deleted} deleted from SIMs"
        )
        if self.incomplete:
            text += f", {self.incomplete} stored with missing parts"
        if self.unreadable:
            text += f", {self.unreadable} unreadable (left on the SIM)"
        if self.errors:
            text += f", {len(self.errors)} error(s)"
        return text


def open_modem(sim: SimCard) -> Modem:
    return Modem(
        sim.device,
        baudrate=settings.MODEMS_BAUDRATE,
        timeout=settings.MODEMS_COMMAND_TIMEOUT,
        send_timeout=settings.MODEMS_SEND_TIMEOUT,
    )


def read_in(*, progress=None) -> ReadSummary:
    """Read every active modem SIM. One SIM failing never stops the others."""
    summary = ReadSummary()
    for sim in SimCard.objects.active().modems():
        result = read_sim(sim=sim)
        summary.add(result)
        if progress:
            progress(sim, result)
    return summary


def read_sim(*, sim: SimCard) -> ReadSummary:
    summary = ReadSummary(sims=1)
    try:
        with open_modem(sim) as modem:
            modem.initialise()
            _require_sim(modem, sim)
            texts, problems = modem.list_texts(4)
            summary.unreadable += len(problems)
            summary.errors.extend(f"{sim}: {problem}" for problem in problems)
            for stored in texts:
                if stored.status not in (0, 1):
                    continue  # texts we stored or sent from this SIM: not inbound, not ours to delete
                summary.listed += 1
                if _take(sim, stored, summary):
                    modem.delete(stored.index)
                    summary.deleted += 1
        sim.record_read(error="")
    except ModemError as exc:
        summary.errors.append(f"{sim}: {exc}")
        sim.record_read(error=str(exc))
    # Committed parts are safe whatever happened to the modem: assemble what is complete.
    _assemble(sim, summary)
    return summary


def _require_sim(modem: Modem, sim: SimCard) -> None:
    """Ready, or enter the SIM's PIN (from the environment) once; a refused PIN is remembered
    so no later run tries it again."""
    try:
        modem.require_sim(pin=sim.pin())
    except PinRefused:
        SimCard.objects.filter(pk=sim.pk).update(pin_refused=True)
        sim.pin_refused = True
        raise
    except SimNotReady as exc:
        if sim.pin_refused:
            raise SimNotReady(f"{exc} (the PIN in {sim.pin_env} was refused; not tried again)") from exc
        raise


def _take(sim: SimCard, stored, summary: ReadSummary) -> bool:
    """Commit one stored text (or part) to the database. True when it may leave the SIM."""
    try:
        decoded = pdu.decode(stored.pdu)
    except pdu.PDUError as exc:
        summary.unreadable += 1
        summary.errors.append(f"{sim}: text {stored.index} unreadable ({exc}); left on the SIM")
        return False
    if decoded.kind != "deliver":
        return False
    scts = decoded.scts or timezone.now()
    if decoded.concat:
        return _keep_part(sim, decoded, scts, summary)
    digest = hashlib.sha1(decoded.text.encode()).hexdigest()[:10]  # noqa: S324 - an id, not security
    external_id = f"{sim.pk}-{scts:%Y%m%d%H%M%S%z}-{decoded.number}-{digest}"
    try:
        _, created = store_inbound(
            BACKEND,
            InboundData(
                sender=decoded.number,
                content=decoded.text,
                external_id=external_id,
                recipient=sim.number,
                received_at=scts,
                raw={"pdu": stored.pdu, "index": stored.index, **_problems(decoded)},
            ),
            sim_id=sim.pk,
        )
    except Exception as exc:  # the pipeline or the database failed: keep it on the SIM
        logger.exception("Could not store text %s from %s", stored.index, sim)
        summary.errors.append(f"{sim}: text {stored.index} not stored ({exc!r}); left on the SIM")
        return False
    _count(sim, created, summary)
    return True


def _problems(decoded: pdu.Decoded) -> dict:
    """What the decoder had to work around (longer user data than one part allows...)."""
    if not decoded.problems:
        return {}
    logger.warning("Text from %s decoded with problems: %s", decoded.number, "; ".join(decoded.problems))
    return {"decode_problems": decoded.problems}


def _count(sim: SimCard, created: bool, summary: ReadSummary) -> None:
    if created:
        summary.stored += 1
        day = timezone.localdate()
        SimDayCount.objects.ensure([sim.pk], day)
        SimDayCount.objects.filter(sim=sim, date=day).update(received=F("received") + 1)
    else:
        summary.duplicates += 1


def _keep_part(sim: SimCard, decoded: pdu.Decoded, scts, summary: ReadSummary) -> bool:
    concat = decoded.concat
    try:
        with transaction.atomic():
            _, created = InboundPart.objects.get_or_create(
                sim=sim,
                sender=decoded.number[:20],
                reference=concat.ref,
                total=concat.total,
                seq=concat.seq,
                sent_at=scts,
                defaults={"text": decoded.text},
            )
    except IntegrityError:
        created = False
    if created:
        summary.parts_kept += 1
    else:
        summary.duplicates += 1
    return True


def _assemble(sim: SimCard, summary: ReadSummary) -> None:
    now = timezone.now()
    too_old = now - timedelta(hours=settings.MODEMS_PART_MAX_AGE_HOURS)
    waiting = InboundPart.objects.filter(sim=sim, assembled_into__isnull=True).order_by("sent_at", "pk")
    groups: dict[tuple, list[InboundPart]] = {}
    for part in waiting:
        groups.setdefault((part.sender, part.reference, part.total), []).append(part)
    for (sender, reference, total), parts in groups.items():
        by_seq: dict[int, InboundPart] = {}
        for part in parts:
            by_seq.setdefault(part.seq, part)  # the earliest of a reused reference's parts
        complete = len(by_seq) == total
        if not complete and min(p.first_seen_at for p in parts) > too_old:
            continue
        chosen = list(by_seq.values())
        text = "".join(by_seq[seq].text if seq in by_seq else MISSING_PART for seq in range(1, total + 1))
        first_sent = min(p.sent_at for p in chosen)
        external_id = f"{sim.pk}-{sender}-r{reference}-{first_sent:%Y%m%d%H%M%S}"
        try:
            with transaction.atomic():
                message, created = store_inbound(
                    BACKEND,
                    InboundData(
                        sender=sender,
                        content=text,
                        external_id=external_id,
                        recipient=sim.number,
                        received_at=first_sent,
                        raw={
                            "reference": reference,
                            "parts": total,
                            "missing": sorted(set(range(1, total + 1)) - set(by_seq)),
                        },
                    ),
                    sim_id=sim.pk,
                )
                InboundPart.objects.filter(pk__in=[p.pk for p in chosen]).update(assembled_into=message)
        except Exception as exc:
            logger.exception("Could not store a long text from %s on %s", sender, sim)
            summary.errors.append(f"{sim}: long text from {sender} not stored ({exc!r}); parts kept")
            continue
        if complete:
            summary.assembled += 1
        else:
            summary.incomplete += 1
        _count(sim, created, summary)
    InboundPart.objects.filter(sim=sim, assembled_into__isnull=False, first_seen_at__lt=now - KEEP_ASSEMBLED).delete()


@dataclass
class StatusSummary:
    checked: int = 0
    ok: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self):
        return f"{self.checked} modem(s) checked: {self.ok} ready, {len(self.errors)} with problems"


def check_status(*, sim: SimCard):
    """Ask the modem for SIM status, signal and registration; store it on the SIM."""
    try:
        with open_modem(sim) as modem:
            modem.initialise()
            pin = sim.pin()
            if pin:
                try:
                    _require_sim(modem, sim)
                except PinRefused:
                    raise
                except ModemError:
                    pass  # not a PIN problem: the status below says what the SIM is doing
            status = modem.status()
    except ModemError as exc:
        sim.record_status(error=str(exc))
        return None
    error = "" if status.sim == "READY" else f"SIM not ready: {status.sim_text}"
    sim.record_status(status, error=error)
    return status


def check_all(*, progress=None) -> StatusSummary:
    summary = StatusSummary()
    for sim in SimCard.objects.active().modems():
        status = check_status(sim=sim)
        summary.checked += 1
        if status is not None and status.sim == "READY" and status.registered:
            summary.ok += 1
        else:
            summary.errors.append(f"{sim}: {sim.status_error or sim.sim_status or sim.registration_text}")
        if progress:
            progress(sim, status)
    return summary
