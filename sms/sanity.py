"""What an authenticated gateway may hand us, checked before anything is stored.

Every inbound text and delivery report, from any webhook or a modem, passes through here on its
way to ``sms.receiving``. Two rules, the same for every backend:

- **Ids fit the column.** A gateway id longer than ``MAX_EXTERNAL_ID_LENGTH`` is refused
  (``Refused``, a 400 with the reason on a webhook). Storing it cut would break the
  once-only rule (two ids sharing their first 100 characters would be "the same text", and the
  look-up by the whole id would never find the stored row); storing it whole is not possible
  in a unique index for arbitrary lengths. No gateway we know of uses ids over 40 characters.
- **Times are sane.** A time outside ``[now - MAX_PAST, now + MAX_FUTURE]`` (a gateway's
  ``0001-01-01``, a modem whose clock reset to 1980, a year-9999 typo) is not believed: the text
  is kept (refusing it would lose a customer's reply: the gateway would not send it again) with
  the time we received it, and the value we were given is kept in ``raw["given_time"]`` for
  staff to see. PostgreSQL stores year 1 but cannot hand it back once shifted into a time zone,
  which took every staff page down. A time that cannot be read at all is still the backend's
  400 (Clickatell's ``parse_timestamp``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from django.utils import timezone

from sms.backends.base import InboundData, StatusReport, WebhookBadRequest
from sms.backends.http import without_nul

#: ``InboundMessage.external_id`` and ``OutboundMessage.external_id`` are 100 characters.
MAX_EXTERNAL_ID_LENGTH = 100
#: Oldest believable time: a modem may hold a text for a long while, a gateway retries for days.
MAX_PAST = timedelta(days=3653)
#: Clocks drift; a time further ahead than this is a mistake.
MAX_FUTURE = timedelta(days=1)


class Refused(WebhookBadRequest):
    """An inbound text or report we will not store; a webhook answers 400 with this reason."""


def check_external_id(value: str, what: str = "gateway id") -> str:
    if len(value) > MAX_EXTERNAL_ID_LENGTH:
        raise Refused(f"{what} is {len(value)} characters long; at most {MAX_EXTERNAL_ID_LENGTH} are accepted")
    return value


def sane_time(when: datetime | None, *, now: datetime | None = None) -> datetime | None:
    """``when`` if it is believable, else None (the caller uses the time it received it)."""
    if when is None:
        return None
    now = now or timezone.now()
    try:
        if timezone.is_naive(when):
            when = timezone.make_aware(when, timezone.get_default_timezone())
        if not (now - MAX_PAST <= when <= now + MAX_FUTURE):
            return None
        when.astimezone(timezone.get_default_timezone())  # representable where pages show it
    except (OverflowError, ValueError, TypeError):
        return None
    return when


def _given(when: datetime) -> str:
    try:
        return when.isoformat()
    except (OverflowError, ValueError):  # pragma: no cover - isoformat of a datetime does not fail
        return repr(when)


def checked_inbound(data: InboundData) -> InboundData:
    """A copy of ``data`` that may be stored: no NULs, id checked, time sane (raw keeps the given one)."""
    changes = _without_nul(data)
    check_external_id(changes.get("external_id", data.external_id))
    if data.received_at is not None and sane_time(data.received_at) is None:
        raw = dict(changes.get("raw", data.raw) or {})
        raw["given_time"] = _given(data.received_at)
        changes.update(received_at=None, raw=raw)
    return dataclasses.replace(data, **changes)


def checked_report(report: StatusReport) -> StatusReport:
    """A copy of ``report`` that may be applied: no NULs, id checked, an unbelievable time dropped."""
    changes = _without_nul(report)
    check_external_id(changes.get("external_id", report.external_id))
    if report.at is not None and sane_time(report.at) is None:
        raw = dict(changes.get("raw", report.raw) or {})
        raw["given_time"] = _given(report.at)
        changes.update(at=None, raw=raw)
    return dataclasses.replace(report, **changes)


def _without_nul(data) -> dict:
    """PostgreSQL cannot store NUL; a %00 in a callback must not be a 500."""
    return {
        f.name: without_nul(getattr(data, f.name))
        for f in dataclasses.fields(data)
        if isinstance(getattr(data, f.name), str | dict)
    }
