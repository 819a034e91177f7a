"""Reading a keyword out of a text: ``JOIN``, ``ABC.UNICORN``, ``abc unicorn``, ``ABC:X``, ``ABC#X``.

Two shapes, checked in this order by the router:

- the standard words (STOP, START, HELP and their synonyms) match only when the word is the
  *whole* text once case, spaces, punctuation and emoji are ignored ("Stop!", "opt-out",
  "stop all"), so "don't stop" or "stop by tomorrow" are left to the classifier and to staff;
- a configured keyword is the *prefix* of the text: letters and digits up to the first
  separator (``.``, a space, ``:`` or ``#``); the rest, stripped, is the argument.
  Punctuation around the text is ignored ("Join!" is JOIN with no argument).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Separators between a keyword and its argument.
SEPARATORS = ".:# \t\r\n"
MAX_WORD_LENGTH = 20

# Leading characters that are neither letters nor digits, the word, then either the end (with
# any trailing punctuation) or a separator and the argument.
_PREFIX = re.compile(r"^[\W_]*?([^\W_]+)(?:[\W_]*$|[.:#\s]+(.*)$)", re.DOTALL)


def normalise(text: str) -> str:
    """Upper-case letters and digits only: "Opt-out!! 🙏" -> "OPTOUT"."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def words(names) -> frozenset[str]:
    """The normalised forms of a list of words, empty ones dropped."""
    return frozenset(word for word in (normalise(name) for name in names) if word)


def split_words(text: str) -> list[str]:
    """Words typed in a form: separated by commas, spaces or new lines."""
    return [part for part in re.split(r"[,\s]+", text or "") if part]


@dataclass(frozen=True)
class Parsed:
    word: str  # upper case, letters and digits only
    argument: str  # the rest of the text, stripped ("" when none)


def parse(text: str) -> Parsed | None:
    """The keyword-shaped prefix of ``text`` and its argument, or None (no letters at the start,
    or the word runs into something that is not a separator, as in "don't")."""
    match = _PREFIX.match((text or "").strip())
    if match is None:
        return None
    word = match.group(1).upper()
    if len(word) > MAX_WORD_LENGTH:
        return None
    return Parsed(word=word, argument=(match.group(2) or "").strip())


def whole_word(text: str) -> str:
    """The whole text as one word, for the standard words ("" when too long to be one)."""
    word = normalise(text)
    return word if len(word) <= MAX_WORD_LENGTH else ""
