"""Clickatell, through its HTTP API (Developers' Central: ``api_id`` / ``user`` / ``password``).

Sending: ``/http/sendmsg`` answers ``ID: <apiMsgId>`` or ``ERR: <code>, <description>`` (with
HTTP 200 either way). We pass our reference as ``climsgid`` so delivery reports (configured
once per API connection in Clickatell's console, with ``callback=3``) carry it back as
``cliMsgId``. Texts that are not GSM-7 go as ``unicode=1`` with the text in hex UCS-2.

Webhooks: the legacy MO and status callbacks (GET or POST form) and the current Platform's
JSON callbacks are both read. Clickatell signs nothing, so calls must carry the shared secret
(``CLICKATELL_WEBHOOK_SECRET``: ``?secret=``, an ``X-Texting-Secret`` header, or the password
of the HTTP basic auth Clickatell can add to callbacks).
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, unquote_to_bytes

from sms.backends.base import (
    BackendError,
    BaseBackend,
    InboundData,
    SendResult,
    StatusReport,
    WebhookBadRequest,
)
from sms.backends.http import SessionMixin, call, gateway_option, international, without_nul
from sms.encoding import is_gsm7

logger = logging.getLogger(__name__)

# ERR codes of the HTTP API (Clickatell's "API error codes" list).
OPT_OUT_ERRORS = {"122"}  # Destination mobile opted out
THROTTLE_ERRORS = {
    "130",  # Maximum MT limit exceeded (until a time it names)
    "301",  # No credit left: about our account, not the text; it waits until someone tops up
}
TEMPORARY_ERRORS = {
    "003",  # Session ID expired
    "005",  # Missing session ID
    "901",  # Internal error: try again
}
# Everything else (authentication 001/002/004/007/108, invalid destination 105, invalid
# sender 106, empty message 107, invalid unicode 116, number blocked 121, ...) is permanent.

#: Message status codes (callbacks and querymsg) -> our state. None: in flight.
STATUS_CODES = {
    "001": (None, "Message unknown"),  # the id is wrong or reporting is delayed
    "002": (None, "Message queued"),
    "003": ("sent", "Delivered to gateway"),
    "004": ("delivered", "Received by recipient"),
    "005": ("error_update", "Error with message"),
    "006": ("error_update", "User cancelled message delivery"),
    "007": ("error_update", "Error delivering message"),
    "008": ("sent", "OK (received by gateway)"),
    "009": ("error_update", "Routing error"),
    "010": ("error_update", "Message expired"),
    "011": (None, "Message queued for later delivery"),
    "012": ("error_update", "Out of credit"),
    "014": ("error_update", "Maximum MT limit exceeded"),
}

#: Clickatell's legacy callbacks give local times in South African time (GMT+2, no DST).
CLICKATELL_TZ = timezone(timedelta(hours=2))

_ID_LINE = re.compile(r"^ID:\s*(?P<id>[0-9A-Za-z]+)(?:\s+To:\s*(?P<to>\S+))?", re.IGNORECASE)
_ERR_LINE = re.compile(r"^ERR:\s*(?P<code>\d+)\s*,?\s*(?P<text>.*)$", re.IGNORECASE)
_STATUS_LINE = re.compile(r"ID:\s*(?P<id>[0-9A-Za-z]+)\s+Status:\s*(?P<status>\d+)", re.IGNORECASE)


def error_from_reply(code: str, text: str) -> BackendError:
    code = code.zfill(3)
    message = f"Clickatell: {text.strip() or 'error'}"
    if code in OPT_OUT_ERRORS:
        return BackendError(message, opt_out=True, code=code)
    if code == "130":
        return BackendError(message, throttled=True, retry_after=_seconds_until(text), code=code)
    if code == "301":
        return BackendError(message, throttled=True, retry_after=900, code=code)
    if code in TEMPORARY_ERRORS:
        return BackendError(message, code=code)
    return BackendError(message, permanent=True, code=code)


def _seconds_until(text: str) -> float | None:
    """ERR 130 says "Maximum MT limit exceeded until <UNIX TIME STAMP>"."""
    match = re.search(r"(\d{9,11})", text)
    if not match:
        return None
    return max(int(match.group(1)) - time.time(), 0.0)


class ClickatellBackend(SessionMixin, BaseBackend):
    slug = "clickatell"
    name = "Clickatell"
    supports_state_check = True
    # climsgid is for tracking only; Clickatell documents no duplicate check on it.
    deduplicates_on_reference = False
    webhook_methods = ("GET", "POST")
    required_settings = ("CLICKATELL_API_ID", "CLICKATELL_USER", "CLICKATELL_PASSWORD")
    webhook_secret_setting = "CLICKATELL_WEBHOOK_SECRET"

    @property
    def api_url(self) -> str:
        base = gateway_option(self, "api_base") or "api.clickatell.com"
        if "://" not in base:
            base = ("https://" if gateway_option(self, "https", True) else "http://") + base
        return base.rstrip("/") + "/http"

    def _credentials(self) -> dict[str, str]:
        return {
            "api_id": gateway_option(self, "api_id"),
            "user": gateway_option(self, "user"),
            "password": gateway_option(self, "password"),
        }

    def _command(self, command: str, params: dict) -> str:
        response = call(
            self.session,
            "POST",  # Clickatell recommends POST: credentials stay out of proxy logs
            f"{self.api_url}/{command}",
            gateway="Clickatell",
            data={**self._credentials(), **params},
        )
        if response.status_code != 200:
            raise BackendError(f"Clickatell: HTTP {response.status_code}", permanent=400 <= response.status_code < 500)
        return response.text.strip()

    # --- Sending ---------------------------------------------------------------------------

    def send_params(self, message) -> dict[str, str]:
        params = {
            "to": message.recipient.lstrip("+"),  # international format without + or 00
            "callback": "3",  # intermediate and final delivery reports
            "climsgid": message.reference.hex,  # 32 characters: the documented maximum
        }
        if is_gsm7(message.content):
            params["text"] = message.content
        else:
            params["unicode"] = "1"
            params["text"] = message.content.encode("utf-16-be").hex().upper()
        if message.segments > 1:
            params["concat"] = str(message.segments)
        if message.sender:
            params["from"] = message.sender
        # Delayed delivery in minutes: per text (extra_sender_data) or per backend instance.
        delay = message.extra_sender_data.get("deliv_time") or self.options.get("deliv_time")
        if delay:
            params["deliv_time"] = str(int(delay))
        return params

    def publish_message(self, message) -> SendResult:
        body = self._command("sendmsg", self.send_params(message))
        first = body.splitlines()[0].strip() if body else ""
        if match := _ID_LINE.match(first):
            return SendResult(message=message, external_id=match.group("id"), sender=message.sender)
        if match := _ERR_LINE.match(first):
            raise error_from_reply(match.group("code"), match.group("text"))
        raise BackendError(f"Clickatell: unexpected answer {first[:100]!r}")

    def bulk_check_sms_states(self, messages) -> list[StatusReport]:
        reports = []
        for message in messages:
            if not message.external_id:
                continue
            try:
                body = self._command("querymsg", {"apimsgid": message.external_id})
            except BackendError:
                if reports:
                    break  # keep what we have; the rest is asked again next run
                raise
            if match := _STATUS_LINE.search(body):
                reports.append(status_report(code=match.group("status"), external_id=match.group("id")))
            else:
                logger.info("Clickatell querymsg for %s: %s", message.external_id, body[:200])
        return reports

    def get_balance(self) -> tuple[float, str]:
        """The account's credit, in Clickatell credits (not a currency)."""
        return self.balance(), "credits"

    def balance(self) -> float:
        """The account's credit (``/http/getbalance`` answers ``Credit: 12.5``)."""
        body = self._command("getbalance", {})
        if match := re.match(r"^Credit:\s*(-?[\d.]+)", body, re.IGNORECASE):
            return float(match.group(1))
        if match := _ERR_LINE.match(body):
            raise error_from_reply(match.group("code"), match.group("text"))
        raise BackendError(f"Clickatell: unexpected balance answer {body[:100]!r}")

    # --- Webhooks ----------------------------------------------------------------------------

    def parse_inbound(self, request) -> list[InboundData]:
        params = callback_params(request)
        external_id = str(params.get("moMsgId") or params.get("messageId") or "")
        sender = str(params.get("from") or params.get("fromNumber") or "")
        if not external_id or not sender:
            raise WebhookBadRequest("an inbound text needs moMsgId (or messageId) and from (or fromNumber)")
        content = decode_text(params.get("text"), params.get("charset"), raw=params.get("_raw_text"))
        return [
            InboundData(
                sender=international(sender),
                recipient=international(params.get("to") or params.get("toNumber") or ""),
                content=without_nul(content),
                external_id=external_id,
                received_at=parse_timestamp(params.get("timestamp")),
                raw=without_nul({key: value for key, value in params.items() if not key.startswith("_")}),
            )
        ]

    def parse_status(self, request) -> list[StatusReport]:
        params = callback_params(request)
        code = str(params.get("status") or "")
        if not code.isdigit():
            code = str(params.get("statusCode") or code)
        external_id = str(params.get("apiMsgId") or params.get("messageId") or "")
        reference = str(params.get("cliMsgId") or params.get("clientMessageId") or request.GET.get("ref") or "")
        if not code or not code.isdigit():
            raise WebhookBadRequest("a status callback needs a numeric status (or statusCode)")
        if not external_id and not reference:
            raise WebhookBadRequest("a status callback needs apiMsgId (or messageId) or cliMsgId")
        return [
            status_report(
                code=code,
                external_id=external_id,
                reference=reference,
                at=parse_timestamp(params.get("timestamp")),
                raw=without_nul({key: value for key, value in params.items() if not key.startswith("_")}),
            )
        ]


def status_report(*, code: str, **fields) -> StatusReport:
    code = code.zfill(3)
    state, description = STATUS_CODES.get(code, (None, "Unknown status"))
    failed = state == "error_update"
    return StatusReport(
        state=state,
        gateway_status=f"{code} {description}",
        error=description if failed else "",
        error_code=code if failed else "",
        **fields,
    )


def callback_params(request) -> dict:
    """Legacy form/query parameters or a Platform JSON body, as one dict.

    ``_raw_text`` keeps the undecoded bytes of ``text``: Django reads form data as UTF-8, but
    Clickatell escapes the bytes of the text in the charset it names (UTF-16BE, ISO-8859-1).
    """
    body = request.body
    if request.content_type == "application/json" or body[:1] in (b"{", b"["):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookBadRequest(f"invalid JSON ({exc.__class__.__name__})") from None
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        if not isinstance(data, dict):
            raise WebhookBadRequest("expected a JSON object")
        if isinstance(data.get("data"), dict):  # some Platform integrations wrap the event
            data = {**data, **data["data"]}
        return {**{key: request.GET.get(key) for key in request.GET}, **data}
    raw_pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True, encoding="latin-1")
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        raw_pairs += parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    params = {key: value.encode("latin-1").decode("utf-8", errors="replace") for key, value in raw_pairs}
    raw_text = [value for key, value in raw_pairs if key == "text"]
    if raw_text:
        params["_raw_text"] = raw_text[-1].encode("latin-1")
    if request.method == "POST" and request.content_type == "multipart/form-data":
        params.update(request.POST.dict())
        if "text" in request.POST:
            params.pop("_raw_text", None)  # already decoded as UTF-8 by Django
    return params


def decode_text(text, charset, *, raw: bytes | None = None) -> str:
    """Text of an inbound message in the charset Clickatell names.

    UTF-16BE arrives either as the URL-escaped bytes (``%00H%00i``) or as hex (``00480069``);
    ISO-8859-1 as URL-escaped bytes. Without a charset the text is taken as it is.
    """
    if text is None:
        return ""
    text = str(text)
    charset = (charset or "").strip().upper().replace("_", "-")
    if charset in ("UTF-16BE", "UTF-16", "UCS-2", "UCS2"):
        if re.fullmatch(r"(?:[0-9A-Fa-f]{4})+", text):
            return bytes.fromhex(text).decode("utf-16-be", errors="replace")
        data = raw if raw is not None else unquote_to_bytes(text)
        if len(data) % 2:
            raise WebhookBadRequest("UTF-16BE text with an odd number of bytes")
        return data.decode("utf-16-be", errors="replace")
    if charset in ("ISO-8859-1", "LATIN-1", "LATIN1"):
        data = raw if raw is not None else unquote_to_bytes(text)
        return data.decode("latin-1")
    return text


def parse_timestamp(value) -> datetime | None:
    """Epoch seconds or milliseconds (Platform), or "2008-08-06 09:43:50" (legacy, GMT+2)."""
    if value in (None, ""):
        return None
    value = str(value).strip()
    if value.isdigit():
        number = int(value)
        if number > 10**11:  # milliseconds
            number /= 1000
        try:
            return datetime.fromtimestamp(number, UTC)
        except (OverflowError, OSError, ValueError):
            raise WebhookBadRequest(f"timestamp out of range: {value[:30]!r}") from None
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=CLICKATELL_TZ)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise WebhookBadRequest(f"unreadable timestamp {value[:30]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
