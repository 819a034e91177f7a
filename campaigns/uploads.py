"""Reading an uploaded contact file as people really save them: CSV from Excel on any platform
(CR-only "CSV (Macintosh)", CRLF, BOMs, Windows-1252, semicolons), XLSX, or JSON like the data
source. Anything unreadable is a ``SourceError`` with a sentence a person can act on, never a
crash. When the first row looks like a header whose names we do not know, ``NeedsMapping``
carries the columns so staff can say which is the number and which the name.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field

from campaigns.fanout import BadRow, SourceRow
from campaigns.sources import SourceError, parse_payload

# Header names staff's files use, normalised (lower case, letters and digits only).
NUMBER_HEADERS = {
    "number", "phone", "phonenumber", "phoneno", "telephone", "telephonenumber", "tel", "telno", "mobile",
    "mobilenumber", "mobilephone", "mobileno", "msisdn", "cell", "cellphone", "cellnumber", "gsm", "contactnumber",
    "sms", "smsnumber", "telefon", "telefono", "numero",
}  # fmt: skip
NAME_HEADERS = {"name", "fullname", "contactname", "customername", "customer", "displayname", "nom", "nombre"}
FIRST_NAME_HEADERS = {"firstname", "givenname", "forename", "first", "prenom"}
LAST_NAME_HEADERS = {"lastname", "surname", "familyname", "last"}
GROUP_HEADERS = {"group", "focusgroup", "segment", "template", "list"}

ROLES = [("number", "Number"), ("name", "Name"), ("first_name", "First name"), ("last_name", "Last name"),
         ("group", "Group"), ("extra", "Extra field"), ("ignore", "Ignore")]  # fmt: skip

MAX_ROWS = 200_000


@dataclass
class NeedsMapping(Exception):
    """The first row looks like a header we do not recognise: staff map the columns."""

    header: list[str]
    sample: list[list[str]] = field(default_factory=list)
    guess: list[str] = field(default_factory=list)

    def __str__(self):
        return f"The first row looks like a header ({', '.join(self.header)}) but no column is a phone number"


def normalise_header(cell: str) -> str:
    return re.sub(r"[^a-z0-9]", "", cell.strip().lower())


def role_of(cell: str) -> str | None:
    h = normalise_header(cell)
    for role, names in (
        ("number", NUMBER_HEADERS),
        ("name", NAME_HEADERS),
        ("first_name", FIRST_NAME_HEADERS),
        ("last_name", LAST_NAME_HEADERS),
        ("group", GROUP_HEADERS),
    ):
        if h in names:
            return role
    return None


# --- Bytes to a grid of cells --------------------------------------------------------------


def decode(content: bytes) -> str:
    """Text of a CSV/JSON file: BOM first, then UTF-8, then Windows-1252 (Excel's "CSV" on
    Windows), then Latin-1. Binary files are refused."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if content.startswith(bom):
            try:
                return content.decode(codec)
            except UnicodeDecodeError:
                raise SourceError("The file starts like Unicode text but is not readable as such.") from None
    if b"\x00" in content[:4096] or _looks_binary(content[:4096]):
        raise SourceError(
            "This file is not a CSV, XLSX or JSON file (it looks like a binary file). "
            "Save it from your spreadsheet as CSV or Excel workbook (.xlsx) and upload that."
        )
    for codec in ("utf-8", "cp1252"):
        try:
            return content.decode(codec)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _looks_binary(head: bytes) -> bool:
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return bool(head) and controls / len(head) > 0.05


def csv_grid(text: str) -> list[list[str]]:
    """Rows of cells of CSV text in whatever dialect it is (delimiter sniffed)."""
    text = text.lstrip("\ufeff")
    # Excel for Mac writes CR-only line ends, which the csv module refuses outside quotes.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sample = "\n".join(text.split("\n")[:50])
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # one column, or nothing to tell from
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise SourceError(f"This CSV file cannot be read ({exc}). Save it again as CSV UTF-8 and retry.") from None


def xlsx_grid(content: bytes) -> list[list[str]]:
    """Rows of cells of the first worksheet of an Excel workbook."""
    import openpyxl  # only uploads need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        kind = exc.__class__.__name__
        raise SourceError(f"This Excel file cannot be read ({kind}). Save it again as .xlsx.") from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append([_cell(value) for value in row])
            if len(rows) > MAX_ROWS:
                break
        return rows
    finally:
        workbook.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed into a cell: 447400300001.0 -> 447400300001
    return str(value).strip()


# --- A grid to rows ------------------------------------------------------------------------


def _looks_like_number(cell: str) -> bool:
    return len(re.sub(r"\D", "", cell)) >= 6 and not re.search(r"[A-Za-z]{2,}", cell)


def detect_roles(grid: list[list[str]]) -> tuple[list[str] | None, bool]:
    """(roles of the columns, whether the first row is a header). Roles is None when the first
    row looks like a header but none of its names is a number column."""
    first = grid[0]
    roles = [role_of(cell) for cell in first]
    if "number" in roles:
        return [r or "extra" for r in roles], True
    data = grid[1:21]
    first_has_number = any(_looks_like_number(c) for c in first)
    others_have_number = any(any(_looks_like_number(c) for c in row) for row in data)
    if not first_has_number and (others_have_number or any(r for r in roles)):
        return None, True
    width = max(len(row) for row in grid)
    return ["number", "name"][:width] + ["extra"] * (width - 2), False


def guess_roles(grid: list[list[str]]) -> list[str]:
    """A starting point for the mapping form: the first column full of numbers is the number."""
    header = grid[0]
    guess = [role_of(cell) or "extra" for cell in header]
    for index in range(len(header)):
        column = [row[index] for row in grid[1:21] if index < len(row) and row[index]]
        if column and sum(_looks_like_number(c) for c in column) >= len(column) / 2:
            guess[index] = "number"
            break
    else:
        return guess
    if "name" not in guess:
        for index, role in enumerate(guess):
            if role == "extra":
                guess[index] = "name"
                break
    return guess


def rows_from_grid(
    grid: list[list[str]], *, roles: list[str], has_header: bool, default_group: str = ""
) -> tuple[list[SourceRow], list[BadRow]]:
    if roles.count("number") != 1:
        raise SourceError("Choose exactly one column as the number.")
    header = grid[0] if has_header else [f"field{i + 1}" for i in range(len(roles))]
    extra_names = [normalise_header(h) or f"field{i + 1}" for i, h in enumerate(header)]
    rows, bad = [], []
    for line in grid[1:] if has_header else grid:
        if not any(cell.strip() for cell in line):
            continue
        values: dict[str, str] = {}
        extra = {}
        for index, role in enumerate(roles):
            cell = line[index].strip() if index < len(line) else ""
            if role == "extra":
                extra[extra_names[index]] = cell
            elif role != "ignore":
                values[role] = cell
        name = values.get("name") or " ".join(v for v in (values.get("first_name"), values.get("last_name")) if v)
        group = values.get("group") or default_group
        raw = ",".join(line)[:50]
        if not group:
            bad.append(BadRow("", raw, "no group column and no template chosen"))
        elif not values.get("number"):
            bad.append(BadRow(group, raw, "no number"))
        else:
            rows.append(SourceRow(group=group, number=values["number"], name=name, extra=extra))
    return rows, bad


@dataclass
class Upload:
    """A readable upload: its cells, and what we think the columns are."""

    grid: list[list[str]]
    roles: list[str] | None
    has_header: bool
    json_data: object = None


def read(content: bytes, filename: str) -> Upload:
    """Read an uploaded file into an ``Upload`` or raise ``SourceError``."""
    name = filename.lower()
    if not content.strip():
        raise SourceError("The file is empty.")
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise SourceError("This is an old Excel .xls file: save it as Excel workbook (.xlsx) or CSV and upload that.")
    if content.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        grid = xlsx_grid(content)
    else:
        text = decode(content)
        if name.endswith(".json") or text.lstrip()[:1] in ("{", "["):
            try:
                return Upload(grid=[], roles=None, has_header=False, json_data=json.loads(text))
            except ValueError as exc:
                raise SourceError(f"The file is not valid JSON: {exc}") from None
        grid = csv_grid(text)
    grid = [row for row in grid if any(cell for cell in row)]
    if not grid:
        raise SourceError("The file has no rows.")
    roles, has_header = detect_roles(grid)
    return Upload(grid=grid, roles=roles, has_header=has_header)


def parse_upload(
    content: bytes, filename: str, *, default_group: str = "", roles: list[str] | None = None
) -> tuple[list[SourceRow], list[BadRow]]:
    """Rows and unreadable rows of an uploaded file. ``roles`` (one per column, from the
    mapping form) overrides the header detection. Raises SourceError or NeedsMapping."""
    upload = read(content, filename)
    if upload.json_data is not None:
        return parse_payload(upload.json_data, default_group=default_group)
    if roles is not None:
        width = max(len(row) for row in upload.grid)
        roles = (list(roles) + ["ignore"] * width)[:width]
        return rows_from_grid(upload.grid, roles=roles, has_header=True, default_group=default_group)
    if upload.roles is None:
        raise NeedsMapping(header=upload.grid[0], sample=upload.grid[1:6], guess=guess_roles(upload.grid))
    return rows_from_grid(upload.grid, roles=upload.roles, has_header=upload.has_header, default_group=default_group)


# --- Keeping a file between the upload and the mapping form --------------------------------


def _stash_name(token: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{32}", token or ""):
        raise SourceError("The uploaded file has expired; upload it again.")
    return f"uploads/pending/{token}.bin"


def stash(content: bytes) -> str:
    """Keep an upload until staff have mapped its columns; returns its token."""
    import uuid

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    token = uuid.uuid4().hex
    default_storage.save(_stash_name(token), ContentFile(content))
    return token


def unstash(token: str) -> bytes:
    from django.core.files.storage import default_storage

    name = _stash_name(token)
    if not default_storage.exists(name):
        raise SourceError("The uploaded file has expired; upload it again.")
    with default_storage.open(name, "rb") as f:
        return f.read()


def discard(token: str) -> None:
    from django.core.files.storage import default_storage

    default_storage.delete(_stash_name(token))
