"""Plivo SMS.

Documentation followed: plivo.com/docs/messaging/api/message (Send a message: ``POST
/v1/Account/{auth_id}/Message/``, its errors, the ``url`` status callback and its parameters),
plivo.com/docs/messaging/concepts/callbacks (inbound ``message_url`` parameters, delivery
reports per part with ``ParentMessageUUID`` and ``PartInfo``), plivo.com/docs/messaging/
concepts/signature-validation (``X-Plivo-Signature-V3``) and plivo.com/docs/account/api/account
(``cash_credits``).

Sending: HTTP basic auth with the auth id and token, a JSON body with ``src``/``dst``/``text``
and ``url`` = our status URL carrying our reference. 202 with ``message_uuid`` = taken; 400 =
rejected (permanent); 401 = bad credentials (permanent); 429 = throttled (Retry-After); 5xx
and time-outs retried.

Webhooks (form POST): inbound texts (``From``, ``To``, ``Text``, ``MessageUUID``; Plivo joins
long inbound texts itself) and delivery reports, one per part: the text is delivered when every
part is, failed when one part fails. Authentication: ``X-Plivo-Signature-V3`` (or the main
account's ``X-Plivo-Signature-Ma-V3``) with ``X-Plivo-Signature-V3-Nonce``: base64 HMAC-SHA256,
keyed with the auth token, of the URL Plivo called, its sorted parameters and the nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from urllib.parse import parse_qs, urlsplit

from django.http import HttpResponse

from sms.backends.base import (
    BackendError,
    BaseBackend,
    InboundData,
    SendResult,
    StatusReport,
    WebhookBadRequest,
    WebhookForbidden,
    webhook_params,
)
from sms.backends.http import SessionMixin, call, gateway_option, international, without_nul
from sms.backends.parts import settle_part

logger = logging.getLogger(__name__)

API_BASE = "https://api.plivo.com"

STATUS_MAP = {
    "queued": None,
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "error_update",
    "failed": "error_update",
    "rejected": "error_update",
    "received": None,
}
_PART_INFO = re.compile(r"^\s*(\d+)\s+of\s+(\d+)\s*$", re.IGNORECASE)


def v3_string(method: str, url: str, params: dict[str, list[str]]) -> str:
    """The string Plivo signs (its V3 scheme): the URL without query, then ``?`` and the sorted
    query string, then for a POST with parameters a ``.`` (if there was a query) and every POST
    parameter as ``key`` + ``value``, sorted by key (values of a repeated key sorted)."""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    query = parse_qs(parts.query, keep_blank_values=True)
    query_string = "&".join("&".join(f"{key}={value}" for value in sorted(query[key])) for key in sorted(query))
    if method.upper() == "GET" or not params:
        return base + (f"?{query_string}" if query_string else "")
    signed = base + "?" + query_string + ("." if query_string else "")
    return signed + "".join("".join(f"{key}{value}" for value in sorted(params[key])) for key in sorted(params))


def v3_signature(token: str, method: str, url: str, params: dict[str, list[str]], nonce: str) -> str:
    payload = f"{v3_string(method, url, params)}.{nonce}".encode()
    return base64.b64encode(hmac.new(token.encode(), payload, hashlib.sha256).digest()).decode()


def error_from_response(response) -> BackendError:
    try:
        detail = str(response.json().get("error") or "")
    except (ValueError, AttributeError):
        detail = response.text[:100]
    text = f"Plivo HTTP {response.status_code}: {detail}".strip()
    if response.status_code in (400, 401, 403, 404, 405, 422):
        return BackendError(text, permanent=True, code=str(response.status_code))
    return BackendError(text, code=str(response.status_code))


class PlivoBackend(SessionMixin, BaseBackend):
    slug = "plivo"
    name = "Plivo"
    deduplicates_on_reference = False  # Plivo has no idempotency key for messages
    webhook_methods = ("POST", "GET")
    required_settings = ("PLIVO_AUTH_ID", "PLIVO_AUTH_TOKEN")

    @property
    def account_url(self) -> str:
        base = (gateway_option(self, "api_base") or API_BASE).rstrip("/")
        return f"{base}/v1/Account/{gateway_option(self, 'auth_id')}"

    @property
    def auth(self) -> tuple[str, str]:
        return gateway_option(self, "auth_id"), gateway_option(self, "auth_token")

    # --- Sending ---------------------------------------------------------------------------

    def publish_message(self, message) -> SendResult:
        powerpack = gateway_option(self, "powerpack_uuid")
        sender = message.sender or gateway_option(self, "from_number")
        if not sender and not powerpack:
            raise BackendError("Plivo: no sender (set PLIVO_FROM_NUMBER or PLIVO_POWERPACK_UUID)", permanent=True)
        body = {"dst": message.recipient.lstrip("+"), "text": message.content}
        if sender:
            body["src"] = sender.lstrip("+") if sender.lstrip("+").isdigit() else sender
        if powerpack and not sender:
            body["powerpack_uuid"] = powerpack
        callback = self.status_callback_url(message)
        if callback:
            body.update(url=callback, method="POST")
        response = call(
            self.session, "POST", f"{self.account_url}/Message/", gateway="Plivo", json=body, auth=self.auth
        )
        if response.status_code not in (200, 201, 202):
            raise error_from_response(response)
        try:
            uuids = [str(uuid) for uuid in response.json()["message_uuid"]]
        except (ValueError, KeyError, TypeError):
            raise BackendError(f"Plivo: unreadable answer {response.text[:100]!r}") from None
        if not uuids or not uuids[0]:
            raise BackendError("Plivo accepted the text but gave no message_uuid")
        return SendResult(
            message=message,
            external_id=uuids[0],
            sender=body.get("src", ""),
            extra_sender_data={"message_uuids": uuids},
        )

    def get_balance(self) -> tuple[float, str]:
        """``GET /v1/Account/{auth_id}/``: ``cash_credits`` (Plivo accounts are in USD)."""
        response = call(self.session, "GET", f"{self.account_url}/", gateway="Plivo", auth=self.auth)
        if response.status_code != 200:
            raise error_from_response(response)
        try:
            return float(response.json()["cash_credits"]), "USD"
        except (ValueError, KeyError, TypeError):
            raise BackendError(f"Plivo: unreadable account answer {response.text[:100]!r}") from None

    # --- Webhooks ----------------------------------------------------------------------------

    def authenticate_webhook(self, request) -> None:
        from sms.backends.twilio import signed_url_candidates

        nonce = request.headers.get("X-Plivo-Signature-V3-Nonce", "")
        header = request.headers.get("X-Plivo-Signature-V3") or request.headers.get("X-Plivo-Signature-Ma-V3") or ""
        if not header or not nonce:
            raise WebhookForbidden("missing X-Plivo-Signature-V3 or its nonce")
        given = [value.strip() for value in header.split(",") if value.strip()]
        params = dict(request.POST.lists()) if request.method == "POST" else {}
        token = gateway_option(self, "auth_token")
        for url in signed_url_candidates(request):
            expected = v3_signature(token, request.method, url, params, nonce)
            if any(hmac.compare_digest(expected.encode(), value.encode()) for value in given):
                return
        raise WebhookForbidden("X-Plivo-Signature-V3 does not match")

    def parse_inbound(self, request) -> list[InboundData]:
        params = without_nul(webhook_params(request))
        uuid, sender = params.get("MessageUUID", ""), params.get("From", "")
        if not uuid or not sender:
            raise WebhookBadRequest("an inbound text needs MessageUUID and From")
        return [
            InboundData(
                sender=international(sender),
                recipient=international(params.get("To", "")),
                content=params.get("Text", ""),
                external_id=uuid,
                raw=params,
            )
        ]

    def parse_status(self, request) -> list[StatusReport]:
        params = without_nul(webhook_params(request))
        status = (params.get("Status") or "").lower()
        part_uuid = params.get("MessageUUID", "")
        parent = params.get("ParentMessageUUID") or part_uuid
        reference = request.GET.get("ref", "")
        if not status:
            raise WebhookBadRequest("a delivery report needs Status")
        if not parent and not reference:
            raise WebhookBadRequest("a delivery report needs MessageUUID")
        state = STATUS_MAP.get(status)
        error_code = params.get("ErrorCode", "") if state == "error_update" else ""
        report = StatusReport(
            external_id=parent,
            reference=reference,
            state=state,
            gateway_status=status,
            error=f"ErrorCode {error_code}" if error_code else "",
            error_code=error_code,
            raw=params,
        )
        total = 1
        if match := _PART_INFO.match(params.get("PartInfo") or ""):
            total = int(match.group(2))
        return [settle_part(self.slug, report, part_id=part_uuid or parent, total=total)]

    def webhook_response(self, kind: str) -> HttpResponse:
        if kind == "retry":
            return super().webhook_response(kind)  # a 5xx: the gateway delivers it again later
        return HttpResponse(status=200)
