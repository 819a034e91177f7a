"""A sample keyword handler and link target (the demo's ABC keyword; a model for other apps).

``book_reward`` is what a handler of another app looks like: business logic in the text's
transaction, a text queued through ``sms.api``, a ``Result`` back. ``purchase`` is the view a
personal link hands over to (see the links app): it gets the request and the link.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.html import escape

from keywords.handlers import Result
from sms.api import send

#: Codes the demo shop knows; any other argument is answered with the list.
CODES = {"UNICORN": "a unicorn sticker", "DRAGON": "a dragon poster"}


def book_reward(message, argument: str) -> Result:
    prize = CODES.get(argument.upper())
    if prize is None:
        send(message.sender, f"Unknown code. Text ABC.{' or ABC.'.join(CODES)}", tag="demo-reward")
    else:
        send(message.sender, f"Thanks! {prize.capitalize()} is yours.", tag="demo-reward")
    return Result.HANDLED


def purchase(request, link) -> HttpResponse:
    """Where the demo's personal link lands (the links app calls it with the request and the
    link: ``link.recipient`` is the number, ``link.message`` the text that carried it)."""
    masked = escape(link.recipient[:-4] + "****")
    return HttpResponse(
        f"<!doctype html><meta name='viewport' content='width=device-width'><h1>Finish your purchase</h1>"
        f"<p>Your prize is reserved for {masked}.</p>"
    )
