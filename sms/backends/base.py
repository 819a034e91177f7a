"""The backend interface every gateway and modem backend implements.

Modelled on pymess's backends (``publish_message``, ``publish_messages``,
``bulk_check_sms_states``) plus the parsing and authentication of the gateway's inbound and
status webhooks. Backends report failures with ``BackendError``; the retry policy lives in the
dispatcher, not here.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

if TYPE_CHECKING:
    from sms.models import OutboundMessage


class BackendError(Exception):
    """A send or check failed.

    ``permanent``: retrying cannot help (invalid number, rejected content, bad credentials).
    ``retry_after``: seconds the gateway asked us to wait (HTTP 429 Retry-After, throttling).
    ``throttled``: the gateway is rate-limiting us; retry later without spending an attempt.
    ``opt_out``: the gateway says the recipient has opted out (Twilio 21610).
    ``ambiguous``: the text may have gone out (the link dropped after the gateway or modem took
    it). The dispatcher marks it UNKNOWN and never re-sends it blindly.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        throttled: bool = False,
        opt_out: bool = False,
        ambiguous: bool = False,
        code: str = "",
    ):
        super().__init__(message)
        self.permanent = permanent or opt_out or ambiguous
        self.ambiguous = ambiguous
        self.retry_after = retry_after
        self.throttled = throttled
        self.opt_out = opt_out
        self.code = str(code) if code else ""


class WebhookForbidden(Exception):
    """Missing or wrong credentials on a webhook call (answered 403)."""


class WebhookBadRequest(Exception):
    """A webhook body we cannot read (answered 400 with this reason)."""


@dataclass
class SendResult:
    """Outcome of one message in a publish call: either ``external_id`` or ``error``."""

    message: OutboundMessage
    external_id: str = ""
    error: BackendError | None = None
    sender: str = ""
    extra_sender_data: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class StatusReport:
    """A delivery report, from a webhook or a state check.

    ``state`` is one of sms.models.State values: SENT, DELIVERED or ERROR_UPDATE; None means
    "still in flight" (recorded in the history only).
    """

    external_id: str = ""
    reference: str = ""  # our own OutboundMessage.reference, when the gateway echoes it back
    state: str | None = None
    gateway_status: str = ""
    error: str = ""
    error_code: str = ""
    opt_out: bool = False
    at: datetime | None = None
    raw: dict = field(default_factory=dict)


@dataclass
class InboundData:
    sender: str
    content: str
    external_id: str
    recipient: str = ""
    received_at: datetime | None = None
    raw: dict = field(default_factory=dict)


class BaseBackend:
    """Base class for backends. Subclasses set ``slug`` and implement ``publish_message``."""

    slug: ClassVar[str] = ""
    name: ClassVar[str] = ""
    #: Messages sent through this backend end in DEBUG (nothing left the building).
    debug: ClassVar[bool] = False
    #: The gateway drops a second send carrying the same client reference, so a message whose
    #: dispatcher died mid-call may safely be sent again.
    deduplicates_on_reference: ClassVar[bool] = False
    supports_state_check: ClassVar[bool] = False
    #: HTTP methods the gateway uses for its webhooks.
    webhook_methods: ClassVar[tuple[str, ...]] = ("POST",)
    #: Setting names that must be non-empty for the backend's webhooks to be live.
    required_settings: ClassVar[tuple[str, ...]] = ()
    #: Setting name of the shared secret for gateways that do not sign their calls.
    webhook_secret_setting: ClassVar[str] = ""
    #: Can send configured from settings alone (a modem needs the device of its SIM), so a
    #: follow-up may ask for it by slug (``extra_sender_data["prefer_backend"]``).
    standalone: ClassVar[bool] = True

    def __init__(self, **options: Any):
        self.options = options

    def option(self, name: str, default: Any = "") -> Any:
        """An option given to this instance, else the setting of that (upper-case) name."""
        if name in self.options:
            return self.options[name]
        return getattr(settings, name.upper(), default)

    @classmethod
    def is_configured(cls) -> bool:
        return all(getattr(settings, name, "") for name in cls.required_settings)

    # --- Sending ---------------------------------------------------------------------------

    def publish_message(self, message: OutboundMessage) -> SendResult:
        raise NotImplementedError

    def publish_messages(self, messages: list[OutboundMessage]) -> list[SendResult]:
        """Send several; a failure of one never stops the others. Override for batch APIs."""
        results = []
        for message in messages:
            try:
                results.append(self.publish_message(message))
            except BackendError as exc:
                results.append(SendResult(message=message, error=exc))
        return results

    def bulk_check_sms_states(self, messages: list[OutboundMessage]) -> list[StatusReport]:
        """Ask the gateway for the state of sent messages (``check_delivery``)."""
        return []

    def status_callback_url(self, message: OutboundMessage) -> str:
        """Absolute URL the gateway should post delivery reports to, carrying our own id."""
        base = settings.SMS_PUBLIC_URL
        if not base:
            return ""
        url = f"{base}{reverse('sms:status_webhook', args=[self.slug])}?ref={message.reference}"
        secret = self.webhook_secret()
        return f"{url}&secret={secret}" if secret else url

    # --- Webhooks ----------------------------------------------------------------------------

    def webhook_secret(self) -> str:
        return getattr(settings, self.webhook_secret_setting, "") if self.webhook_secret_setting else ""

    def authenticate_webhook(self, request: HttpRequest) -> None:
        """Raise WebhookForbidden unless the call carries our shared secret.

        The secret may come as ``?secret=`` in the URL, an ``X-Texting-Secret`` header, or the
        password of HTTP basic auth (Clickatell's callback option).
        """
        expected = self.webhook_secret()
        if not expected:
            raise WebhookForbidden("no webhook secret is configured for this backend")
        given = request.GET.get("secret") or request.headers.get("X-Texting-Secret") or _basic_auth_password(request)
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookForbidden("missing or wrong webhook secret")

    def parse_inbound(self, request: HttpRequest) -> list[InboundData]:
        raise WebhookBadRequest("this backend does not receive texts by webhook")

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        raise WebhookBadRequest("this backend does not send delivery reports by webhook")

    def webhook_response(self, kind: str) -> HttpResponse:
        """What the gateway expects back after a successful call (``kind`` "inbound" or
        "status"), or, for ``kind == "retry"``, the answer that makes it deliver the text again
        (an inline pipeline step asked for that). Backends override this with what their
        gateway documents; the default, 503 with Retry-After, is what most HTTP clients retry."""
        if kind == "retry":
            return HttpResponse("Retry later", status=503, content_type="text/plain", headers={"Retry-After": "60"})
        return HttpResponse("OK", content_type="text/plain")


def webhook_params(request: HttpRequest) -> dict[str, str]:
    """Query string and form fields as one flat dict (gateways use GET or POST)."""
    params = {key: request.GET.get(key) for key in request.GET}
    if request.method == "POST":
        params.update({key: request.POST.get(key) for key in request.POST})
    return params


def _basic_auth_password(request: HttpRequest) -> str:
    import base64
    import binascii

    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return ""
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]
