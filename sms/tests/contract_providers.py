"""Contract-test harnesses of the issue-14 provider backends (imported by
``test_backend_contract.py``; kept apart so that file stays readable)."""

import itertools
import json
import time
from urllib.parse import urlencode

from sms.fake_http import Reply
from sms.tests.test_backend_contract import Harness

_ids = itertools.count(5000)


class VonageHarness(Harness):
    slug = "vonage"
    secret = "contract-signature-secret"

    def configure(self, settings, gateway):
        super().configure(settings, gateway)
        settings.VONAGE_API_KEY, settings.VONAGE_API_SECRET = "key", "secret"
        settings.VONAGE_FROM_NUMBER = "447700900001"
        settings.VONAGE_API_BASE = gateway.url
        settings.VONAGE_SIGNATURE_SECRET, settings.VONAGE_SIGNATURE_METHOD = self.secret, "sha256"
        gateway.handler = lambda request: Reply(
            200, {"message-count": "1", "messages": [{"status": "0", "message-id": f"V{next(_ids)}"}]}
        )

    def _sign(self, params, authenticated=True):
        from sms.backends.vonage import signature

        params = {**params, "timestamp": str(int(time.time()))}
        params["sig"] = signature(params, self.secret if authenticated else "forged", "sha256")
        return params

    def inbound(self, client, *, sender, text, gateway_id, authenticated=True):
        params = {"msisdn": sender.lstrip("+"), "to": "447700900001", "messageId": gateway_id, "text": text}
        return client.get("/sms/inbound/vonage/", self._sign(params, authenticated))

    def status(self, client, *, message, delivered):
        params = {"messageId": message.external_id, "status": "delivered" if delivered else "failed"}
        if message.pk:
            params["client-ref"] = message.reference.hex
        return client.get("/sms/status/vonage/", self._sign(params))

    def raw(self, client, kind, body, content_type):
        # Garbage carrying a valid signature of whatever fields the backend reads from it.
        from django.test import RequestFactory

        from sms.backends.base import WebhookBadRequest
        from sms.backends.vonage import callback_params, signature

        query = {"timestamp": str(int(time.time()))}
        path = f"/sms/{kind}/vonage/?{urlencode(query)}"
        try:
            fields = callback_params(RequestFactory().post(path, body, content_type=content_type))
        except (WebhookBadRequest, ValueError, UnicodeError):
            fields = query
        query["sig"] = signature({**fields, **query}, self.secret, "sha256")
        return client.post(f"/sms/{kind}/vonage/?{urlencode(query)}", body, content_type=content_type)


class PlivoHarness(Harness):
    slug = "plivo"
    token = "contract-plivo-token"

    def configure(self, settings, gateway):
        super().configure(settings, gateway)
        settings.PLIVO_AUTH_ID, settings.PLIVO_AUTH_TOKEN = "MA1", self.token
        settings.PLIVO_FROM_NUMBER = "+14155550100"
        settings.PLIVO_API_BASE = gateway.url
        gateway.handler = lambda request: Reply(202, {"message_uuid": [f"plivo-{next(_ids)}"]})

    def _post(self, client, path, body, content_type, fields, authenticated=True):
        from sms.backends.plivo import v3_signature

        token = self.token if authenticated else "forged"
        signature = v3_signature(token, "POST", f"http://testserver{path}", fields, "nonce")
        headers = {"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": "nonce"}
        return client.post(path, body, content_type=content_type, headers=headers)

    def _form(self, client, path, params, authenticated=True):
        fields = {key: [value] for key, value in params.items()}
        return self._post(client, path, urlencode(params), "application/x-www-form-urlencoded", fields, authenticated)

    def inbound(self, client, *, sender, text, gateway_id, authenticated=True):
        params = {"From": sender.lstrip("+"), "To": "14155550100", "Text": text, "MessageUUID": gateway_id}
        return self._form(client, "/sms/inbound/plivo/", params, authenticated)

    def status(self, client, *, message, delivered):
        params = {"Status": "delivered" if delivered else "failed", "MessageUUID": message.external_id}
        return self._form(client, f"/sms/status/plivo/?ref={message.reference}", params)

    def raw(self, client, kind, body, content_type):
        from django.test import RequestFactory

        try:
            fields = dict(RequestFactory().post("/", body, content_type=content_type).POST.lists())
        except Exception:
            fields = {}
        return self._post(client, f"/sms/{kind}/plivo/", body, content_type, fields)


class ClickatellPlatformHarness(Harness):
    slug = "clickatell_platform"

    def configure(self, settings, gateway):
        super().configure(settings, gateway)
        settings.CLICKATELL_PLATFORM_API_KEY = "key"
        settings.CLICKATELL_PLATFORM_API_BASE = gateway.url
        settings.CLICKATELL_PLATFORM_WEBHOOK_SECRET = "platform-secret"
        gateway.handler = lambda request: Reply(
            202, {"messages": [{"accepted": True, "apiMessageId": f"cp{next(_ids)}"}]}
        )

    def _post(self, client, kind, body, secret="platform-secret"):
        path = f"/sms/{kind}/clickatell_platform/?secret={secret}"
        return client.post(path, json.dumps(body), content_type="application/json")

    def inbound(self, client, *, sender, text, gateway_id, authenticated=True):
        body = {"messageId": gateway_id, "fromNumber": sender.lstrip("+"), "toNumber": "447700900001", "text": text}
        return self._post(client, "inbound", body, "platform-secret" if authenticated else "nope")

    def status(self, client, *, message, delivered):
        body = {"messageId": message.external_id, "statusCode": 4 if delivered else 7}
        if message.pk:
            body["clientMessageId"] = message.reference.hex
        return self._post(client, "status", body)

    def raw(self, client, kind, body, content_type):
        return client.post(f"/sms/{kind}/clickatell_platform/?secret=platform-secret", body, content_type=content_type)


class SNSHarness(Harness):
    slug = "sns"

    def configure(self, settings, gateway):
        from sms.tests.sns_signing import TOPIC, serve_certificate

        super().configure(settings, gateway)
        settings.SNS_ACCESS_KEY_ID, settings.SNS_SECRET_ACCESS_KEY = "testing", "testing"
        settings.SNS_ENDPOINT_URL = gateway.url
        settings.SNS_INBOUND_TOPIC_ARNS = [TOPIC]
        settings.SNS_CERT_URL_PATTERN = r"^http://127\.0\.0\.1:\d+/"
        gateway.handler = lambda request: Reply(
            200,
            f"<PublishResponse><PublishResult><MessageId>sns-{next(_ids)}</MessageId></PublishResult></PublishResponse>",
            content_type="text/xml",
        )
        self.cert_url = serve_certificate(gateway)

    def inbound(self, client, *, sender, text, gateway_id, authenticated=True):
        from sms.tests.sns_signing import inbound_text, notification, post, sign

        envelope = notification(inbound_text(sender, text, gateway_id), self.cert_url)
        if not authenticated:
            envelope = sign(envelope, key_name="forger")
        return post(client, "/sms/inbound/sns/", envelope)

    def status(self, client, *, message, delivered):
        from sms.tests.sns_signing import notification, post

        record = {"notification": {"messageId": message.external_id}, "status": "SUCCESS" if delivered else "FAILURE"}
        return post(client, "/sms/status/sns/", notification(record, self.cert_url))

    def raw(self, client, kind, body, content_type):
        return client.post(f"/sms/{kind}/sns/", body, content_type=content_type)


class ATSHarness(Harness):
    slug = "ats"
    receives = False  # ATS calls nobody back: states are polled
    delivers_by_polling = True

    def configure(self, settings, gateway):
        import xml.etree.ElementTree as ET

        super().configure(settings, gateway)
        settings.ATS_USERNAME, settings.ATS_PASSWORD = "u", "p"
        settings.ATS_URL = gateway.url

        def handler(request):
            root = ET.fromstring(request.body)
            codes = [(sms.get("uniq"), 0) for sms in root.iter("sms")] + [(d.get("uniq"), 23) for d in root.iter("dlr")]
            body = "".join(f'<code uniq="{uniq}">{code}</code>' for uniq, code in codes)
            return Reply(200, f"<status>{body}</status>", content_type="text/xml")

        gateway.handler = handler


class SMSOperatorHarness(Harness):
    slug = "smsoperator"
    receives = False
    delivers_by_polling = True

    def configure(self, settings, gateway):
        import xml.etree.ElementTree as ET

        super().configure(settings, gateway)
        settings.SMSOPERATOR_USERNAME, settings.SMSOPERATOR_PASSWORD = "u", "p"
        settings.SMSOPERATOR_URL = gateway.url

        def handler(request):
            ids = [node.text for node in ET.fromstring(request.body).iter("SmsId")]
            items = "".join(f"<DataItem><SmsId>{i}</SmsId><Status>0</Status></DataItem>" for i in ids)
            return Reply(200, f"<SmsServices><DataArray>{items}</DataArray></SmsServices>", content_type="text/xml")

        gateway.handler = handler


PROVIDER_HARNESSES = [
    VonageHarness,
    PlivoHarness,
    ClickatellPlatformHarness,
    SNSHarness,
    ATSHarness,
    SMSOperatorHarness,
]

__all__ = ["PROVIDER_HARNESSES", "json"]
