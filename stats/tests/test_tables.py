"""CSV of a Stats table: what a spreadsheet would run as a formula is written as text."""

import csv
import io
from decimal import Decimal

from stats.tables import Cell, Table, neutralise, to_csv


def test_cells_a_spreadsheet_would_run_get_a_leading_quote():
    for dangerous in ("=1+1", "+44 7911", "-2+3", "@SUM(A1)", "\tTab", "\rCR", '=HYPERLINK("http://x")'):
        assert neutralise(dangerous) == "'" + dangerous
    assert neutralise("Absent subscriber") == "Absent subscriber"
    assert neutralise(-3) == "-3" and neutralise(Decimal("-0.50")) == "-0.50"  # numbers are data
    assert neutralise(None) == ""


def test_to_csv_writes_headers_rows_links_as_values_and_the_footer():
    table = Table("t", "T", ["Route", "Texts"], rows=[["=cmd|' /C calc'!A0", Cell(3, "/sms/outbound/?sim=1")]])
    table.footer = ["Total", 3]
    rows = list(csv.reader(io.StringIO(to_csv(table))))
    assert rows == [["Route", "Texts"], ["'=cmd|' /C calc'!A0", "3"], ["Total", "3"]]
