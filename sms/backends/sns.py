"""Amazon SNS (SMS), through boto3.

Documentation followed: docs.aws.amazon.com/sns/latest/api/API_Publish.html (Publish to a
``PhoneNumber``, its errors), docs.aws.amazon.com/sns/latest/dg/sms_publish-to-phone.html and
.../sms_sending-overview.html (message attributes ``AWS.SNS.SMS.SMSType``,
``AWS.SNS.SMS.SenderID``, ``AWS.SNS.SMS.MaxPrice``, ``AWS.MM.SMS.OriginationNumber``),
.../sns-http-https-endpoint-as-subscriber.html and .../sns-verify-signature-of-message.html
(HTTPS subscriptions), docs.aws.amazon.com/sms-voice/latest/userguide/two-way-sms.html (the
inbound text JSON) and .../sms_stats_cloudwatch.html (delivery status logs).

Sending: one ``Publish`` per text (a boto3 client is thread-safe; it is built once per backend
under a lock). ``SMSType`` is Transactional, or Promotional for texts tagged with one of
``SNS_PROMOTIONAL_TAGS`` (or ``extra_sender_data["sms_type"]``); an alphanumeric sender is the
SenderID, a number the origination number. The SDK's own retries are off: a retried Publish
could be a second text. Throttling (``Throttling``, HTTP 429) waits and is retried by the
dispatcher with back-off, without spending an attempt; invalid parameters and credentials fail
the text; 5xx, time-outs and network errors are retried.

Webhooks: an SNS topic (two-way SMS's destination) subscribed with HTTPS to
``/sms/inbound/sns/``. Every message's signature is verified (``sns_signature``) and its
``TopicArn`` must be one of ``SNS_INBOUND_TOPIC_ARNS``; a SubscriptionConfirmation is confirmed
by fetching its ``SubscribeURL`` (an SNS host too). ``/sms/status/sns/`` takes delivery status
records (SNS's CloudWatch delivery-status log JSON, or End User Messaging's ``TEXT_*`` events)
forwarded to a topic subscribed the same way. SNS has no balance API (spend is capped by the
account's monthly SMS spend limit, not a credit).
"""

from __future__ import annotations

import json
import logging
import threading

import requests
from django.conf import settings
from django.http import HttpResponse

from sms.backends import sns_signature
from sms.backends.base import (
    BackendError,
    BaseBackend,
    InboundData,
    SendResult,
    StatusReport,
    WebhookBadRequest,
    WebhookForbidden,
)
from sms.backends.http import gateway_option, new_session, timeout, without_nul

logger = logging.getLogger(__name__)

THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "KMSThrottling",
    "TooManyRequestsException",
}
PERMANENT_CODES = {
    "InvalidParameter",
    "InvalidParameterValue",
    "ValidationError",
    "AuthorizationError",
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "OptedOut",
    "EndpointDisabled",
    "NotFound",
    "KMSDisabled",
    "KMSInvalidState",
    "KMSNotFound",
    "KMSAccessDenied",
}
#: End User Messaging SMS event types -> our state.
EVENT_STATES = {
    "TEXT_DELIVERED": "delivered",
    "TEXT_SUCCESSFUL": "sent",
    "TEXT_PENDING": None,
    "TEXT_QUEUED": None,
    "TEXT_BLOCKED": "error_update",
    "TEXT_TTL_EXPIRED": "error_update",
    "TEXT_CARRIER_UNREACHABLE": "error_update",
    "TEXT_INVALID": "error_update",
    "TEXT_INVALID_MESSAGE": "error_update",
    "TEXT_CARRIER_BLOCKED": "error_update",
    "TEXT_UNREACHABLE": "error_update",
    "TEXT_SPAM": "error_update",
    "TEXT_UNKNOWN": None,
}


def error_from_client_error(exc) -> BackendError:
    error = exc.response.get("Error", {}) if hasattr(exc, "response") else {}
    code = str(error.get("Code") or "")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0) if hasattr(exc, "response") else 0
    text = f"SNS {code or status}: {error.get('Message') or exc}"
    if code in THROTTLE_CODES or status == 429:
        return BackendError(text, throttled=True, code=code or "429")
    if code in PERMANENT_CODES or (400 <= status < 500 and status not in (408,)):
        return BackendError(text, permanent=True, code=code or str(status))
    return BackendError(text, code=code or str(status))


class SNSBackend(BaseBackend):
    slug = "sns"
    name = "Amazon SNS"
    deduplicates_on_reference = False
    webhook_methods = ("POST",)
    required_settings = ("SNS_INBOUND_TOPIC_ARNS",)  # for the webhooks; sending needs only credentials

    def __init__(self, **options):
        super().__init__(**options)
        self._client = None
        self._lock = threading.Lock()

    @classmethod
    def is_configured(cls) -> bool:
        return bool(settings.SNS_INBOUND_TOPIC_ARNS)

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                session = boto3.session.Session(
                    aws_access_key_id=gateway_option(self, "access_key_id") or None,
                    aws_secret_access_key=gateway_option(self, "secret_access_key") or None,
                    region_name=gateway_option(self, "region") or None,
                )
                self._client = session.client(
                    "sns",
                    endpoint_url=gateway_option(self, "endpoint_url") or None,
                    config=Config(
                        connect_timeout=timeout(),
                        read_timeout=timeout(),
                        retries={"total_max_attempts": 1},
                        max_pool_connections=50,  # many texts in flight at once (concurrent sending)
                    ),
                )
            return self._client

    # --- Sending ---------------------------------------------------------------------------

    def sms_type(self, message) -> str:
        wanted = str(message.extra_sender_data.get("sms_type") or "").capitalize()
        if wanted in ("Transactional", "Promotional"):
            return wanted
        if message.tag and message.tag in (gateway_option(self, "promotional_tags") or []):
            return "Promotional"
        return gateway_option(self, "sms_type") or "Transactional"

    def attributes(self, message) -> dict:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self.sms_type(message)}}
        sender = message.sender
        sender_id = gateway_option(self, "sender_id")
        origination = gateway_option(self, "origination_number")
        if sender and sender.lstrip("+").isdigit():
            origination = sender
        elif sender:
            sender_id = sender
        if sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender_id}
        if origination:
            attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String", "StringValue": origination}
        max_price = gateway_option(self, "max_price")
        if max_price:
            attributes["AWS.SNS.SMS.MaxPrice"] = {"DataType": "Number", "StringValue": str(max_price)}
        return attributes

    def publish_message(self, message) -> SendResult:
        from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

        attributes = self.attributes(message)
        try:
            answer = self.client.publish(
                PhoneNumber=message.recipient, Message=message.content, MessageAttributes=attributes
            )
        except ClientError as exc:
            raise error_from_client_error(exc) from exc
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise BackendError(f"SNS: no answer within {timeout():g} s ({exc.__class__.__name__})") from exc
        except BotoCoreError as exc:  # network errors, unreadable answers, missing credentials
            raise BackendError(f"SNS: {exc.__class__.__name__}: {exc}") from exc
        except (KeyError, ValueError, TypeError, AttributeError) as exc:  # a proxy's page instead of XML
            raise BackendError(f"SNS: unreadable answer ({exc.__class__.__name__})") from exc
        message_id = str(answer.get("MessageId") or "")
        if not message_id:
            raise BackendError("SNS accepted the text but gave no MessageId")
        sender = attributes.get("AWS.SNS.SMS.SenderID", attributes.get("AWS.MM.SMS.OriginationNumber", {}))
        return SendResult(
            message=message,
            external_id=message_id,
            sender=sender.get("StringValue", ""),
            extra_sender_data={"sms_type": attributes["AWS.SNS.SMS.SMSType"]["StringValue"]},
        )

    # --- Webhooks ----------------------------------------------------------------------------

    def _envelope(self, request) -> dict:
        cached = getattr(request, "_sns_envelope", None)
        if cached is not None:
            return cached
        try:
            envelope = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookBadRequest(f"an SNS message is JSON ({exc.__class__.__name__})") from None
        if not isinstance(envelope, dict) or not all(isinstance(v, str | type(None)) for v in envelope.values()):
            raise WebhookBadRequest("an SNS message is a JSON object of strings")
        request._sns_envelope = envelope
        return envelope

    def authenticate_webhook(self, request) -> None:
        envelope = self._envelope(request)
        kind = envelope.get("Type")
        if kind not in ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"):
            raise WebhookBadRequest(f"unknown SNS message Type {str(kind)[:40]!r}")
        header = request.headers.get("x-amz-sns-message-type")
        if header and header != kind:
            raise WebhookForbidden("x-amz-sns-message-type does not match the message Type")
        sns_signature.verify(envelope)
        if envelope.get("TopicArn") not in settings.SNS_INBOUND_TOPIC_ARNS:
            raise WebhookForbidden("the message is from a topic not in SNS_INBOUND_TOPIC_ARNS")

    def _handled_control_message(self, envelope: dict) -> bool:
        """Confirm a subscription (fetch SubscribeURL); True when ``envelope`` was not data."""
        kind = envelope.get("Type")
        if kind == "UnsubscribeConfirmation":
            logger.warning("SNS: topic %s unsubscribed this endpoint", envelope.get("TopicArn"))
            return True
        if kind != "SubscriptionConfirmation":
            return False
        url = str(envelope.get("SubscribeURL") or "")
        if not sns_signature.allowed_url(url):
            raise WebhookBadRequest("SubscribeURL is not an Amazon SNS URL")
        try:
            response = new_session().get(url, timeout=timeout())
        except requests.RequestException as exc:
            raise WebhookBadRequest(f"could not confirm the subscription ({exc.__class__.__name__})") from None
        if response.status_code != 200:
            raise WebhookBadRequest(f"confirming the subscription answered HTTP {response.status_code}")
        logger.info("SNS: subscription to %s confirmed", envelope.get("TopicArn"))
        return True

    def _payload(self, envelope: dict) -> dict:
        try:
            payload = json.loads(envelope.get("Message") or "")
        except ValueError:
            raise WebhookBadRequest("the notification's Message is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookBadRequest("the notification's Message is not a JSON object")
        return without_nul(payload)

    def parse_inbound(self, request) -> list[InboundData]:
        envelope = self._envelope(request)
        if self._handled_control_message(envelope):
            return []
        payload = self._payload(envelope)
        sender = str(payload.get("originationNumber") or "")
        external_id = str(payload.get("inboundMessageId") or envelope.get("MessageId") or "")
        if not sender or not external_id:
            raise WebhookBadRequest("an inbound text needs originationNumber and inboundMessageId")
        return [
            InboundData(
                sender=sender,
                recipient=str(payload.get("destinationNumber") or ""),
                content=str(payload.get("messageBody") or ""),
                external_id=external_id,
                raw=payload,
            )
        ]

    def parse_status(self, request) -> list[StatusReport]:
        envelope = self._envelope(request)
        if self._handled_control_message(envelope):
            return []
        payload = self._payload(envelope)
        if "eventType" in payload:  # End User Messaging SMS event
            event = str(payload.get("eventType"))
            external_id = str(payload.get("messageId") or "")
            state = EVENT_STATES.get(event)
            status = event
        else:  # SNS delivery status log record
            notification = payload.get("notification") if isinstance(payload.get("notification"), dict) else {}
            external_id = str(notification.get("messageId") or "")
            status = str(payload.get("status") or "").upper()
            state = {"SUCCESS": "delivered", "FAILURE": "error_update"}.get(status)
        if not external_id or not status:
            raise WebhookBadRequest("a delivery record needs a messageId and a status (or eventType)")
        delivery = payload.get("delivery") if isinstance(payload.get("delivery"), dict) else {}
        reason = str(delivery.get("providerResponse") or payload.get("messageStatusDescription") or "")
        return [
            StatusReport(
                external_id=external_id,
                state=state,
                gateway_status=status,
                error=reason if state == "error_update" else "",
                raw=payload,
            )
        ]

    def webhook_response(self, kind: str) -> HttpResponse:
        if kind == "retry":
            return super().webhook_response(kind)  # a 5xx: the gateway delivers it again later
        return HttpResponse(status=200)
