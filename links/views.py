"""The one public page of the links app: ``/l/<token>``. No login; it reveals nothing but the
target of a live link (an unknown, expired and revoked token all get the same friendly 404).
"""

import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from links import bots, services

log = logging.getLogger(__name__)


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"  # every opening reaches us, so every opening counts
    response["Referrer-Policy"] = "no-referrer"  # the target never learns the token
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_not_required
@require_safe
def follow(request, token):
    link = services.find(token)
    if link is None:
        return _private(render(request, "links/not_found.html", status=404))
    is_bot = bots.is_bot(request)
    services.record_click(link, user_agent=request.headers.get("User-Agent", ""), is_bot=is_bot)
    if is_bot and link.target_view:
        # A preview fetch must not run the target (it may finish someone's purchase).
        return _private(render(request, "links/preview.html"))
    try:
        return _private(services.hand_over(request, link))
    except services.Gone:
        return _private(render(request, "links/not_found.html", status=404))
    except Exception:
        # The target view of another app failed: the recipient gets a page that says so
        # (not the site's error page), the traceback goes to the log.
        log.exception("Link %s: the target view %r failed", link.pk, link.target_view)
        return _private(render(request, "links/failed.html", status=500))
