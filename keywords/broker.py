"""The broker-shaped notification endpoint: ``/sms/notification/<provider>/``.

Any aggregator that posts three fields can deliver texts here, GET or POST:
``?origin=1234&text=ABC.UNICORN&destination=567`` (field names per provider). The answer is
``OK`` when the text was handled and ``ERR`` when the broker should send it again (a keyword
handler asked for a retry). A provider is authenticated by its secret (``?secret=``, an
``X-Texting-Secret`` header or the password of HTTP basic auth) and, where configured, by its
IP allow-list; a forged call gets 403 and runs nothing.

The broker may send an id (``id_field``); without one a repeated call is recognised by its
fields within a 10-minute window, so the same words from the same number twice in that window
count once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from keywords.models import BrokerProvider
from sms.backends import InboundData, WebhookBadRequest, WebhookForbidden
from sms.backends.base import webhook_params
from sms.backends.http import international


def client_ip(request) -> str:
    """The caller's address: ``REMOTE_ADDR``, or behind a trusted proxy (``SMS_TRUST_PROXY``)
    the address it saw, the last one of ``X-Forwarded-For`` (earlier ones the client may forge)."""
    if settings.SMS_TRUST_PROXY:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")


def given_secret(request) -> str:
    secret = request.GET.get("secret") or request.headers.get("X-Texting-Secret", "")
    if secret:
        return secret
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            return base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return ""


def authenticate(provider: BrokerProvider, request) -> None:
    """Raise WebhookForbidden unless the call comes from the provider."""
    if not provider.allows(client_ip(request)):
        raise WebhookForbidden(f"{client_ip(request) or 'unknown address'} is not on the allow-list")
    if not provider.check_secret(given_secret(request)):
        raise WebhookForbidden("missing or wrong secret")


def parse(provider: BrokerProvider, request) -> InboundData:
    params = {key: value for key, value in webhook_params(request).items() if key != "secret"}
    sender = (params.get(provider.origin_field) or "").strip()
    if not sender:
        raise WebhookBadRequest(f"{provider.origin_field} (the sender) is missing")
    if provider.text_field not in params:
        raise WebhookBadRequest(f"{provider.text_field} (the text) is missing")
    return InboundData(
        sender=international(sender),  # brokers write 447911123456 for +447911123456
        recipient=international((params.get(provider.destination_field) or "").strip()),
        content=params.get(provider.text_field) or "",
        external_id=_external_id(provider, params),
        raw=params,
    )


def _external_id(provider: BrokerProvider, params: dict) -> str:
    if provider.id_field and params.get(provider.id_field):
        return f"id-{params[provider.id_field]}"[:100]
    window = timezone.now().replace(second=0, microsecond=0)
    window -= timedelta(minutes=window.minute % 10)
    fields = "|".join(
        params.get(name) or "" for name in (provider.origin_field, provider.destination_field, provider.text_field)
    )
    return "h-" + hashlib.sha256(f"{fields}|{window.isoformat()}".encode()).hexdigest()[:40]
