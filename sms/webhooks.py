"""Gateway webhooks: ``/sms/inbound/<backend>/`` and ``/sms/status/<backend>/``.

Live for every backend whose credentials are configured, whichever backend sends by default.
Wrong or missing credentials → 403; a body we cannot read → 400 with the reason; never a 500:
a gateway that gets a 500 retries for hours.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from sms.backends import WebhookBadRequest, WebhookForbidden, get_backend
from sms.receiving import apply_status_report, store_inbound

logger = logging.getLogger(__name__)


def _backend_for(request, slug: str):
    if slug not in settings.SMS_BACKENDS:
        raise Http404("Unknown backend")
    try:
        backend = get_backend(slug)
    except ImproperlyConfigured:
        raise Http404("Backend not available") from None
    if not backend.is_configured():
        raise Http404("This backend's webhooks are not configured")
    if request.method not in backend.webhook_methods:
        return backend, HttpResponse(
            f"Method {request.method} not allowed", status=405, headers={"Allow": ", ".join(backend.webhook_methods)}
        )
    return backend, None


def _handle(request, slug: str, kind: str) -> HttpResponse:
    backend, refusal = _backend_for(request, slug)
    if refusal:
        return refusal
    try:
        backend.authenticate_webhook(request)
        if kind == "inbound":
            received = backend.parse_inbound(request)
            if any(not (data.sender or "").strip() for data in received):
                raise WebhookBadRequest("an inbound text without a sender number")
            retry = False
            for data in received:
                message, _ = store_inbound(backend.slug, data)
                retry = retry or message.retry_later
            if retry:  # a step (a keyword handler) asked for the text again: the gateway retries
                return backend.webhook_response("retry")
        else:
            for report in backend.parse_status(request):
                apply_status_report(backend.slug, report)
    except WebhookForbidden as exc:
        logger.warning("Refused %s webhook for %s: %s", kind, slug, exc)
        return HttpResponseForbidden(f"Forbidden: {exc}", content_type="text/plain")
    except WebhookBadRequest as exc:
        logger.warning("Bad %s webhook for %s: %s", kind, slug, exc)
        return HttpResponseBadRequest(f"Bad request: {exc}", content_type="text/plain")
    except (
        ValueError,
        KeyError,
        TypeError,
        UnicodeError,
        MultiPartParserError,
    ) as exc:  # a parser met a shape it did not expect
        logger.warning("Unreadable %s webhook for %s: %r", kind, slug, exc)
        return HttpResponseBadRequest(
            f"Bad request: unreadable payload ({exc.__class__.__name__})", content_type="text/plain"
        )
    return backend.webhook_response(kind)


@csrf_exempt
@login_not_required
def inbound(request, backend: str):
    return _handle(request, backend, "inbound")


@csrf_exempt
@login_not_required
def status(request, backend: str):
    return _handle(request, backend, "status")
