"""Clickatell's Platform (the current REST API, with an integration's API key), next to the
legacy HTTP API (``sms.backends.clickatell``), which stays.

Documentation followed: docs.clickatell.com/channels/sms-channels/sms-api-reference (Send
messages: ``POST https://platform.clickatell.com/messages``, per-message ``accepted`` /
``errorCode``, the error code list), docs.clickatell.com/channels/sms-channels/
callbacks-reference (reply and status callbacks: JSON with ``messageId``, ``fromNumber``,
``text``, ``charset``, ``statusCode``, ``clientMessageId``) and the balance call
(``GET /v1/balance``: ``{"balance": .., "currency": ".."}``).

Sending: the API key in the ``Authorization`` header, JSON ``{"content", "to": [..], "from",
"clientMessageId", "charset"}``. HTTP 202 with ``accepted: true`` and an ``apiMessageId`` =
taken; a refused message carries an ``errorCode`` mapped like the legacy API's (301 out of
credit and 130 MT limit wait; 105 invalid number, 1 bad key... permanent; 901 retried).

Webhooks: the same reply/status callbacks the legacy backend reads (it already understands the
Platform's JSON), at this backend's own URLs. Clickatell signs nothing: calls must carry the
shared secret ``CLICKATELL_PLATFORM_WEBHOOK_SECRET`` (``?secret=``, ``X-Texting-Secret``, or the
password of the basic auth Clickatell can add to callbacks).
"""

from __future__ import annotations

import logging

from sms.backends.base import BackendError, SendResult
from sms.backends.clickatell import ClickatellBackend, error_from_reply
from sms.backends.http import call, gateway_option

logger = logging.getLogger(__name__)

API_BASE = "https://platform.clickatell.com"


def platform_error(entry: dict, status: int) -> BackendError:
    code = str(entry.get("errorCode") or "")
    text = str(entry.get("errorDescription") or entry.get("error") or f"HTTP {status}")
    if code.isdigit():
        return error_from_reply(code, text)
    return BackendError(f"Clickatell: {text}", permanent=400 <= status < 500, code=str(status))


class ClickatellPlatformBackend(ClickatellBackend):
    slug = "clickatell_platform"
    name = "Clickatell Platform"
    supports_state_check = False  # status callbacks report every change
    webhook_methods = ("POST", "GET")
    required_settings = ("CLICKATELL_PLATFORM_API_KEY",)
    webhook_secret_setting = "CLICKATELL_PLATFORM_WEBHOOK_SECRET"

    @property
    def api_base(self) -> str:
        return (gateway_option(self, "api_base") or API_BASE).rstrip("/")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": gateway_option(self, "api_key"), "Accept": "application/json"}

    def publish_message(self, message) -> SendResult:
        body = {
            "content": message.content,
            "to": [message.recipient.lstrip("+")],
            "clientMessageId": message.reference.hex,
            "charset": "UTF-8",
        }
        sender = message.sender or gateway_option(self, "from_number")
        if sender:
            body["from"] = sender.lstrip("+") if sender.lstrip("+").isdigit() else sender
        response = call(
            self.session, "POST", f"{self.api_base}/messages", gateway="Clickatell", json=body, headers=self._headers()
        )
        try:
            data = response.json()
        except ValueError:
            raise BackendError(
                f"Clickatell: unreadable answer (HTTP {response.status_code}) {response.text[:100]!r}",
                permanent=response.status_code in (401, 403),
            ) from None
        entries = data.get("messages") if isinstance(data, dict) else None
        if not entries:
            raise platform_error(data if isinstance(data, dict) else {}, response.status_code)
        entry = entries[0] if isinstance(entries[0], dict) else {}
        if not entry.get("accepted") or not entry.get("apiMessageId"):
            raise platform_error(entry, response.status_code)
        return SendResult(message=message, external_id=str(entry["apiMessageId"]), sender=body.get("from", ""))

    def bulk_check_sms_states(self, messages):
        return []

    def balance(self) -> float:
        return self.get_balance()[0]

    def get_balance(self) -> tuple[float, str]:
        response = call(
            self.session, "GET", f"{self.api_base}/v1/balance", gateway="Clickatell", headers=self._headers()
        )
        try:
            data = response.json()
        except ValueError:
            raise BackendError(f"Clickatell: unreadable balance (HTTP {response.status_code})") from None
        if response.status_code != 200 or not isinstance(data, dict) or "balance" not in data:
            raise platform_error(data if isinstance(data, dict) else {}, response.status_code)
        try:
            return float(data["balance"]), str(data.get("currency") or "")
        except (TypeError, ValueError):
            raise BackendError(f"Clickatell: unreadable balance {str(data)[:100]!r}") from None
