"""Searching names as people type them: without accents and case ("Zoe" finds Zoë,
"wisniewski" finds Wiśniewski). The same folding fills ``Contact.search_name`` when a contact
is saved and the search term when staff search, so it works alike on SQLite and PostgreSQL
(no database extension or collation needed) and can use a plain index."""

from __future__ import annotations

from unidecode import unidecode


def fold(text: str) -> str:
    """ASCII, case-folded, single-spaced: "  Zoë  Dupré" -> "zoe dupre"."""
    return " ".join(unidecode(text or "").casefold().split())
