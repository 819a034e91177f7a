"""SMS Operator (sms-operator.cz), the XML web service as django-pymess (0.7.6, backend
``pymess.backend.sms.sms_operator`` and its templates ``pymess/sms/sms_operator/*.xml``) uses
it: the format was read there, the code is our own.

Request (``POST SMSOPERATOR_URL``, ``text/xml``)::

    <SmsServices>
      <DataHeader>
        <DataType>SMS</DataType>            (SMS-Status to ask for delivery states)
        <UserName>USER</UserName><Password>PASSWORD</Password>
      </DataHeader>
      <DataArray>
        <DataTemplate>
          <DataItem><MobileTerminate>420603123456</MobileTerminate><Text>..</Text>
                    <SmsId>PREFIX-42</SmsId></DataItem>
        </DataTemplate>
      </DataArray>                           (for SMS-Status: <SmsId>PREFIX-42</SmsId> per text)
    </SmsServices>

The answer has a ``<DataItem>`` per text with its ``<SmsId>`` and a numeric ``<Status>`` (pymess
reads them case-insensitively; so do we). On a send, 0 is "taken"; in a state check 0 is
"delivered" and 1-15 are the states listed in ``STATES``.
"""

from __future__ import annotations

from sms.backends.base import BackendError, SendResult, StatusReport
from sms.backends.http import gateway_option
from sms.backends.xmlgateway import XMLPollingBackend, child, element, number

CODES = {
    0: "delivered",
    1: "not delivered",
    2: "number does not exist",
    3: "timed out",
    4: "wrong number format",
    5: "another error",
    6: "event error",
    7: "SMS text too long",
    10: "partly delivered",
    11: "unknown",
    12: "partly delivered, partly unknown",
    13: "partly not delivered, partly unknown",
    14: "partly delivered, partly not delivered, partly unknown",
    15: "not found",
}
#: On a send: worth another try (everything else but 0 fails the text).
TEMPORARY = {3, 5, 6}
STATES = {
    0: "delivered",
    1: "error_update",
    2: "error_update",
    3: "error_update",
    4: "error_update",
    5: "error_update",
    6: "error_update",
    7: "error_update",
    10: "error_update",
    11: None,
    12: None,
    13: None,
    14: None,
    15: "error_update",
}


def describe(code: int) -> str:
    return f"SMS Operator {code}: {CODES.get(code, 'unknown code')}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


class SMSOperatorBackend(XMLPollingBackend):
    slug = "smsoperator"
    name = "SMS Operator"
    gateway = "SMS Operator"
    deduplicates_on_reference = False  # no duplicate check on SmsId is documented
    required_settings = ("SMSOPERATOR_USERNAME", "SMSOPERATOR_PASSWORD")

    def _document(self, kind: str):
        root = element("SmsServices")
        header = child(root, "DataHeader")
        child(header, "DataType", kind)
        child(header, "UserName", gateway_option(self, "username"))
        child(header, "Password", gateway_option(self, "password"))
        return root, child(root, "DataArray")

    def send_document(self, messages):
        root, array = self._document("SMS")
        template = child(array, "DataTemplate")
        for message in messages:
            item = child(template, "DataItem")
            child(item, "MobileTerminate", number(message.recipient))
            child(item, "Text", message.content)
            child(item, "SmsId", self.uniq(message))
        return root

    def state_document(self, messages):
        root, array = self._document("SMS-Status")
        for message in messages:
            child(array, "SmsId", self.uniq(message))
        return root

    def codes(self, answer) -> dict[str, int]:
        found: dict[str, int] = {}
        for item in answer.iter():
            if _local(item.tag) != "dataitem":
                continue
            fields = {_local(node.tag): (node.text or "").strip() for node in item}
            if "smsid" not in fields or "status" not in fields:
                continue
            try:
                found[fields["smsid"]] = int(fields["status"])
            except ValueError:
                raise BackendError(f"SMS Operator: unreadable status {fields['status'][:20]!r}") from None
        if not found:
            raise BackendError("SMS Operator: the answer has no DataItem with SmsId and Status")
        return found

    def send_outcome(self, message, uniq, code) -> SendResult:
        if code is None:
            # Not mentioned in an answer that mentions others: it may or may not have been taken.
            raise BackendError("SMS Operator: the answer says nothing about this text", ambiguous=True)
        if code == 0:
            return SendResult(message=message, external_id=uniq)
        raise BackendError(describe(code), permanent=code not in TEMPORARY, code=str(code))

    def state_report(self, uniq, code) -> StatusReport:
        state = STATES.get(code)
        failed = state == "error_update"
        return StatusReport(
            state=state,
            gateway_status=describe(code),
            error=CODES.get(code, "") if failed else "",
            error_code=str(code) if failed else "",
        )
