"""SMS Broadcast (smsbroadcast.com.au), through its Advanced HTTP API (``api-adv.php``).

Sending: ``POST username, password, to, from, message, ref, maxsplit``. ``to`` takes several
comma-separated numbers, so texts with the same words and sender go in one request, and each
answer line (``OK:<to>:<smsref>``, ``BAD:<to>:<reason>``) is matched back to its text;
``ERROR:<reason>`` fails the whole request.

Webhooks (activated by SMS Broadcast's support, who then call your URLs with HTTP GET):
inbound ``to, from, message, ref``; status ``to, ref, smsref, status``. Nothing is signed, so
the URLs carry the shared secret ``SMSBROADCAST_WEBHOOK_SECRET`` (``?secret=...``).

``ref`` (at most 20 characters) is the first 20 hex digits of the reference of the first text
of the request. A delivery report that arrives before we stored SMS Broadcast's id is traced
through it: to the first text, then to the text in the same claimed batch sent to that number.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta

from django.utils import timezone

from sms.backends.base import BackendError, BaseBackend, InboundData, SendResult, StatusReport, WebhookBadRequest
from sms.backends.base import webhook_params as _webhook_params
from sms.backends.http import SessionMixin, call, gateway_option, international, without_nul

logger = logging.getLogger(__name__)

REF_LENGTH = 20
MAX_RECIPIENTS_PER_REQUEST = 100  # keeps the request small and one bad answer cheap

#: SMS Broadcast status words -> our state. None: still in flight.
STATUS_MAP = {
    "delivered": "delivered",
    "expired": "error_update",
    "failed": "error_update",
    "undeliverable": "error_update",
    "undelivered": "error_update",
    "rejected": "error_update",
    "sent": "sent",
    "pending": None,
    "queued": None,
}

# ERROR answers that retrying cannot fix (the rest, like a maintenance page, are temporary).
PERMANENT_ERRORS = ("username or password", "authentication", "invalid sender", "blocked")
THROTTLE_ERRORS = ("not enough credit", "insufficient credit", "no credit", "too many")


def ref_for(message) -> str:
    return message.reference.hex[:REF_LENGTH]


def gateway_number(number: str) -> str:
    """International digits without "+" (SMS Broadcast also takes Australian 04... numbers)."""
    return number.lstrip("+")


class SMSBroadcastBackend(SessionMixin, BaseBackend):
    slug = "smsbroadcast"
    name = "SMS Broadcast"
    # SMS Broadcast offers no state query; delivery comes by webhook only.
    supports_state_check = False
    deduplicates_on_reference = False
    webhook_methods = ("GET", "POST")
    required_settings = ("SMSBROADCAST_USERNAME", "SMSBROADCAST_PASSWORD")
    webhook_secret_setting = "SMSBROADCAST_WEBHOOK_SECRET"

    # --- Sending ---------------------------------------------------------------------------

    def publish_message(self, message) -> SendResult:
        (result,) = self.publish_messages([message])
        if result.error:
            raise result.error
        return result

    def publish_messages(self, messages) -> list[SendResult]:
        """One request per group of texts with the same words and sender."""
        groups: dict[tuple[str, str], list] = {}
        for message in messages:
            groups.setdefault((message.content, message.sender), []).append(message)
        results: dict[int, SendResult] = {}
        for (_, sender), group in groups.items():
            for chunk in _chunks(group):
                for result in self._send_group(chunk, sender):
                    results[id(result.message)] = result
        return [results[id(message)] for message in messages]

    def _send_group(self, messages, sender: str) -> list[SendResult]:
        first = messages[0]
        params = {
            "username": gateway_option(self, "username"),
            "password": gateway_option(self, "password"),
            "to": ",".join(gateway_number(m.recipient) for m in messages),
            "message": first.content,
            "ref": ref_for(first),
            # Parts the longest text needs: SMS Broadcast refuses more rather than charging for them.
            "maxsplit": str(max(m.segments for m in messages)),
        }
        if sender:  # without one, SMS Broadcast uses the account's default sender
            params["from"] = sender
        try:
            response = call(self.session, "POST", gateway_option(self, "api_url"), gateway="SMS Broadcast", data=params)
            if response.status_code != 200:
                raise BackendError(
                    f"SMS Broadcast: HTTP {response.status_code}", permanent=400 <= response.status_code < 500
                )
        except BackendError as exc:
            return [SendResult(message=m, error=exc) for m in messages]
        return self._match_lines(messages, response.text, sender)

    def get_balance(self) -> tuple[float, str]:
        """``action=balance`` of the Advanced HTTP API: ``OK: <credits>`` or ``ERROR: <reason>``."""
        params = {
            "username": gateway_option(self, "username"),
            "password": gateway_option(self, "password"),
            "action": "balance",
        }
        response = call(self.session, "POST", gateway_option(self, "api_url"), gateway="SMS Broadcast", data=params)
        body = response.text.strip()
        if response.status_code == 200 and body.upper().startswith("OK:"):
            try:
                return float(body.split(":", 1)[1].strip()), "credits"
            except ValueError:
                pass
        if body.upper().startswith("ERROR:"):
            raise _error(body.split(":", 1)[1].strip())
        raise BackendError(f"SMS Broadcast: unexpected balance answer (HTTP {response.status_code}) {body[:80]!r}")

    def _match_lines(self, messages, body: str, sender: str) -> list[SendResult]:
        pending = list(messages)
        results: list[SendResult] = []
        if not any(line.strip().upper().startswith(("OK", "BAD", "ERROR")) for line in body.splitlines()):
            error = BackendError(f"SMS Broadcast: unexpected answer {body.strip()[:100]!r}")
            return [SendResult(message=m, error=error) for m in messages]
        for line in body.splitlines():
            kind, _, rest = line.strip().partition(":")
            kind = kind.strip().upper()
            if kind == "ERROR":
                error = _error(rest.strip())
                return results + [SendResult(message=m, error=error) for m in pending]
            if kind not in ("OK", "BAD"):
                continue
            number, _, detail = rest.partition(":")
            message = _take(pending, number.strip())
            if message is None:
                logger.warning("SMS Broadcast answered for a number we did not send to: %r", line[:100])
                continue
            if kind == "OK" and detail.strip():
                results.append(
                    SendResult(
                        message=message,
                        external_id=detail.strip(),
                        sender=sender,
                        extra_sender_data={"smsbroadcast_ref": ref_for(messages[0])},
                    )
                )
            else:
                reason = detail.strip() or "rejected"
                results.append(
                    SendResult(message=message, error=BackendError(f"SMS Broadcast: {reason}", permanent=True))
                )
        # No line for a number: it may have gone, so it is not retried (no duplicate texts).
        error = BackendError(
            "SMS Broadcast gave no answer for this number; not retried to avoid a duplicate", permanent=True
        )
        results.extend(SendResult(message=message, error=error) for message in pending)
        return results

    # --- Webhooks ----------------------------------------------------------------------------

    def parse_inbound(self, request) -> list[InboundData]:
        params = _params(request)
        sender = params.get("from", "")
        if not sender or "message" not in params:
            raise WebhookBadRequest("an inbound text needs from and message")
        return [
            InboundData(
                sender=international(sender),
                recipient=international(params.get("to", "")),
                content=params["message"],
                external_id=_inbound_id(params),
                raw=params,
            )
        ]

    def parse_status(self, request) -> list[StatusReport]:
        params = _params(request)
        status = params.get("status", "").strip()
        smsref = params.get("smsref", "").strip()
        ref = params.get("ref", "").strip()
        if not status:
            raise WebhookBadRequest("a status update needs status")
        if not smsref and not ref:
            raise WebhookBadRequest("a status update needs smsref or ref")
        state = STATUS_MAP.get(status.lower())
        if status.lower() not in STATUS_MAP:
            logger.info("SMS Broadcast status %r not known to Texting: recorded as in flight", status)
        return [
            StatusReport(
                external_id=smsref,
                reference=self.resolve_reference(ref, params.get("to", "")),
                state=state,
                gateway_status=status,
                error=status if state == "error_update" else "",
                raw=params,
            )
        ]

    def resolve_reference(self, ref: str, to: str) -> str:
        """Our full reference from the 20-character ``ref`` and the recipient of the report."""
        from sms.models import OutboundMessage

        if len(ref) != REF_LENGTH or any(c not in "0123456789abcdef" for c in ref.lower()):
            return ""
        ref = ref.lower()
        low, high = uuid.UUID(ref + "0" * 12), uuid.UUID(ref + "f" * 12)
        first = OutboundMessage.objects.filter(reference__range=(low, high)).first()
        if first is None:
            return ""
        if not to or _same_number(first.recipient, to):
            return str(first.reference)
        if first.claimed_at is None:
            return ""
        # Another text of the same request: same batch claim, same words, that number.
        mates = OutboundMessage.objects.filter(
            backend=self.slug, content=first.content, claimed_at=first.claimed_at
        ).values_list("reference", "recipient")
        return next((str(reference) for reference, number in mates if _same_number(number, to)), "")


def _params(request) -> dict[str, str]:
    return without_nul({key: (value or "") for key, value in _webhook_params(request).items()})


def _inbound_id(params: dict[str, str]) -> str:
    """SMS Broadcast sends no id with a reply. The same callback repeated (a retry) must store
    one row, yet the same person may send the same words twice: the id hashes the call's
    fields and the 10-minute window it arrived in."""
    for key in ("smsref", "id", "msgid"):
        if params.get(key):
            return f"{key}-{params[key]}"
    window = timezone.now().replace(second=0, microsecond=0)
    window -= timedelta(minutes=window.minute % 10)
    fields = "|".join(params.get(key, "") for key in ("from", "to", "ref", "message"))
    return "h-" + hashlib.sha256(f"{fields}|{window.isoformat()}".encode()).hexdigest()[:40]


def _take(pending: list, number: str):
    """Remove and return the pending text this answer line is about (exact match first)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    for exact in (True, False):
        for message in pending:
            if gateway_number(message.recipient) == digits or (not exact and _same_number(message.recipient, digits)):
                pending.remove(message)
                return message
    return None


def _same_number(ours: str, theirs: str) -> bool:
    """SMS Broadcast may echo an Australian number nationally (04...) or internationally (614...)."""
    ours = "".join(ch for ch in ours if ch.isdigit())
    theirs = "".join(ch for ch in theirs if ch.isdigit())
    return bool(theirs) and (ours == theirs or (len(theirs) >= 9 and ours[-9:] == theirs[-9:]))


def _chunks(messages):
    seen_numbers: set[str] = set()
    chunk: list = []
    for message in messages:
        # The same number twice in one request could not be told apart in the answer.
        if len(chunk) >= MAX_RECIPIENTS_PER_REQUEST or message.recipient in seen_numbers:
            yield chunk
            chunk, seen_numbers = [], set()
        chunk.append(message)
        seen_numbers.add(message.recipient)
    if chunk:
        yield chunk


def _error(reason: str) -> BackendError:
    text = f"SMS Broadcast: {reason or 'error'}"
    lowered = reason.lower()
    if any(word in lowered for word in THROTTLE_ERRORS):
        return BackendError(text, throttled=True, retry_after=900)
    if any(word in lowered for word in PERMANENT_ERRORS):
        return BackendError(text, permanent=True)
    return BackendError(text)
