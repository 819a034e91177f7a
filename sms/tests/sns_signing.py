"""A throw-away signing certificate and SNS-style signing, for the SNS webhook tests: the tests
sign notifications the way Amazon SNS does and serve the certificate from a local server."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from sms.backends.sns_signature import string_to_sign
from sms.fake_http import Reply

TOPIC = "arn:aws:sns:eu-west-1:123456789012:texting-inbound"
CERT_PATH = "/SimpleNotificationService-test.pem"


@lru_cache(maxsize=2)
def key_and_certificate(name: str = "sns.eu-west-1.amazonaws.com"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


def serve_certificate(server, name: str = "sns.eu-west-1.amazonaws.com") -> str:
    """Make ``server`` answer GET CERT_PATH with the certificate; returns its URL."""
    pem = key_and_certificate(name)[1]
    previous = server.handler

    def handler(request):
        if request.method == "GET" and request.path == CERT_PATH:
            return Reply(200, pem, content_type="application/x-pem-file")
        if previous:
            return previous(request)
        return server.default

    server.handler = handler
    return server.url + CERT_PATH


def sign(envelope: dict, *, version: str = "1", key_name: str = "sns.eu-west-1.amazonaws.com") -> dict:
    key = key_and_certificate(key_name)[0]
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(string_to_sign(envelope), padding.PKCS1v15(), algorithm)
    return {**envelope, "SignatureVersion": version, "Signature": base64.b64encode(signature).decode()}


def notification(payload: dict, cert_url: str, *, topic: str = TOPIC, version: str = "1", **extra) -> dict:
    envelope = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": json.dumps(payload),
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SigningCertURL": cert_url,
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        **extra,
    }
    return sign(envelope, version=version)


def inbound_text(sender: str, text: str, inbound_id: str) -> dict:
    return {
        "originationNumber": sender,
        "destinationNumber": "+447700900001",
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": text,
        "inboundMessageId": inbound_id,
        "previousPublishedMessageId": "",
    }


def post(client, path: str, envelope: dict, *, message_type: str | None = None):
    return client.post(
        path,
        json.dumps(envelope),
        content_type="text/plain; charset=UTF-8",
        headers={"x-amz-sns-message-type": message_type or envelope.get("Type", "")},
    )
