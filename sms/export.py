"""Exports: every list as CSV (streamed) or XLSX, from the browser or ``manage.py export``.

An app describes what it exports with ``Export`` (columns as ``values_list`` paths, the
queryset, the list's own FilterSet) and registers it in its ``AppConfig.ready``; the core knows
the shape, not the apps (like ``admin.site.register``). The browser's export links carry the
list's query string, so the file holds what the page shows, all pages of it.

Large exports stream: rows are read with ``QuerySet.iterator()`` (a server-side cursor on
PostgreSQL) and written as they come, so a million rows start at once and stay in a few MB.
Cells that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a CR) get
a leading ``'``; a number in E.164 (``+447911123456``) is left as it is: it cannot run anything.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils import timezone

#: Excel's row limit (one header row fewer).
XLSX_MAX_ROWS = 1_048_575
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"^\+\d{1,20}$")


@dataclass
class Column:
    header: str
    path: str  # a values_list() path: "recipient", "campaign__name"
    #: Turns the stored value into what the file shows (a state's label, say).
    display: Callable[[Any], Any] | None = None


@dataclass
class Export:
    slug: str
    title: str
    columns: list[Column]
    #: The rows: called with the URL's keyword arguments (a campaign's pk, say).
    queryset: Callable[..., QuerySet]
    #: The list page's FilterSet, so the export holds what the filtered list shows.
    filterset: type | None = None
    ordering: tuple[str, ...] = ("pk",)
    kwargs: dict = field(default_factory=dict)

    def rows(self, params: dict | None = None, **kwargs) -> QuerySet:
        queryset = self.queryset(**kwargs)
        if self.filterset is not None:
            filterset = self.filterset(params or None, queryset=queryset)
            if filterset.is_bound and not filterset.is_valid():
                raise ExportError("; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items()))
            queryset = filterset.qs
        return queryset.order_by(*self.ordering)

    def values(self, params: dict | None = None, **kwargs) -> Iterator[list]:
        """The header, then one list of cells per row (already made safe for spreadsheets).

        The filters are checked here, before the first row is asked for: a bad filter is an
        ``ExportError`` now, not a broken download later."""
        return self._values(self.rows(params, **kwargs))

    def _values(self, queryset: QuerySet) -> Iterator[list]:
        yield [column.header for column in self.columns]
        paths = [column.path for column in self.columns]
        displays = [column.display for column in self.columns]
        tz = timezone.get_current_timezone()  # once: asking per cell costs more than the rest
        for row in queryset.values_list(*paths).iterator(chunk_size=2000):
            yield [cell(display(value) if display else value, tz) for value, display in zip(row, displays, strict=True)]


class ExportError(ValueError):
    """Filters an export cannot apply (a malformed date in the URL, say)."""


REGISTRY: dict[str, Export] = {}


def register(export: Export) -> Export:
    REGISTRY[export.slug] = export
    return export


def get(slug: str) -> Export:
    try:
        return REGISTRY[slug]
    except KeyError:
        raise Http404(f"No export named {slug!r}") from None


def cell(value: Any, tz=None) -> Any:
    """A value as a file cell: local times, blanks for None, formulas neutralised."""
    if isinstance(value, str):
        if value.startswith(_FORMULA_START) and not _E164.match(value):
            return "'" + value
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz or timezone.get_current_timezone()).replace(tzinfo=None)
        return value.isoformat(" ", "seconds")
    if isinstance(value, date):
        return value.isoformat()
    return cell(str(value))


def csv_lines(rows: Iterable[list], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text in chunks of a few hundred rows (one chunk per row costs more in the
    response machinery than the writing itself); the header comes alone, at once."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"  # a BOM: Excel then reads the file as UTF-8 (names with accents, emoji)
    for number, row in enumerate(rows):
        writer.writerow(row)
        if number % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def filename(export: Export, extension: str) -> str:
    return f"{export.slug}-{timezone.localtime():%Y%m%d-%H%M}.{extension}"


def response(export: Export, params, *, fmt: str = "csv", **kwargs):
    """The HTTP answer: CSV streamed as the rows are read, or an XLSX file."""
    if fmt == "xlsx":
        handle = write_xlsx(export.values(params, **kwargs))
        return FileResponse(handle, as_attachment=True, filename=filename(export, "xlsx"))
    answer = StreamingHttpResponse(csv_lines(export.values(params, **kwargs)), content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = f'attachment; filename="{filename(export, "csv")}"'
    return answer


def write_xlsx(rows: Iterable[list], *, progress=None):
    """An XLSX file (openpyxl's write-only mode: rows go to disk as they come) in a temporary
    file, returned open at its start. Stops at Excel's row limit, saying so in a last row."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for number, row in enumerate(rows):
        if number > XLSX_MAX_ROWS:
            sheet.append([f"Stopped at Excel's limit of {XLSX_MAX_ROWS:,} rows: export as CSV for the rest"])
            break
        sheet.append(row)
        if progress and number and number % 10_000 == 0:
            progress(number)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the response, which closes it)
    book.save(handle)
    handle.seek(0)
    return handle


def write_file(export: Export, path: str, params: dict | None = None, *, fmt: str = "csv", progress=None, **kwargs):
    """Write an export to ``path`` (``manage.py export``). Returns the number of data rows."""
    rows = export.values(params, **kwargs)
    count = 0

    def counted():
        nonlocal count
        for number, row in enumerate(rows):
            yield row
            count = number
            if progress and number and number % 10_000 == 0:
                progress(number)

    if fmt == "xlsx":
        import shutil

        with open(path, "wb") as out, write_xlsx(counted()) as handle:
            shutil.copyfileobj(handle, out)
        return count
    with open(path, "w", newline="", encoding="utf-8") as out:
        for line in csv_lines(counted()):
            out.write(line)
    return count


def choices_label(choices) -> Callable[[Any], Any]:
    labels = dict(choices)
    return lambda value: labels.get(value, value)
