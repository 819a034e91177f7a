"""Vonage (ex-Nexmo) SMS API.

Documentation followed: developer.vonage.com/en/api/sms (Send an SMS, the response's status
codes, inbound and delivery-receipt webhooks), developer.vonage.com/en/messaging/sms/guides/
concatenation-and-encoding (concatenated inbound parts), developer.vonage.com/en/getting-started/
concepts/signing-messages (signed webhooks) and developer.vonage.com/en/api/account (balance).

Sending: ``POST https://rest.nexmo.com/sms/json`` with ``client-ref`` = our reference and
``status-report-req=1`` + ``callback`` = our status URL. Vonage answers HTTP 200 with one entry
per part it made of the text; a non-zero ``status`` is an error (1 throttled, 9 out of credit:
both wait without spending an attempt; 5 internal: retried; the rest permanent).

Webhooks (GET, form POST or JSON POST): inbound texts (``msisdn``, ``to``, ``messageId``,
``text``; concatenated parts carry ``concat-ref``/``concat-part``/``concat-total`` and are
reassembled, waiting in the database) and delivery receipts (one per part: the text is
delivered when every part is). Authentication: the signature (``sig``) Vonage adds when signed
webhooks are on, with the *signature secret* and the method configured in the dashboard
(``VONAGE_SIGNATURE_METHOD``: md5hash, md5, sha1, sha256, sha512), ``timestamp`` within five
minutes. Without a signature secret, the shared secret ``VONAGE_WEBHOOK_SECRET`` is required.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime

from sms.backends.base import (
    BackendError,
    BaseBackend,
    InboundData,
    SendResult,
    StatusReport,
    WebhookBadRequest,
    WebhookForbidden,
)
from sms.backends.http import SessionMixin, call, gateway_option, international, without_nul
from sms.backends.parts import receive_part, settle_part
from sms.encoding import is_gsm7

logger = logging.getLogger(__name__)

API_BASE = "https://rest.nexmo.com"
SIGNATURE_METHODS = {"md5hash", "md5", "sha1", "sha256", "sha512"}
SIGNATURE_MAX_AGE_SECONDS = 300

#: Send response status codes (the SMS API reference).
THROTTLED = {"1"}  # Throttled: "Throughput Rate Exceeded - please wait [ n ] and retry"
OUT_OF_CREDIT = {"9"}  # Partner quota violation: not enough credit
TEMPORARY = {"5"}  # Internal error
STATUS_TEXT = {
    "1": "Throttled",
    "2": "Missing parameters",
    "3": "Invalid parameters",
    "4": "Invalid credentials",
    "5": "Internal error",
    "6": "Invalid message",
    "7": "Number barred",
    "8": "Partner account barred",
    "9": "Partner quota violation",
    "10": "Too many existing binds",
    "11": "Account not enabled for HTTP",
    "12": "Message too long",
    "14": "Invalid signature",
    "15": "Invalid sender address",
    "22": "Invalid network code",
    "23": "Invalid callback URL",
    "29": "Non-whitelisted destination",
    "32": "Signature and API secret disallowed",
    "33": "Number de-activated",
}

#: Delivery receipt ``status`` -> our state (None: in flight).
DLR_STATES = {
    "delivered": "delivered",
    "expired": "error_update",
    "failed": "error_update",
    "rejected": "error_update",
    "accepted": "sent",
    "buffered": "sent",
    "unknown": None,
}


def error_from_status(status: str, text: str) -> BackendError:
    message = f"Vonage: {text or STATUS_TEXT.get(status, 'error')} (status {status})"
    if status in THROTTLED:
        return BackendError(message, throttled=True, retry_after=1.0, code=status)
    if status in OUT_OF_CREDIT:
        return BackendError(message, throttled=True, retry_after=900, code=status)
    if status in TEMPORARY:
        return BackendError(message, code=status)
    return BackendError(message, permanent=True, code=status)


def signature(params: dict, secret: str, method: str = "md5hash") -> str:
    """The ``sig`` Vonage computes over a webhook's parameters (its "signing messages" page):
    every parameter but ``sig``, sorted, as ``&key=value`` with ``&`` and ``=`` in values
    replaced by ``_``; then MD5 of that plus the secret (md5hash) or an HMAC keyed with it."""
    payload = "".join(
        f"&{key}={str(value).replace('&', '_').replace('=', '_')}"
        for key, value in sorted(params.items())
        if key != "sig"
    )
    if method == "md5hash":
        return hashlib.md5((payload + secret).encode(), usedforsecurity=False).hexdigest()
    return hmac.new(secret.encode(), payload.encode(), getattr(hashlib, method)).hexdigest()


class VonageBackend(SessionMixin, BaseBackend):
    slug = "vonage"
    name = "Vonage"
    # client-ref is for tracking; Vonage does not drop a second send with the same one.
    deduplicates_on_reference = False
    webhook_methods = ("GET", "POST")
    required_settings = ("VONAGE_API_KEY", "VONAGE_API_SECRET")
    webhook_secret_setting = "VONAGE_WEBHOOK_SECRET"

    @property
    def api_base(self) -> str:
        return (gateway_option(self, "api_base") or API_BASE).rstrip("/")

    # --- Sending ---------------------------------------------------------------------------

    def send_params(self, message) -> dict[str, str]:
        sender = message.sender or gateway_option(self, "from_number")
        if not sender:
            raise BackendError("Vonage: no sender (set VONAGE_FROM_NUMBER or the text's sender)", permanent=True)
        params = {
            "api_key": gateway_option(self, "api_key"),
            "api_secret": gateway_option(self, "api_secret"),
            "from": sender.lstrip("+"),
            "to": message.recipient.lstrip("+"),
            "text": message.content,
            "client-ref": message.reference.hex,
        }
        if not is_gsm7(message.content):
            params["type"] = "unicode"
        callback = self.status_callback_url(message)
        if callback:
            params["status-report-req"] = "1"
            params["callback"] = callback
        return params

    def publish_message(self, message) -> SendResult:
        params = self.send_params(message)
        response = call(self.session, "POST", f"{self.api_base}/sms/json", gateway="Vonage", data=params)
        try:
            data = response.json()
            parts = data["messages"]
            first = parts[0]
        except (ValueError, KeyError, IndexError, TypeError):
            if response.status_code in (401, 403):
                raise BackendError(f"Vonage: HTTP {response.status_code}", permanent=True) from None
            raise BackendError(
                f"Vonage: unreadable answer (HTTP {response.status_code}) {response.text[:100]!r}"
            ) from None
        failed = [part for part in parts if str(part.get("status", "")) != "0"]
        if failed and len(failed) == len(parts):
            raise error_from_status(str(failed[0].get("status", "")), str(failed[0].get("error-text", "")))
        if failed:  # some parts went, some not: do not re-send the ones that did
            raise BackendError(
                f"Vonage took {len(parts) - len(failed)} of {len(parts)} parts: "
                f"{failed[0].get('error-text') or STATUS_TEXT.get(str(failed[0].get('status')), '')}",
                ambiguous=True,
                code=str(failed[0].get("status", "")),
            )
        ids = [str(part.get("message-id", "")) for part in parts]
        if not ids[0]:
            raise BackendError("Vonage accepted the text but gave no message-id")
        return SendResult(
            message=message,
            external_id=ids[0],
            sender=params["from"],
            extra_sender_data={
                "part_ids": ids,
                "part_count": len(ids),
                "price": str(sum(float(part.get("message-price") or 0) for part in parts)),
                "remaining_balance": str(first.get("remaining-balance", "")),
            },
        )

    def get_balance(self) -> tuple[float, str]:
        """``GET /account/get-balance``: ``{"value": 10.28, "autoReload": false}``, in EUR."""
        response = call(
            self.session,
            "GET",
            f"{self.api_base}/account/get-balance",
            gateway="Vonage",
            params={"api_key": gateway_option(self, "api_key"), "api_secret": gateway_option(self, "api_secret")},
        )
        if response.status_code != 200:
            detail = _error_detail(response)
            raise BackendError(f"Vonage: HTTP {response.status_code} {detail}".strip(), permanent=True)
        try:
            return float(response.json()["value"]), "EUR"
        except (ValueError, KeyError, TypeError):
            raise BackendError(f"Vonage: unreadable balance {response.text[:100]!r}") from None

    # --- Webhooks ----------------------------------------------------------------------------

    def authenticate_webhook(self, request) -> None:
        secret = gateway_option(self, "signature_secret")
        if not secret:
            return super().authenticate_webhook(request)  # shared secret, when signing is off
        method = (gateway_option(self, "signature_method") or "md5hash").lower()
        if method not in SIGNATURE_METHODS:
            raise WebhookForbidden(f"VONAGE_SIGNATURE_METHOD {method!r} is not one of {sorted(SIGNATURE_METHODS)}")
        params = callback_params(request)
        given = str(params.get("sig") or "")
        if not given:
            raise WebhookForbidden("missing sig (turn on signed webhooks for this Vonage account)")
        if not hmac.compare_digest(given.lower(), signature(params, secret, method).lower()):
            raise WebhookForbidden("sig does not match")
        try:
            age = abs(time.time() - int(str(params.get("timestamp"))))
        except ValueError:
            raise WebhookForbidden("a signed call needs a numeric timestamp") from None
        if age > SIGNATURE_MAX_AGE_SECONDS:
            raise WebhookForbidden(f"timestamp is {age:.0f} s away from now")

    def parse_inbound(self, request) -> list[InboundData]:
        params = without_nul(callback_params(request))
        external_id = str(params.get("messageId") or "")
        sender = str(params.get("msisdn") or "")
        if not external_id or not sender:
            raise WebhookBadRequest("an inbound text needs messageId and msisdn")
        text = params.get("text")
        if text is None and params.get("type") == "binary":
            text = "[binary message]"
        data = InboundData(
            sender=international(sender),
            recipient=international(params.get("to") or ""),
            content=str(text or ""),
            external_id=external_id,
            received_at=parse_time(params.get("message-timestamp")),
            raw={key: value for key, value in params.items() if key not in ("sig", "api-key")},
        )
        if str(params.get("concat") or "").lower() == "true" or params.get("concat-ref"):
            try:
                seq, total = int(params["concat-part"]), int(params["concat-total"])
            except (KeyError, ValueError, TypeError):
                raise WebhookBadRequest("a concatenated part needs numeric concat-part and concat-total") from None
            if not (1 <= seq <= total <= 255):
                raise WebhookBadRequest(f"concat-part {seq} of {total} is out of range")
            whole = receive_part(self.slug, data, concat_ref=str(params.get("concat-ref") or ""), seq=seq, total=total)
            return [whole] if whole else []
        return [data]

    def parse_status(self, request) -> list[StatusReport]:
        params = without_nul(callback_params(request))
        status = str(params.get("status") or "").lower()
        external_id = str(params.get("messageId") or "")
        reference = str(params.get("client-ref") or request.GET.get("ref") or "")
        if not status:
            raise WebhookBadRequest("a delivery receipt needs status")
        if not external_id and not reference:
            raise WebhookBadRequest("a delivery receipt needs messageId or client-ref")
        state = DLR_STATES.get(status)
        error_code = str(params.get("err-code") or "")
        failed = state == "error_update"
        report = StatusReport(
            external_id="",
            reference=reference,
            state=state,
            gateway_status=status,
            error=f"err-code {error_code}" if failed else "",
            error_code=error_code if failed else "",
            at=parse_time(params.get("message-timestamp")),
            raw={key: value for key, value in params.items() if key not in ("sig", "api-key")},
        )
        if not reference:
            report.external_id = external_id
        return [settle_part(self.slug, report, part_id=external_id or "1")]


def callback_params(request) -> dict:
    """Query string, form fields or a JSON body (Vonage can send any), as one flat dict."""
    params = {key: request.GET.get(key) for key in request.GET}
    if request.method == "POST":
        if request.content_type == "application/json":
            try:
                body = json.loads(request.body or b"{}")
            except (ValueError, UnicodeDecodeError) as exc:
                raise WebhookBadRequest(f"invalid JSON ({exc.__class__.__name__})") from None
            if not isinstance(body, dict):
                raise WebhookBadRequest("expected a JSON object")
            params.update(
                {str(key): value if isinstance(value, str) else json.dumps(value) for key, value in body.items()}
            )
        else:
            params.update({key: request.POST.get(key) for key in request.POST})
    return params


def parse_time(value) -> datetime | None:
    """``message-timestamp``: "2020-01-01 12:00:00" (UTC), or ISO 8601 in JSON callbacks."""
    if not value:
        return None
    text = str(value).strip().replace("T", " ").rstrip("Z")
    try:
        return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise WebhookBadRequest(f"unreadable message-timestamp {text[:30]!r}") from None


def _error_detail(response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:100]
    if isinstance(data, dict):
        return str(data.get("error-code-label") or data.get("title") or data.get("detail") or "")[:200]
    return ""
