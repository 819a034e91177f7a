"""Target views the tests hand links over to (what another app of ours would write)."""

from django.http import HttpResponse
from django.utils.html import escape

calls: list[tuple[str, int]] = []


def thank_you(request, link):
    calls.append((link.recipient, link.message.pk))
    return HttpResponse(
        f"<!doctype html><title>Thanks</title><h1 id='landed'>Thanks, {escape(link.recipient)}</h1>"
        f"<p id='message'>{link.message.pk}</p>"
    )


def broken(request, link):
    raise RuntimeError("the target view failed")


not_callable = 42
