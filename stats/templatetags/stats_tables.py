"""``{% load stats_tables %}``: a Stats table's rows as HTML, written in Python.

A year of texts per SIM per day is 365 rows of nine cells: through the template language
(a tag per cell) that took 200 ms to render; here it takes a few. Same markup as before:
a day (or label) heading each row, counts right-aligned, a count linked to its texts, a zero
muted, a missing value as a dash."""

from django import template
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import mark_safe

from stats.tables import Cell, Table

register = template.Library()


def _text(value) -> str:
    """As ``{{ value }}`` shows it; a count (most cells) without the translation machinery."""
    if type(value) is int:
        return str(value)
    return escape(localize(value))


def _days():
    """A day as the template's ``date:"D j M"`` writes it, with the names translated once."""
    weekdays = [str(name) for _, name in sorted(WEEKDAYS_ABBR.items())]
    months = {n: str(name).title() for n, name in MONTHS_3.items()}
    return lambda day: f"{weekdays[day.weekday()]} {day.day} {months[day.month]}"


def _heading(cell, day) -> str:
    text = escape(day(cell)) if hasattr(cell, "year") else _text(cell)
    return f'<th scope="row" class="text-nowrap fw-normal">{text}</th>'


def _cell(cell) -> str:
    if isinstance(cell, Cell) and cell.url:
        if cell.value:
            return f'<td class="text-end"><a href="{escape(cell.url)}">{_text(cell.value)}</a></td>'
        return '<td class="text-end"><span class="text-muted">0</span></td>'
    if cell is None:
        return '<td class="text-end">—</td>'
    return f'<td class="text-end">{_text(cell.value if isinstance(cell, Cell) else cell)}</td>'


@register.simple_tag
def table_rows(table: Table):
    if not table.rows:
        return mark_safe(  # noqa: S308  (a constant and an int)
            f'<tr><td class="text-muted" colspan="{len(table.headers)}">Nothing in this period.</td></tr>'
        )
    day = _days()
    html = "\n".join(
        "<tr>" + _heading(row[0], day) + "".join(_cell(cell) for cell in row[1:]) + "</tr>" for row in table.rows
    )
    return mark_safe(html)  # noqa: S308  (every value escaped above)
