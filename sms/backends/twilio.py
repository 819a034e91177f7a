"""Twilio Programmable Messaging, through the official ``twilio`` package.

Sending: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with a ``StatusCallback`` URL that
carries our own reference, so a report arriving before we stored Twilio's SID still finds its
message. Webhooks: inbound texts (answered with empty TwiML, so Twilio sends no auto-reply) and
status callbacks, both authenticated with ``X-Twilio-Signature``.

A Twilio account modelled as a SIM passes its own ``account_sid`` / ``auth_token`` /
``from_number`` / ``messaging_service_sid`` to the constructor.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.http import HttpResponse
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

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
from sms.backends.http import gateway_option, retry_after_seconds, timeout, without_nul

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

OPT_OUT_CODES = {21610}  # "Attempt to send to unsubscribed recipient" (the person texted STOP)
THROTTLE_CODES = {
    20429,  # Too Many Requests
    63018,  # Rate limit exceeded for the channel
    21611,  # This 'From' number has exceeded the maximum number of queued messages
    14107,  # Rate limit reached for replies to this number
}
PERMANENT_CODES = {
    20003,  # Authentication failed: retrying with the same credentials cannot help
    20404,  # Resource not found (wrong account SID)
    21211,  # Invalid 'To' phone number
    21212,  # Invalid 'From' phone number
    21408,  # Permission to send to this region is not enabled
    21606,  # The 'From' number is not a valid, SMS-capable Twilio number
    21612,  # Cannot route to this number from this 'From'
    21614,  # 'To' number is not a valid mobile number
    21617,  # Body exceeds the 1600 character limit
    21602,  # Message body is required
}

#: Twilio MessageStatus -> our state. None: still in flight (kept out of the history).
STATUS_MAP = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",  # WhatsApp/RCS read receipt: it certainly arrived
    "undelivered": "error_update",
    "failed": "error_update",
    "canceled": "error_update",
    "partially_delivered": None,  # some segments only: wait for the final word
    "receiving": None,
    "received": None,
}


class ApiBaseHttpClient(TwilioHttpClient):
    """The twilio library's HTTP client, pointed at ``TWILIO_API_BASE`` instead of twilio.com
    (a test double or an egress proxy), and keeping the last response per thread so a
    rejected send can honour Twilio's Retry-After header (TwilioRestException drops headers)."""

    def __init__(self, *, api_base: str = "", timeout: float | None = None):
        super().__init__(timeout=timeout)
        self.api_base = api_base.rstrip("/")
        self.session.trust_env = False
        self._local = threading.local()

    def request(self, method, url, *args, **kwargs):
        if self.api_base:
            parts = urlsplit(url)
            if (parts.hostname or "").endswith("twilio.com"):
                url = self.api_base + parts.path + (f"?{parts.query}" if parts.query else "")
        self._local.last_headers = {}
        response = super().request(method, url, *args, **kwargs)
        self._local.last_headers = response.headers or {}
        return response

    @property
    def last_headers(self):
        return getattr(self._local, "last_headers", {}) or {}


def error_from_twilio(exc: TwilioException, headers=None) -> BackendError:
    """Map a Twilio REST error to a BackendError: opt-out, throttled, permanent or temporary."""
    status = int(getattr(exc, "status", 0) or 0)
    try:
        code = int(getattr(exc, "code", 0) or 0)
    except (TypeError, ValueError):
        code = 0
    text = getattr(exc, "msg", "") or getattr(exc, "detail", "") or getattr(exc, "title", "") or exc.__class__.__name__
    text = f"Twilio HTTP {status}: {text}" if status else f"Twilio: {text}"
    retry_after = retry_after_seconds((headers or {}).get("Retry-After"))
    shown_code = str(code) if code and code != status else (str(status) if status else "")
    if code in OPT_OUT_CODES:
        return BackendError(text, opt_out=True, code=shown_code)
    if status == 429 or code in THROTTLE_CODES:
        return BackendError(text, throttled=True, retry_after=retry_after, code=shown_code)
    if code in PERMANENT_CODES or status in (400, 401, 403, 404, 413, 422):
        return BackendError(text, permanent=True, code=shown_code)
    return BackendError(text, retry_after=retry_after, code=shown_code)


def status_report(*, status: str, error_code: str = "", **fields) -> StatusReport:
    status = (status or "").strip().lower()
    error_code = str(error_code or "").strip()
    return StatusReport(
        state=STATUS_MAP.get(status),
        gateway_status=status,
        error_code=error_code,
        opt_out=error_code == "21610",
        **fields,
    )


class TwilioBackend(BaseBackend):
    slug = "twilio"
    name = "Twilio"
    supports_state_check = True
    # Twilio has no idempotency key for Messages: a repeated POST is a second text.
    deduplicates_on_reference = False
    webhook_methods = ("POST", "GET")  # GET when the number's webhook is set to HTTP GET
    required_settings = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")

    def __init__(self, **options):
        super().__init__(**options)
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            http_client = ApiBaseHttpClient(api_base=gateway_option(self, "api_base"), timeout=timeout())
            self._client = Client(
                gateway_option(self, "account_sid"),
                gateway_option(self, "auth_token"),
                http_client=http_client,
            )
        return self._client

    # --- Sending ---------------------------------------------------------------------------

    def publish_message(self, message) -> SendResult:
        service_sid = gateway_option(self, "messaging_service_sid")
        sender = message.sender or gateway_option(self, "from_number")
        if not sender and not service_sid:
            raise BackendError(
                "Twilio: no sender (set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID)", permanent=True
            )
        params = {"to": message.recipient, "body": message.content}
        if service_sid:
            params["messaging_service_sid"] = service_sid
        if sender:
            params["from_"] = sender
        callback = self.status_callback_url(message)
        if callback:
            params["status_callback"] = callback
        try:
            created = self.client.messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise error_from_twilio(exc, self.client.http_client.last_headers) from exc
        except requests.Timeout as exc:
            raise BackendError(f"Twilio: no answer in time ({exc.__class__.__name__})") from exc
        except requests.RequestException as exc:
            raise BackendError(f"Twilio: network error ({exc.__class__.__name__}: {exc})") from exc
        except (TwilioException, ValueError) as exc:  # e.g. a proxy's HTML page instead of JSON
            raise BackendError(f"Twilio: unreadable answer ({exc.__class__.__name__})") from exc
        if not created.sid:
            raise BackendError("Twilio accepted the request but returned no message SID")
        return SendResult(
            message=message,
            external_id=created.sid,
            sender=created.from_ or sender or "",
            extra_sender_data={"twilio_status": created.status or ""},
        )

    def bulk_check_sms_states(self, messages) -> list[StatusReport]:
        reports = []
        for message in messages:
            if not message.external_id:
                continue
            try:
                fetched = self.client.messages(message.external_id).fetch()
            except (TwilioRestException, TwilioServiceException) as exc:
                if getattr(exc, "status", 0) == 404:
                    logger.info("Twilio does not know message %s", message.external_id)
                    continue
                error = error_from_twilio(exc, self.client.http_client.last_headers)
                if reports:  # keep what we learnt; the rest is asked again next run
                    logger.warning("Twilio state check stopped early: %s", error)
                    break
                raise error from exc
            except (requests.RequestException, TwilioException, ValueError) as exc:
                if reports:
                    logger.warning("Twilio state check stopped early: %r", exc)
                    break
                raise BackendError(f"Twilio: state check failed ({exc.__class__.__name__})") from exc
            reports.append(
                status_report(
                    status=fetched.status or "",
                    error_code=str(fetched.error_code or ""),
                    error=fetched.error_message or "",
                    external_id=fetched.sid or message.external_id,
                    at=fetched.date_updated,
                )
            )
        return reports

    def get_balance(self) -> tuple[float, str]:
        """The account's Balance resource (``GET Accounts/{sid}/Balance.json``)."""
        try:
            fetched = self.client.api.v2010.accounts(gateway_option(self, "account_sid")).balance.fetch()
        except (TwilioRestException, TwilioServiceException) as exc:
            raise error_from_twilio(exc, self.client.http_client.last_headers) from exc
        except (requests.RequestException, TwilioException, ValueError) as exc:
            raise BackendError(f"Twilio: balance check failed ({exc.__class__.__name__})") from exc
        try:
            return float(fetched.balance), fetched.currency or ""
        except (TypeError, ValueError):
            raise BackendError(f"Twilio: unreadable balance {fetched.balance!r}") from None

    # --- Webhooks ----------------------------------------------------------------------------

    def authenticate_webhook(self, request) -> None:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise WebhookForbidden("missing X-Twilio-Signature")
        validator = RequestValidator(gateway_option(self, "auth_token"))
        if request.content_type == "application/json" and "bodySHA256" in request.GET:
            params = request.body.decode("utf-8", errors="replace")  # validated with ?bodySHA256=
        elif request.method == "POST" and request.content_type != "application/json":
            params = request.POST
        else:
            params = {}
        for url in signed_url_candidates(request):
            if validator.validate(url, params, signature):
                return
        raise WebhookForbidden("X-Twilio-Signature does not match")

    def parse_inbound(self, request) -> list[InboundData]:
        params = without_nul(webhook_params(request))
        sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid")
        sender = params.get("From", "")
        if not sid or not sender:
            raise WebhookBadRequest("an inbound text needs MessageSid and From")
        content = params.get("Body", "")
        try:
            media = int(params.get("NumMedia") or 0)
        except ValueError:
            raise WebhookBadRequest("NumMedia is not a number") from None
        # An MMS (a photo reply) may have no body at all: keep the links so staff see something.
        links = [params[f"MediaUrl{i}"] for i in range(min(media, 10)) if params.get(f"MediaUrl{i}")]
        if links:
            content = "\n".join([content, *(f"[attachment: {link}]" for link in links)]).strip()
        recipient = params.get("To", "")
        return [InboundData(sender=sender, recipient=recipient, content=content, external_id=sid, raw=params)]

    def parse_status(self, request) -> list[StatusReport]:
        params = without_nul(webhook_params(request))
        status = params.get("MessageStatus") or params.get("SmsStatus")
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        reference = request.GET.get("ref", "")
        if not status:
            raise WebhookBadRequest("a status callback needs MessageStatus")
        if not sid and not reference:
            raise WebhookBadRequest("a status callback needs MessageSid")
        if status.lower() not in STATUS_MAP:
            logger.info("Twilio status %r not known to Texting: recorded as in flight", status)
        return [
            status_report(
                status=status,
                error_code=params.get("ErrorCode", ""),
                error=params.get("ErrorMessage", ""),
                external_id=sid,
                reference=reference,
                raw=params,
            )
        ]

    def webhook_response(self, kind: str) -> HttpResponse:
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")


def signed_url_candidates(request) -> list[str]:
    """The public URL(s) Twilio may have signed.

    ``build_absolute_uri()`` believes X-Forwarded-Host/-Proto only when SMS_TRUST_PROXY is on
    (settings tie USE_X_FORWARDED_HOST and SECURE_PROXY_SSL_HEADER to it). The URL Texting
    itself gave Twilio (SMS_PUBLIC_URL + path) is also accepted: that one does not depend on
    any header, so it works behind a proxy we do not trust too.
    """
    candidates = [request.build_absolute_uri()]
    public = settings.SMS_PUBLIC_URL
    if public:
        candidates.append(public.rstrip("/") + request.get_full_path())
    return list(dict.fromkeys(candidates))
