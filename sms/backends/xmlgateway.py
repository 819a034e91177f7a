"""What the two Czech XML gateways pymess supports (ATS SMS operator, SMS Operator) share:
one XML document POSTed per batch, our own id per text ("uniq", prefixed per installation with
``SMS_UNIQ_PREFIX``, pymess's UNIQ_PREFIX idea, so installations sharing an account never mix
their texts up), an answer with a code per id, and delivery states fetched by polling
(``check_delivery`` → ``bulk_check_sms_states``). Neither calls us back, so neither has
webhooks; neither documents a balance call.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from django.conf import settings

from sms.backends.base import BackendError, BaseBackend, SendResult, StatusReport
from sms.backends.http import SessionMixin, call, gateway_option

logger = logging.getLogger(__name__)


class XMLPollingBackend(SessionMixin, BaseBackend):
    supports_state_check = True
    webhook_methods = ()
    gateway = ""

    # --- Ids ---------------------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        return str(gateway_option(self, "uniq_prefix") or settings.SMS_UNIQ_PREFIX)

    def uniq(self, message) -> str:
        return f"{self.prefix}-{message.pk}" if self.prefix else str(message.pk)

    # --- Transport ---------------------------------------------------------------------------

    def post_xml(self, root: ET.Element) -> ET.Element:
        document = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
        response = call(
            self.session,
            "POST",
            gateway_option(self, "url"),
            gateway=self.gateway,
            data=document,
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        if response.status_code != 200:
            raise BackendError(
                f"{self.gateway}: HTTP {response.status_code}", permanent=response.status_code in (401, 403, 404)
            )
        if b"<!DOCTYPE" in response.content.upper() or b"<!ENTITY" in response.content.upper():
            # No DTDs, so no entity expansion: the gateway's answers never need one.
            raise BackendError(f"{self.gateway}: refused an answer with a DTD")
        try:
            return ET.fromstring(response.content)  # noqa: S314 (DTDs refused above; expat fetches nothing)
        except ET.ParseError as exc:
            raise BackendError(f"{self.gateway}: unreadable answer ({exc}) {response.text[:80]!r}") from None

    # --- Hooks for each gateway ----------------------------------------------------------------

    def send_document(self, messages) -> ET.Element:
        raise NotImplementedError

    def state_document(self, messages) -> ET.Element:
        raise NotImplementedError

    def codes(self, answer: ET.Element) -> dict[str, int]:
        """uniq -> code found in an answer; raise BackendError for a request-level error."""
        raise NotImplementedError

    def send_outcome(self, message, uniq: str, code: int | None) -> SendResult:
        raise NotImplementedError

    def state_report(self, uniq: str, code: int) -> StatusReport:
        raise NotImplementedError

    # --- Sending and polling -----------------------------------------------------------------

    def publish_message(self, message) -> SendResult:
        result = self.publish_messages([message])[0]
        if result.error:
            raise result.error
        return result

    def publish_messages(self, messages) -> list[SendResult]:
        """One request for the batch; a request-level failure fails each text the same way."""
        if not messages:
            return []
        try:
            codes = self.codes(self.post_xml(self.send_document(messages)))
        except BackendError as exc:
            return [SendResult(message=message, error=exc) for message in messages]
        results = []
        for message in messages:
            uniq = self.uniq(message)
            try:
                results.append(self.send_outcome(message, uniq, codes.get(uniq)))
            except BackendError as exc:
                results.append(SendResult(message=message, error=exc))
        unknown = set(codes) - {self.uniq(message) for message in messages}
        if unknown:
            logger.warning("%s answered about ids it was not sent: %s", self.gateway, sorted(unknown)[:10])
        return results

    def bulk_check_sms_states(self, messages) -> list[StatusReport]:
        messages = [message for message in messages if message.pk]
        if not messages:
            return []
        codes = self.codes(self.post_xml(self.state_document(messages)))
        wanted = {self.uniq(message): message for message in messages}
        reports = []
        for uniq, code in codes.items():
            message = wanted.get(uniq)
            if message is None:
                continue
            report = self.state_report(uniq, code)
            report.external_id = message.external_id or uniq
            reports.append(report)
        return reports


def element(tag: str, text: str | None = None, **attributes) -> ET.Element:
    node = ET.Element(tag, {key: str(value) for key, value in attributes.items() if value is not None})
    if text is not None:
        node.text = text
    return node


def child(parent: ET.Element, tag: str, text: str | None = None, **attributes) -> ET.Element:
    node = element(tag, text, **attributes)
    parent.append(node)
    return node


def number(recipient: str) -> str:
    """International digits without "+" (420603123456), as both gateways take numbers."""
    return recipient.lstrip("+")
