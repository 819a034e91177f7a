"""The deterministic keyword check, run on every incoming text before any model.

A text is a keyword only when the keyword is the whole text once case, spaces, punctuation and
emoji are ignored ("Stop!", " STOP. ", "opt-out", "stop all"), so "don't stop" or "stop by
tomorrow" are left to the classifier and to staff.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings


class Keyword(StrEnum):
    STOP = "stop"  # withdraws consent: opt out at once
    START = "start"  # gives consent again: opt back in, the text is the evidence
    HELP = "help"  # asks what this is: the configured help reply


def normalise(text: str) -> str:
    """Upper-case letters and digits only: "Opt-out!! 🙏" -> "OPTOUT"."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _words(names: list[str]) -> set[str]:
    return {normalise(name) for name in names if normalise(name)}


def match(text: str) -> Keyword | None:
    """The keyword ``text`` consists of, or None."""
    word = normalise(text or "")
    if not word or len(word) > 20:
        return None
    if word in _words(settings.REPLIES_OPT_OUT_KEYWORDS):
        return Keyword.STOP
    if word in _words(settings.REPLIES_OPT_IN_KEYWORDS):
        return Keyword.START
    if word in _words(settings.REPLIES_HELP_KEYWORDS):
        return Keyword.HELP
    return None
