"""Verifying the signature of an Amazon SNS message (what the HTTPS endpoint of a subscription
receives), with ``cryptography``.

Documentation followed: docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
and .../sns-message-and-json-formats.html. The string to sign is ``name\\nvalue\\n`` for a fixed
list of keys in a fixed order (Subject only when present); SignatureVersion 1 is SHA1withRSA,
2 is SHA256withRSA; the certificate comes from ``SigningCertURL``, which must be HTTPS on an
SNS host (``SNS_CERT_URL_PATTERN``; tests point it at a local server). Certificates are cached
per URL for the life of the process (AWS rotates them by publishing new URLs).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings

from sms.backends.base import WebhookForbidden
from sms.backends.http import new_session, timeout

NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}

_certificates: dict[str, x509.Certificate] = {}
_lock = threading.Lock()


def string_to_sign(message: dict) -> bytes:
    keys = NOTIFICATION_KEYS if message.get("Type") == "Notification" else CONFIRMATION_KEYS
    lines = []
    for key in keys:
        if key == "Subject" and message.get(key) is None:
            continue
        lines.append(f"{key}\n{message.get(key, '')}\n")
    return "".join(lines).encode("utf-8")


def allowed_url(url: str) -> bool:
    return bool(url) and bool(re.match(settings.SNS_CERT_URL_PATTERN, url))


def certificate(url: str) -> x509.Certificate:
    with _lock:
        cached = _certificates.get(url)
    if cached is not None:
        return cached
    try:
        response = new_session().get(url, timeout=timeout())
    except requests.RequestException as exc:
        raise WebhookForbidden(f"cannot fetch the signing certificate ({exc.__class__.__name__})") from None
    if response.status_code != 200:
        raise WebhookForbidden(f"signing certificate URL answered HTTP {response.status_code}")
    try:
        loaded = x509.load_pem_x509_certificate(response.content)
    except ValueError:
        raise WebhookForbidden("the signing certificate is not a PEM certificate") from None
    with _lock:
        _certificates[url] = loaded
    return loaded


def verify(message: dict) -> None:
    """Raise WebhookForbidden unless ``message`` is signed by the certificate it names."""
    version = str(message.get("SignatureVersion") or "")
    if version not in HASHES:
        raise WebhookForbidden(f"unsupported SignatureVersion {version[:10]!r}")
    url = str(message.get("SigningCertURL") or message.get("SigningCertUrl") or "")
    if not allowed_url(url):
        raise WebhookForbidden("SigningCertURL is not an Amazon SNS certificate URL")
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookForbidden("Signature is not base64") from None
    if not signature:
        raise WebhookForbidden("missing Signature")
    public_key = certificate(url).public_key()
    try:
        public_key.verify(signature, string_to_sign(message), padding.PKCS1v15(), HASHES[version]())
    except (InvalidSignature, TypeError, ValueError):
        raise WebhookForbidden("the SNS signature does not match") from None
