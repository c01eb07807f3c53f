"""Rows to CSV and XLSX bytes and back, shaped for Excel and WPS. Bytes in, bytes out: no Flask."""
import csv
import io
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from itertools import islice

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A spreadsheet opening a cell that starts with one of these may run it as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_COLUMNS = 60
DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s+0{1,2}:00(?::00)?)?$")


class Unreadable(Exception):
    """Not a CSV or XLSX file this module can read."""


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a BOM and CRLF line ends: Excel and WPS then open Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_csv_value(value) for value in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else value


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence], title: str = "Sheet1") -> bytes:
    """One sheet with a bold, frozen, filterable header row and columns as wide as their text."""
    rows = [list(row) for row in rows]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    for index, width in enumerate(column_widths(header, rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{len(rows) + 1}"
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, text, font=bold) for text in header])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_cell(sheet, value, font=None) -> WriteOnlyCell:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text that starts with "=" stays text, never a formula
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"  # a real date: Excel sorts and filters it
    if font is not None:
        cell.font = font
    return cell


def display_width(value) -> int:
    """Columns a value takes on screen: CJK characters are twice as wide as Latin ones."""
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_widths(header: Sequence[str], rows: list[list], sample: int = 500) -> list[float]:
    widths = [display_width(text) for text in header]
    for row in rows[:sample]:
        for index, value in enumerate(row[:len(widths)]):
            widths[index] = max(widths[index], display_width(value))
    return [min(max(width + 2, 8), 60) for width in widths]


def read_rows(data: bytes, filename: str, max_rows: int) -> list[tuple[int, list]]:
    """The non-empty rows of a CSV, or of an XLSX file's first sheet, numbered as in the sheet.

    Text is stripped; empty cells are "". XLSX cells keep their types (numbers, datetimes).
    Raises Unreadable for another format, a damaged file, or more than max_rows rows.
    """
    name = filename.lower()
    # Sheets formatted down to row 1,048,576 hold many empty rows; don't read them all.
    limit = max_rows * 10 + 100
    if name.endswith(".csv"):
        raw = _csv_rows(data, limit)
    elif name.endswith(".xlsx"):
        raw = _xlsx_rows(data, limit)
    else:
        raise Unreadable("format")
    rows = []
    for number, values in enumerate(raw, start=1):
        values = [_clean(value) for value in list(values)[:MAX_COLUMNS]]
        while values and values[-1] == "":
            values.pop()
        if values:
            rows.append((number, values))
    if len(rows) > max_rows or len(raw) >= limit:
        raise Unreadable("too_many_rows")
    return rows


def _clean(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return value


def _csv_rows(data: bytes, limit: int) -> list[list]:
    # Excel on a Chinese Windows saves "CSV" in GB18030 (GBK) unless told UTF-8.
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as error:
            raise Unreadable("encoding") from error
    if "\x00" in text:
        raise Unreadable("format")
    try:
        return list(islice(csv.reader(io.StringIO(text, newline="")), limit))
    except csv.Error as error:
        raise Unreadable("format") from error


def _xlsx_rows(data: bytes, limit: int) -> list[tuple]:
    # openpyxl warns about parts it does not keep (data validation, unknown extensions,
    # missing default styles); none of them matter for reading values.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                return list(islice(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), limit))
            finally:
                workbook.close()
        except Exception as error:  # a damaged zip or XML surfaces as many exception types
            raise Unreadable("format") from error


def as_dicts(rows: list[tuple[int, list]], is_header: Callable[[list], bool],
             look: int = 10) -> tuple[list[str], list[tuple[int, dict]]] | None:
    """Rows keyed by the header row: the first of the first `look` rows that is_header accepts.

    Rows above it (a title such as "设备台账") are skipped. None when no header is found.
    """
    for index, (_, values) in enumerate(rows[:look]):
        if is_header(values):
            header = [cell_text(value) for value in values]
            # A name used twice counts once: its first column wins.
            first = {}
            for i, name in enumerate(header):
                if name:
                    first.setdefault(name, i)
            body = [(number, {name: (row[i] if i < len(row) else "") for name, i in first.items()})
                    for number, row in rows[index + 1:]]
            return header, body
    return None


def cell_date(value) -> date | None:
    """A date cell, or text like 2019-06-18, 2019/6/18 or 2019年6月18日; ValueError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    if not text:
        return None
    match = DATE.match(text)
    if not match:
        raise ValueError(text)
    return date(*(int(part) for part in match.groups()))


def cell_text(value) -> str:
    """A cell as text: a number Excel stored for a code or serial reads as its digits."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.15g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M" if value.time() != datetime.min.time()
                              else "%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value).strip()
