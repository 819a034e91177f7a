"""The shape every Stats table has, so one function writes any of them as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Cell:
    """A value with a link (a count that opens the list of its texts)."""

    value: object
    url: str = ""

    def __str__(self):
        return str(self.value)


@dataclass
class Table:
    slug: str  # the CSV's name and the table's id on the page
    title: str
    headers: Sequence[str]
    rows: list[list] = field(default_factory=list)
    footer: list | None = None  # totals row
    note: str = ""

    def values(self) -> Iterator[list]:
        yield list(self.headers)
        for row in self.rows:
            yield [cell.value if isinstance(cell, Cell) else cell for cell in row]
        if self.footer:
            yield [cell.value if isinstance(cell, Cell) else cell for cell in self.footer]


def neutralise(value) -> str:
    """A cell as text, with a leading ``'`` where a spreadsheet would run it as a formula.
    Numbers are left alone (a negative count is data, not a formula)."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in table.values():
        writer.writerow([neutralise(value) for value in row])
    return buffer.getvalue()


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
