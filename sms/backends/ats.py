"""ATS SMS operator (atspraha.cz), the XML API as django-pymess (0.7.6, backend
``pymess.backend.sms.ats_sms_operator`` and its templates ``pymess/sms/ats/*.xml``) uses it:
the format was read there, the code is our own.

Request (``POST ATS_URL``, ``text/xml``)::

    <messages>
      <auth><name>USER</name><password>PASSWORD</password></auth>
      <sms type="text" uniq="PREFIX-42" sender="SENDER" recipient="420603123456" opmid=""
           dlr="1" validity="60" kw="KEYWORD" [textid="..."]>
        <body order="0" billing="0">the text</body>
      </sms>
      ...
    </messages>

and for delivery states ``<dlr uniq="PREFIX-42">PREFIX-42</dlr>`` per text. The answer holds a
``<code uniq="PREFIX-42">N</code>`` per text; a ``<code>`` without ``uniq`` is about the whole
request (100 authentication failed, 200 database error, 70x XML errors).

ATS refuses a second text with a ``uniq`` it already has (310): a text re-sent after a crash
mid-call is recognised and not sent twice, so 310 on a send means "already taken".
"""

from __future__ import annotations

from sms.backends.base import BackendError, SendResult, StatusReport
from sms.backends.http import gateway_option
from sms.backends.xmlgateway import XMLPollingBackend, child, element, number

CODES = {
    0: "SMS is OK and ready to be sent",
    1: "unspecified error",
    20: "not found",
    21: "not sent yet",
    22: "sent",
    23: "delivered",
    24: "not delivered",
    25: "not able to determine the state",
    100: "authentication failed",
    200: "DB error",
    300: 'one of the requests has not unique "uniq"',
    310: 'SMS has not unique "uniq"',
    320: "SMS lacks keyword",
    321: "keyword not valid",
    330: "no sender specified",
    331: "sender not valid",
    332: "MO PR SMS not allowed",
    333: "MT PR SMS not allowed",
    334: "MT PR SMS daily limit exceeded",
    335: "MT PR SMS total limit exceeded",
    336: "geographic number is not allowed",
    337: "MT SMS to Slovakia not allowed",
    338: "shortcodes not allowed",
    339: "sender is unknown",
    340: "type of SMS not specified",
    341: "SMS too long",
    342: "too many SMS parts (max. is 10)",
    343: "wrong number of sender/receiver",
    350: "recipient is missing or in wrong format",
    360: 'using "textid" is not allowed',
    361: '"textid" is in wrong format',
    362: 'long SMS with "textid" not allowed',
    701: "XML body missing",
    702: "XML is not readable",
    703: "unknown HTTP method or not HTTP POST",
    705: "XML invalid",
}
TEMPORARY = {1, 200}  # worth another try
ALREADY_TAKEN = {300, 310}
#: Delivery-state codes -> our state (None: still in flight).
STATES = {20: "error_update", 21: None, 22: "sent", 23: "delivered", 24: "error_update", 25: None}


def describe(code: int) -> str:
    return f"ATS {code}: {CODES.get(code, 'unknown code')}"


class ATSBackend(XMLPollingBackend):
    slug = "ats"
    name = "ATS SMS operator"
    gateway = "ATS"
    deduplicates_on_reference = True  # 310: a uniq ATS already has is refused, never sent twice
    required_settings = ("ATS_USERNAME", "ATS_PASSWORD")

    def _document(self) -> tuple:
        root = element("messages")
        auth = child(root, "auth")
        child(auth, "name", gateway_option(self, "username"))
        child(auth, "password", gateway_option(self, "password"))
        return (root,)

    def send_document(self, messages):
        (root,) = self._document()
        textid = gateway_option(self, "textid")
        for message in messages:
            sms = child(
                root,
                "sms",
                type="text",
                uniq=self.uniq(message),
                sender=message.sender or gateway_option(self, "sender"),
                recipient=number(message.recipient),
                opmid="",
                dlr="1",
                validity=gateway_option(self, "validity_minutes", 60),
                kw=gateway_option(self, "project_keyword"),
                textid=textid or None,
            )
            child(sms, "body", message.content, order="0", billing="0")
        return root

    def state_document(self, messages):
        (root,) = self._document()
        for message in messages:
            child(root, "dlr", self.uniq(message), uniq=self.uniq(message))
        return root

    def codes(self, answer) -> dict[str, int]:
        found: dict[str, int] = {}
        request_errors = []
        for node in answer.iter("code"):
            try:
                code = int((node.text or "").strip())
            except ValueError:
                raise BackendError(f"ATS: unreadable code {node.text!r}") from None
            uniq = node.get("uniq")
            if uniq:
                found[uniq] = code
            else:
                request_errors.append(code)
        if request_errors:
            code = request_errors[0]
            raise BackendError(describe(code), permanent=code not in TEMPORARY, code=str(code))
        if not found:
            raise BackendError("ATS: the answer has no codes")
        return found

    def send_outcome(self, message, uniq, code) -> SendResult:
        if code is None:
            # Not mentioned: ATS refuses a repeated uniq, so trying again is safe.
            raise BackendError("ATS: the answer says nothing about this text")
        if code == 0 or code in ALREADY_TAKEN:
            return SendResult(message=message, external_id=uniq, extra_sender_data={"ats_code": code})
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
