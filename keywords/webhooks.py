"""``/sms/notification/<provider>/``: the broker-shaped endpoint (see ``keywords/broker.py``).

``OK`` (200) when the text was handled, ``ERR`` (503) when the broker should send it again;
403 for a forged call (nothing runs), 400 with the reason for a call we cannot read, 404 for
an unknown or switched-off provider. Never a 500.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from keywords import broker
from keywords.models import BrokerProvider
from sms.backends import WebhookBadRequest, WebhookForbidden
from sms.receiving import store_inbound

logger = logging.getLogger(__name__)


def _text(body: str, status: int = 200, **headers) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain", headers=headers)


@csrf_exempt
@login_not_required
def notification(request, provider: str):
    if request.method not in ("GET", "POST"):
        return _text("ERR: method not allowed", 405, Allow="GET, POST")
    provider = BrokerProvider.objects.filter(slug=provider, is_active=True).first()
    if provider is None:
        return _text("ERR: unknown provider", 404)
    try:
        broker.authenticate(provider, request)
        data = broker.parse(provider, request)
    except WebhookForbidden as exc:
        logger.warning("Refused broker notification for %s: %s", provider.slug, exc)
        return _text(f"ERR: forbidden: {exc}", 403)
    except WebhookBadRequest as exc:
        logger.warning("Bad broker notification for %s: %s", provider.slug, exc)
        return _text(f"ERR: bad request: {exc}", 400)
    message, _ = store_inbound(provider.backend, data)
    if getattr(message, "retry_later", False):
        return _text("ERR", 503, **{"Retry-After": "60"})
    return _text("OK")
