"""The generic HTTP connector: a gateway account whose request is configured in the dashboard
(the SIM's route options), enough to speak Kannel's sendsms + dlr-url and Jasmin's HTTP API.

Options (JSON on the SIM page; a ``preset`` fills in the rest, any key overrides it):

``url``            request URL; ``{placeholders}`` allowed (below)
``method``         ``GET`` or ``POST``; ``body``: ``form`` (default) or ``json`` for a POST
``params``         parameter name → template, e.g. ``{"to": "{to}", "text": "{text}"}``
``success``        regex the answer's body must match (with a 2xx status) for the text to count as sent
``id_regex``       regex whose group ``id`` (or first group) is the gateway's id; ``id_json`` a
                   dotted path into a JSON answer (``data.message_id``); neither: our reference
``permanent``      regex of a refused answer that retrying cannot fix (a bad number, bad credentials)
``dlr``            delivery-report mapping: ``id`` / ``reference`` (parameter names carrying the
                   gateway's id / ours), ``status`` (parameter name), ``delivered``, ``failed``,
                   ``sent`` (lists of its values), ``error`` (parameter name of an error code)
``dlr_answer``     body the gateway expects back (Jasmin: ``ACK/Jasmin``)
``mo``             inbound mapping: ``from``, ``to``, ``text``, ``id`` parameter names

Placeholders: ``{to}`` (+E.164), ``{to_digits}`` (without +), ``{sender}``, ``{text}``,
``{reference}``, ``{dlr_url}`` (our status webhook for this text, with its secret), and every
credential option (``{username}``, ``{password}``: read from the environment, never stored).

Its webhooks, ``/sms/status/http_connector/?route=<SIM id>&secret=...`` and
``/sms/inbound/http_connector/?route=<SIM id>&secret=...``, need ``SMS_CONNECTOR_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import json
import re
import string

from sms.backends.base import (
    BackendError,
    BaseBackend,
    InboundData,
    SendResult,
    StatusReport,
    WebhookBadRequest,
    webhook_params,
)
from sms.backends.http import SessionMixin, call, international
from sms.models import State

PRESETS = {
    # Kannel's sendsms (smsbox): "0: Accepted for delivery" (HTTP 202); no id in the answer,
    # so the dlr-url carries our reference and Kannel substitutes %d (1 delivered, 2 failed,
    # 4 buffered, 8 SMSC submit, 16 SMSC reject).
    "kannel": {
        "method": "GET",
        "params": {
            "username": "{username}",
            "password": "{password}",
            "to": "{to}",
            "from": "{sender}",
            "text": "{text}",
            "charset": "UTF-8",
            "coding": "2",
            "dlr-mask": "31",
            "dlr-url": "{dlr_url}&status=%d&smsc_id=%I",
        },
        "success": r"^0: Accept",
        "permanent": r"^(3|4): ",
        "dlr": {"reference": "ref", "id": "smsc_id", "status": "status", "delivered": ["1"], "failed": ["2", "16"]},
        "mo": {"from": "sender", "to": "to", "text": "text", "id": "id"},
        "dlr_answer": "",
    },
    # Jasmin's HTTP API: /send answers `Success "<id>"`, `Error "..."`; its DLR POSTs `id` and
    # `message_status` (ESME_* at level 1, the SMSC's DELIVRD/UNDELIV at levels 2-3) and wants
    # `ACK/Jasmin` back, as does its MO POST (id, from, to, content).
    "jasmin": {
        "method": "POST",
        "params": {
            "username": "{username}",
            "password": "{password}",
            "to": "{to_digits}",
            "from": "{sender}",
            "content": "{text}",
            "coding": "8",
            "dlr": "yes",
            "dlr-url": "{dlr_url}",
            "dlr-level": "3",
            "dlr-method": "POST",
        },
        "success": r'^Success "',
        "id_regex": r'^Success "(?P<id>[^"]+)"',
        "permanent": r"^Error \"(Authentication failure|Cannot charge|Invalid|Argument)",
        "dlr": {
            "id": "id",
            "status": "message_status",
            "delivered": ["DELIVRD"],
            "failed": ["UNDELIV", "REJECTD", "EXPIRED", "DELETED"],
            "sent": ["ESME_ROK", "ACCEPTD", "ENROUTE"],
            "error": "err",
        },
        "mo": {"from": "from", "to": "to", "text": "content", "id": "id"},
        "dlr_answer": "ACK/Jasmin",
    },
}
KNOWN = {"preset", "url", "method", "body", "params", "success", "id_regex", "id_json", "permanent", "dlr"}
KNOWN |= {"dlr_answer", "mo", "route"}


def connector_options(options: dict) -> dict:
    """The preset's options with the route's own on top."""
    preset = options.get("preset") or ""
    if preset and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    merged = json.loads(json.dumps(PRESETS.get(preset, {})))
    merged.update({k: v for k, v in options.items() if v not in (None, "")})
    return merged


def validate(options: dict) -> list[str]:
    """Problems with a route's connector options (shown on the SIM form)."""
    try:
        merged = connector_options(options)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    if not merged.get("url"):
        problems.append("url is required")
    if merged.get("method", "GET").upper() not in ("GET", "POST"):
        problems.append("method must be GET or POST")
    for key in ("success", "id_regex", "permanent"):
        if merged.get(key):
            try:
                re.compile(merged[key])
            except re.error as exc:
                problems.append(f"{key}: not a regular expression ({exc})")
    if not isinstance(merged.get("params", {}), dict):
        problems.append("params must be an object of parameter name → template")
    return problems


class _Values(dict):
    def __missing__(self, key):
        return ""


def render(template: str, values: dict) -> str:
    # Only {name} fields: Kannel's %d/%I pass through untouched.
    return string.Formatter().vformat(str(template), (), _Values(values))


class HttpConnectorBackend(SessionMixin, BaseBackend):
    slug = "http_connector"
    name = "HTTP connector (Kannel, Jasmin, any HTTP API)"
    standalone = False
    webhook_methods = ("GET", "POST")
    required_settings = ("SMS_CONNECTOR_WEBHOOK_SECRET",)
    webhook_secret_setting = "SMS_CONNECTOR_WEBHOOK_SECRET"
    #: Its webhooks carry ?route=<SIM id>: the reports are read with that route's mapping.
    per_route_webhooks = True

    @property
    def config(self) -> dict:
        return connector_options({k: v for k, v in self.options.items() if k in KNOWN})

    def status_callback_url(self, message) -> str:
        url = super().status_callback_url(message)
        route = self.options.get("route")
        return f"{url}&route={route}" if url and route else url

    def publish_message(self, message) -> SendResult:
        config = self.config
        values = {k: v for k, v in self.options.items() if k not in KNOWN and isinstance(v, str)}
        values.update(
            to=message.recipient,
            to_digits=message.recipient.lstrip("+"),
            sender=message.sender,
            text=message.content,
            reference=str(message.reference),
            dlr_url=self.status_callback_url(message),
        )
        url = render(config.get("url", ""), values)
        if not url:
            raise BackendError("HTTP connector: no url configured", permanent=True)
        params = {name: render(template, values) for name, template in config.get("params", {}).items()}
        method = config.get("method", "GET").upper()
        if method == "GET":
            kwargs = {"params": params}
        elif config.get("body") == "json":
            kwargs = {"json": params}
        else:
            kwargs = {"data": params}
        response = call(self.session, method, url, gateway="HTTP connector", **kwargs)
        body = response.text.strip()
        if not (200 <= response.status_code < 300) or not re.search(config.get("success") or ".", body):
            permanent = bool(config.get("permanent") and re.search(config["permanent"], body))
            permanent = permanent or response.status_code in (400, 401, 403, 404)
            raise BackendError(
                f"HTTP connector: HTTP {response.status_code} {body[:200]!r}",
                permanent=permanent,
                code=str(response.status_code),
            )
        return SendResult(message=message, external_id=self._extract_id(config, body) or str(message.reference))

    @staticmethod
    def _extract_id(config: dict, body: str) -> str:
        if config.get("id_regex"):
            match = re.search(config["id_regex"], body)
            if match:
                return match.groupdict().get("id") or (match.group(1) if match.groups() else match.group(0))
        if config.get("id_json"):
            try:
                value = json.loads(body)
                for key in config["id_json"].split("."):
                    value = value[int(key)] if isinstance(value, list) else value[key]
                return str(value)
            except (ValueError, KeyError, IndexError, TypeError):
                return ""
        return ""

    # --- webhooks: the route's own mapping ----------------------------------------------------

    def _route_config(self, request) -> dict:
        from modems.models import SimCard

        route = request.GET.get("route", "")
        sim = SimCard.objects.filter(pk=int(route), backend=self.slug).first() if route.isdigit() else None
        if sim is None:
            raise WebhookBadRequest("unknown route (give ?route=<SIM id> of an HTTP connector route)")
        return connector_options(sim.options)

    def parse_status(self, request) -> list[StatusReport]:
        config = self._route_config(request)
        params = webhook_params(request)
        mapping = config.get("dlr") or {}
        status = (params.get(mapping.get("status", "status")) or "").strip()
        external_id = (params.get(mapping.get("id", "id")) or "").strip() if mapping.get("id") else ""
        reference = (params.get(mapping.get("reference", "ref")) or "").strip() if mapping.get("reference") else ""
        reference = reference or request.GET.get("ref", "")
        if not status or not (external_id or reference):
            raise WebhookBadRequest("a delivery report needs a status and an id or reference")
        state = None
        if status in mapping.get("delivered", []):
            state = State.DELIVERED
        elif status in mapping.get("failed", []):
            state = State.ERROR_UPDATE
        elif status in mapping.get("sent", []):
            state = State.SENT
        error = params.get(mapping["error"], "") if mapping.get("error") else ""
        self.answer = config.get("dlr_answer", "OK")
        report = StatusReport(
            external_id=external_id,
            reference=reference,
            state=state,
            gateway_status=status,
            error_code=error if state == State.ERROR_UPDATE else "",
            raw=params,
        )
        return [report]

    def parse_inbound(self, request) -> list[InboundData]:
        config = self._route_config(request)
        params = webhook_params(request)
        mapping = config.get("mo") or {}
        self.answer = config.get("dlr_answer", "OK")
        sender = params.get(mapping.get("from", "from"), "")
        if not sender:
            raise WebhookBadRequest("an inbound text without a sender")
        return [
            InboundData(
                sender=international(sender),
                recipient=international(params.get(mapping.get("to", "to"), "")),
                content=params.get(mapping.get("text", "text"), ""),
                external_id=params.get(mapping.get("id", "id"), ""),
                raw=params,
            )
        ]

    answer = "OK"

    def webhook_response(self, kind: str):
        from django.http import HttpResponse

        if kind == "retry":
            return HttpResponse("Retry later", status=503, content_type="text/plain")
        # Kannel sends any answer body of an MO back as a text: its preset answers empty.
        return HttpResponse(self.answer, content_type="text/plain")
