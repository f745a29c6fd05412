"""Reading contractors' service-date files: pure functions, no ORM.

The contractor import (backend wizard today, portal page later) goes through
these steps, each a plain function tested without a database:

1. ``read_rows``: bytes + file name -> a ``ParsedFile`` (the cells of every
   non-empty row with its line number), within ``ReadLimits`` (size, rows,
   columns, cells, an XLSX's unpacked size) checked while reading. CSV in any common delimiter and
   encoding, XLS through xlrd, XLSX through openpyxl. The CSV strategy mirrors
   ``base_import.models.base_import._read_csv`` (BOM map, chardet, a separator
   is the one that gives every row the same width) and extends it to what
   contractors send: ragged rows, UTF-16 without BOM, Windows-1252.
2. ``match_columns``: the header row -> {canonical column: index}, through
   the aliases ("Ref", "UPRN", "Date of inspection") or a mapping remembered
   for the contractor.
3. ``detect_date_order`` over the whole date column: day-first, month-first,
   no question needed, or ambiguous (the user is asked).
4. ``extract_records``: one ``ImportRecord`` per row, with the row's own
   errors (no reference, unreadable date) and warnings (a phone number that
   does not normalise: the row is kept, the value flagged).
5. ``merge_duplicates`` (decision matrix row 11).
6. ``rejected_rows_csv``: the rows to send back, with spreadsheet formulas
   neutralised.

Errors that concern the whole file are ``ImportFileError`` subclasses with a
``code`` and ``params``: the model layer turns them into translated messages.
"""

import codecs
import csv
import datetime
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

import chardet

DEFAULT_MAX_FILE_SIZE = 20 * 1024 * 1024
# What a contractor's file may hold, whatever its size on disk: beyond these a
# file would not be read within a request's time and memory limits.
DEFAULT_MAX_ROWS = 100_000
DEFAULT_MAX_COLUMNS = 200
DEFAULT_MAX_CELLS = 2_000_000
# An XLSX is a zip: its members may hold at most this many times the file-size
# limit once uncompressed (a "zip bomb" holds thousands of times more).
XLSX_MAX_EXPANSION = 10

# Canonical columns of a contractor file.
COL_REFERENCE = "reference"
COL_SERVICE_DATE = "service_date"
COL_PHONE = "phone"
COL_NOTE = "note"
COLUMNS = (COL_REFERENCE, COL_SERVICE_DATE, COL_PHONE, COL_NOTE)

HEADER_ALIASES = {
    COL_REFERENCE: (
        "reference",
        "ref",
        "property id",
        "property ref",
        "property reference",
        "property",
        "uprn",
        "account reference",
        "account ref",
        "site id",
        "site ref",
        "site reference",
        "external id",
        "id",
    ),
    COL_SERVICE_DATE: (
        "service date",
        "last service",
        "last service date",
        "last serviced",
        "date of service",
        "date serviced",
        "serviced on",
        "date of inspection",
        "inspection date",
        "last inspection",
        "completion date",
        "date completed",
        "completed on",
        "visit date",
        "date",
    ),
    COL_PHONE: (
        "phone",
        "phone number",
        "telephone",
        "tel",
        "mobile",
        "mobile number",
        "contact number",
        "contact phone",
    ),
    COL_NOTE: ("note", "notes", "comment", "comments", "remark", "remarks", "contractor note"),
}

DATE_ORDER_DMY = "dmy"
DATE_ORDER_MDY = "mdy"
# No value depends on the order (ISO dates, serials, 05/05/2024 ...).
DATE_ORDER_NONE = "none"
# Some values depend on the order and none tells which it is.
DATE_ORDER_AMBIGUOUS = "ambiguous"
# Some values only read day-first, others only month-first.
DATE_ORDER_MIXED = "mixed"

# Row error codes (translated by the model layer).
ROW_MISSING_REFERENCE = "missing_reference"
ROW_MISSING_DATE = "missing_date"
ROW_INVALID_DATE = "invalid_date"
ROW_DUPLICATE_CONFLICT = "duplicate"
ROW_DUPLICATE_MERGED = "duplicate_merged"
# Row warning codes: the row is imported, the value is flagged.
WARN_INVALID_PHONE = "phone_invalid"

BOM_MAP = (
    # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
CSV_SEPARATORS = (",", ";", "\t", "|")
# Magic numbers of files people upload by mistake.
NOT_SPREADSHEET_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"%PDF",
    b"\x1f\x8b",  # gzip
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x7fELF",
)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# -- errors ---------------------------------------------------------------------


class ImportFileError(Exception):
    """The whole file is refused; nothing is changed.

    ``code`` identifies the case for the model layer, which shows a translated
    message built from ``params``.
    """

    code = "unreadable"
    default_message = "The file cannot be read."

    def __init__(self, **params):
        self.params = params
        super().__init__(self.default_message.format(**params) if params else self.default_message)


class UnreadableFileError(ImportFileError):
    code = "unreadable"
    default_message = "The file cannot be read ({detail})."

    def __init__(self, detail="", **params):
        super().__init__(detail=detail, **params)


class EmptyFileError(ImportFileError):
    code = "empty"
    default_message = "The file has no rows."


class NoReferenceColumnError(ImportFileError):
    code = "no_reference_column"
    default_message = "No property reference column among: {headers}."


class NoDateColumnError(ImportFileError):
    code = "no_date_column"
    default_message = "No service date column among: {headers}."


class FileTooLargeError(ImportFileError):
    code = "too_large"
    default_message = "The file is {size} bytes, over the limit of {limit} bytes."


class TooManyRowsError(ImportFileError):
    code = "too_many_rows"
    default_message = "The file has more than {limit} rows."


class TooManyColumnsError(ImportFileError):
    code = "too_many_columns"
    default_message = "The file has {columns} columns, over the limit of {limit}."


class TooManyCellsError(ImportFileError):
    code = "too_many_cells"
    default_message = "The file has more than {limit} cells."


class UncompressedTooLargeError(ImportFileError):
    code = "uncompressed_too_large"
    default_message = "The spreadsheet unpacks to {size} bytes, over the limit of {limit} bytes."


class NotASpreadsheetError(ImportFileError):
    code = "not_spreadsheet"
    default_message = "The file is not a spreadsheet (CSV, XLS or XLSX)."


class DateParseError(ValueError):
    """A cell that does not read as a date."""


# -- reading ----------------------------------------------------------------------


@dataclass
class ParsedFile:
    """Non-empty rows of the first sheet, each with its 1-based line number.

    Cells are strings (CSV), or for spreadsheets also ``datetime.date`` /
    ``datetime.datetime`` (date cells) and ``float`` / ``int`` (numbers, which
    may be Excel serial dates). ``rows[0]`` is usually the header row.
    """

    rows: list
    line_numbers: list
    file_type: str
    encoding: str = ""
    separator: str = ""
    # Excel date system: 0 = 1900 (Windows), 1 = 1904 (old Mac).
    datemode: int = 0


@dataclass(frozen=True)
class ReadLimits:
    """How much a file may hold: its size in bytes, and once read its rows
    (lines, empty ones included), columns and cells."""

    max_size: int = DEFAULT_MAX_FILE_SIZE
    max_rows: int = DEFAULT_MAX_ROWS
    max_columns: int = DEFAULT_MAX_COLUMNS
    max_cells: int = DEFAULT_MAX_CELLS


class _RowCollector:
    """The non-empty rows of a file with their line numbers, refusing the
    file as soon as it goes past its limits: a huge file costs little time."""

    def __init__(self, limits):
        self.limits = limits
        self.rows = []
        self.line_numbers = []
        self.cells = 0

    def check_dimensions(self, rows, columns):
        """Refuse at once a sheet that declares more than the limits."""
        limits = self.limits
        if rows and rows > limits.max_rows:
            raise TooManyRowsError(limit=limits.max_rows)
        if rows and columns and rows * columns > limits.max_cells:
            raise TooManyCellsError(limit=limits.max_cells)

    def add(self, line, values):
        limits = self.limits
        if line > limits.max_rows:
            raise TooManyRowsError(limit=limits.max_rows)
        width = len(values)
        if width > limits.max_columns:
            # Spreadsheets and some CSV exports pad rows with empty cells.
            values = list(values)
            while values and not str(values[-1]).strip():
                values.pop()
            width = len(values)
            if width > limits.max_columns:
                raise TooManyColumnsError(columns=width, limit=limits.max_columns)
        self.cells += width
        if self.cells > limits.max_cells:
            raise TooManyCellsError(limit=limits.max_cells)
        if any(str(value).strip() for value in values):
            self.rows.append(values)
            self.line_numbers.append(line)


def read_rows(data, filename="", max_size=DEFAULT_MAX_FILE_SIZE, limits=None):
    """Read ``data`` (bytes) into a ``ParsedFile``; the type comes from the
    content, the file name is only a hint for text files.

    ``limits`` (a ``ReadLimits``, whose ``max_size`` wins over ``max_size``)
    bounds what is read: past them the file is refused with an
    ``ImportFileError`` before it is read to the end.
    """
    limits = limits or ReadLimits(max_size=max_size)
    data = data or b""
    if limits.max_size and len(data) > limits.max_size:
        raise FileTooLargeError(size=len(data), limit=limits.max_size)
    if not data.strip():
        raise EmptyFileError()
    collector = _RowCollector(limits)
    if data.startswith(OLE_MAGIC):
        parsed = _read_xls(data, collector)
    elif data.startswith(ZIP_MAGIC):
        parsed = _read_xlsx(data, collector)
    elif data.startswith(NOT_SPREADSHEET_MAGIC):
        raise NotASpreadsheetError()
    else:
        parsed = _read_csv(data, collector)
    if not parsed.rows:
        raise EmptyFileError()
    return parsed


def decode_text(data):
    """Return ``(text, encoding)``: BOM first, then UTF-16 without BOM (its
    NUL bytes), strict UTF-8, chardet's guess, Windows-1252, Latin-1."""
    for bom, encoding in BOM_MAP:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise UnreadableFileError(detail=str(exc)) from exc
    sample = data[:4096]
    if b"\x00" in sample:
        even_nul = sample[0::2].count(0)
        odd_nul = sample[1::2].count(0)
        encoding = "utf-16-le" if odd_nul > even_nul else "utf-16-be"
        if max(even_nul, odd_nul) < len(sample) // 4:
            raise NotASpreadsheetError()
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise NotASpreadsheetError() from exc
    for candidate in ("utf-8", "chardet", "windows-1252", "latin-1"):
        encoding = candidate
        if candidate == "chardet":
            encoding = (chardet.detect(sample).get("encoding") or "").lower()
            if not encoding or encoding == "ascii":
                continue
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    raise UnreadableFileError(detail="unknown encoding")


def _looks_binary(text):
    sample = text[:4096]
    controls = sum(
        1 for char in sample if unicodedata.category(char) == "Cc" and char not in "\t\r\n\x1f"
    )
    return controls > max(2, len(sample) // 100)


def sniff_separator(text):
    """The separator that gives the most rows the header's width (at least
    two columns); base_import asks for all rows, contractors' files are
    ragged. Ties go to the earlier candidate."""
    lines = text.splitlines()[:50]
    best, best_score = ",", -1
    for candidate in CSV_SEPARATORS:
        rows = [row for row in csv.reader(lines, delimiter=candidate) if any(row)]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = sum(1 for row in rows if len(row) == width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _read_csv(data, collector):
    text, encoding = decode_text(data)
    if _looks_binary(text):
        raise NotASpreadsheetError()
    if not text.strip("".join(CSV_SEPARATORS) + "\"' \r\n\ufeff"):
        raise EmptyFileError()
    separator = sniff_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        for line, row in enumerate(reader, 1):
            collector.add(line, row)
    except csv.Error as exc:
        raise UnreadableFileError(detail=str(exc)) from exc
    return ParsedFile(
        collector.rows,
        collector.line_numbers,
        "csv",
        encoding=encoding,
        separator=separator,
    )


def _read_xls(data, collector):
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
        sheet = book.sheet_by_index(0)
    except Exception as exc:  # xlrd raises many types on corrupt files
        raise UnreadableFileError(detail=str(exc)) from exc
    collector.check_dimensions(sheet.nrows, sheet.ncols)
    for rowx in range(sheet.nrows):
        values = []
        for cell in sheet.row(rowx):
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    values.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                except xlrd.xldate.XLDateError:
                    values.append(cell.value)
            elif cell.ctype == xlrd.XL_CELL_NUMBER:
                value = cell.value
                values.append(int(value) if value % 1 == 0 else value)
            elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                # An error cell spoils its row only, never the file.
                values.append("")
            else:
                values.append(str(cell.value))
        collector.add(rowx + 1, values)
    return ParsedFile(collector.rows, collector.line_numbers, "xls", datemode=book.datemode)


def _check_xlsx_archive(data, max_size):
    """The archive's members, from its central directory, without unpacking:
    refuses a zip bomb (sizes declared there bound what zipfile unpacks)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise UnreadableFileError(detail=str(exc)) from exc
    if "xl/workbook.xml" not in {member.filename for member in members}:
        raise NotASpreadsheetError()
    limit = (max_size or DEFAULT_MAX_FILE_SIZE) * XLSX_MAX_EXPANSION
    size = sum(member.file_size for member in members)
    if size > limit:
        raise UncompressedTooLargeError(size=size, limit=limit)


def _read_xlsx(data, collector):
    _check_xlsx_archive(data, collector.limits.max_size)
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on corrupt files
        raise UnreadableFileError(detail=str(exc)) from exc
    try:
        sheet = book.worksheets[0]
        # The dimension the sheet declares, when it does: read-only sheets pad
        # every row to it.
        collector.check_dimensions(sheet.max_row, sheet.max_column)
        for rowx, row in enumerate(sheet.iter_rows(values_only=True), 1):
            collector.add(rowx, ["" if value is None else value for value in row])
        datemode = 1 if book.epoch == openpyxl.utils.datetime.CALENDAR_MAC_1904 else 0
    except ImportFileError:
        raise
    except Exception as exc:  # openpyxl raises many types on corrupt files
        raise UnreadableFileError(detail=str(exc)) from exc
    finally:
        book.close()
    return ParsedFile(collector.rows, collector.line_numbers, "xlsx", datemode=datemode)


# -- columns ------------------------------------------------------------------------


def normalize_header(text):
    """'Property ID' -> 'property id'; punctuation and case do not matter."""
    text = unicodedata.normalize("NFKD", str(text or "")).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def match_columns(header, mapping=None):
    """Map canonical columns to indexes of ``header``.

    ``mapping`` (canonical column -> header text, remembered per contractor)
    wins over the aliases. Columns that are not found are absent from the
    result; the first matching header wins.
    """
    normalized = [normalize_header(cell) for cell in header]
    result = {}
    for column, header_text in (mapping or {}).items():
        wanted = normalize_header(header_text)
        if column in COLUMNS and wanted and wanted in normalized:
            result[column] = normalized.index(wanted)
    for column in COLUMNS:
        if column in result:
            continue
        for alias in HEADER_ALIASES[column]:
            if alias in normalized:
                index = normalized.index(alias)
                if index not in result.values():
                    result[column] = index
                    break
    return result


def locate_header(parsed, mapping=None, max_scan=10):
    """Return ``(header_index, columns)``: the first of the first rows that
    has both a reference and a date column (contractors put titles above).
    Raises when no such row exists, or when no data row follows it."""
    for index, row in enumerate(parsed.rows[:max_scan]):
        columns = match_columns(row, mapping)
        if COL_REFERENCE in columns and COL_SERVICE_DATE in columns:
            if index == len(parsed.rows) - 1:
                # A header and no data.
                raise EmptyFileError()
            return index, columns
    header = parsed.rows[0]
    columns = match_columns(header, mapping)
    headers = ", ".join(str(cell) for cell in header if str(cell).strip()) or "-"
    if COL_REFERENCE not in columns:
        raise NoReferenceColumnError(headers=headers)
    raise NoDateColumnError(headers=headers)


# -- dates --------------------------------------------------------------------------

_RE_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_RE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_RE_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?:[ T].*)?$")
_RE_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_RE_DAY_MONTH_NAME = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?[ ./-]*([a-z]{3,9})\.?[ ,./-]*(\d{4}|\d{2})$"
)
_RE_MONTH_NAME_DAY = re.compile(r"^([a-z]{3,9})\.?[ ./-]*(\d{1,2})(?:st|nd|rd|th)?[ ,./-]*(\d{4})$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for name in names
}
# Excel serials of 1954-01-01 .. 2119-12-31: numbers outside are not dates.
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000


def excel_serial_to_date(serial, datemode=0):
    """Excel serial day number -> date (1900 system with Lotus' phantom
    29 Feb 1900, or the 1904 system)."""
    serial = float(serial)
    if not _SERIAL_MIN <= serial <= _SERIAL_MAX:
        raise DateParseError(f"{serial} is not an Excel date")
    epoch = datetime.date(1904, 1, 1) if datemode else datetime.date(1899, 12, 30)
    return epoch + datetime.timedelta(days=int(serial))


def _year(text):
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _date(year, month, day, value):
    try:
        return datetime.date(year, month, day)
    except ValueError as exc:
        raise DateParseError(f"{value!r} is not a valid date") from exc


def parse_date(value, order=DATE_ORDER_DMY, datemode=0):
    """Read one cell as a date.

    ``order`` (``dmy`` or ``mdy``) decides numeric dates such as 03/04/2024;
    ISO dates, month names and Excel serials do not depend on it.
    """
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return excel_serial_to_date(value, datemode)
    text = str(value or "").strip().casefold()
    if not text:
        raise DateParseError("empty")
    match = _RE_ISO.match(text) or _RE_COMPACT.match(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
        return _date(year, month, day, value)
    match = _RE_NUMERIC.match(text)
    if match:
        first, second, year = match.groups()
        day, month = (first, second) if order != DATE_ORDER_MDY else (second, first)
        return _date(_year(year), int(month), int(day), value)
    if _RE_SERIAL.match(text):
        return excel_serial_to_date(text, datemode)
    match = _RE_DAY_MONTH_NAME.match(text)
    if match and match.group(2) in _MONTHS:
        day, month, year = match.groups()
        return _date(_year(year), _MONTHS[month], int(day), value)
    match = _RE_MONTH_NAME_DAY.match(text)
    if match and match.group(1) in _MONTHS:
        month, day, year = match.groups()
        return _date(int(year), _MONTHS[month], int(day), value)
    raise DateParseError(f"{value!r} is not a date")


def detect_date_order(values):
    """Day-first or month-first, from the whole column.

    A value such as 25/03/2024 can only be day-first, 03/25/2024 only
    month-first. Returns ``dmy`` or ``mdy`` when the file tells,
    ``ambiguous`` when some value depends on the order and none tells,
    ``mixed`` when values contradict each other, ``none`` when no value
    depends on the order.
    """
    day_first = month_first = undecided = False
    for value in values:
        if not isinstance(value, str):
            continue
        match = _RE_NUMERIC.match(value.strip())
        if not match:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 >= second:
            day_first = True
        elif second > 12 >= first:
            month_first = True
        elif first != second:
            undecided = True
    if day_first and month_first:
        return DATE_ORDER_MIXED
    if day_first:
        return DATE_ORDER_DMY
    if month_first:
        return DATE_ORDER_MDY
    return DATE_ORDER_AMBIGUOUS if undecided else DATE_ORDER_NONE


# -- phones ---------------------------------------------------------------------------


def normalize_phone(raw, country_code="GB"):
    """E.164 form of ``raw`` (``+442079460958``), read in ``country_code``
    when it has no international prefix; ``None`` when empty. Raises
    ``ValueError`` when it is not a valid number."""
    import phonenumbers

    text = str(raw or "").strip()
    if not text:
        return None
    if isinstance(raw, float) and raw % 1 == 0:
        text = str(int(raw))
    try:
        number = phonenumbers.parse(text, (country_code or "GB").upper())
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{text!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- records ------------------------------------------------------------------------


@dataclass
class ImportRecord:
    """One data row of the file, as read; ``error`` is a ROW_* code."""

    line: int
    reference: str
    service_date: datetime.date = None
    phone: str = None
    note: str = ""
    raw: list = field(default_factory=list)
    error: str = ""
    error_params: dict = field(default_factory=dict)
    # A value of an optional column that is flagged, never rejected (WARN_*).
    warning: str = ""
    warning_params: dict = field(default_factory=dict)
    # Line of the row this one merged into (identical duplicate).
    merged_into: int = 0


def cell_text(value):
    """A cell as the text a contractor sees."""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value % 1 == 0:
        return str(int(value))
    return str(value if value is not None else "").strip()


def extract_records(
    parsed,
    header_index,
    columns,
    order=DATE_ORDER_DMY,
    country_code="GB",
    phone_lines=None,
):
    """One ``ImportRecord`` per data row below the header.

    ``phone_lines`` (a range of line numbers, default all) limits where phone
    numbers, the slow part, are read: a file stored in batches needs every
    row's reference and date (duplicates), and only its batch's phones.
    """
    ref_index = columns[COL_REFERENCE]
    date_index = columns[COL_SERVICE_DATE]
    phone_index = columns.get(COL_PHONE)
    note_index = columns.get(COL_NOTE)
    records = []
    for row, line in zip(
        parsed.rows[header_index + 1 :], parsed.line_numbers[header_index + 1 :], strict=True
    ):
        width = len(row)
        reference = cell_text(row[ref_index]) if ref_index < width else ""
        record = ImportRecord(line=line, reference=reference, raw=list(row))
        if note_index is not None and note_index < width:
            record.note = cell_text(row[note_index])
        if not reference:
            record.error = ROW_MISSING_REFERENCE
            records.append(record)
            continue
        date_value = row[date_index] if date_index < width else ""
        if not cell_text(date_value):
            record.error = ROW_MISSING_DATE
            records.append(record)
            continue
        try:
            record.service_date = parse_date(date_value, order, parsed.datemode)
        except DateParseError:
            record.error = ROW_INVALID_DATE
            record.error_params = {"value": cell_text(date_value)}
            records.append(record)
            continue
        if (
            phone_index is not None
            and phone_index < width
            and (phone_lines is None or line in phone_lines)
        ):
            try:
                record.phone = normalize_phone(row[phone_index], country_code)
            except ValueError:
                # An optional value never costs the row its service date.
                record.phone = cell_text(row[phone_index])
                record.warning = WARN_INVALID_PHONE
                record.warning_params = {"value": record.phone}
        records.append(record)
    return records


def reference_key(reference):
    """References match whatever the case and surrounding spaces."""
    return (reference or "").strip().upper()


def merge_duplicates(records):
    """Decision matrix row 11, in place: the same property twice in one file.

    Identical rows (same date) merge into the first: the others get
    ``ROW_DUPLICATE_MERGED`` and ``merged_into``. Different dates reject every
    row of that property with ``ROW_DUPLICATE_CONFLICT``, naming all lines.
    Rows that already carry an error take no part.
    """
    groups = {}
    for record in records:
        if not record.error:
            groups.setdefault(reference_key(record.reference), []).append(record)
    for group in groups.values():
        if len(group) < 2:
            continue
        if len({record.service_date for record in group}) == 1:
            for record in group[1:]:
                record.error = ROW_DUPLICATE_MERGED
                record.merged_into = group[0].line
                record.error_params = {"line": group[0].line}
            continue
        lines = ", ".join(str(record.line) for record in group)
        for record in group:
            record.error = ROW_DUPLICATE_CONFLICT
            record.error_params = {"lines": lines}
    return records


# -- rejected rows ---------------------------------------------------------------------


def neutralize_cell(value):
    """A cell that a spreadsheet would run as a formula gets an apostrophe."""
    text = cell_text(value) if not isinstance(value, str) else value
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def rejected_rows_csv(header, rows, reason_header="Error"):
    """CSV bytes (UTF-8 with BOM, so spreadsheets open it right) of the
    rejected rows: the original header plus a reason column, each row's
    original cells plus its reason. ``rows`` are ``(cells, reason)`` pairs."""
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\r\n")
    writer.writerow([neutralize_cell(cell) for cell in [*header, reason_header]])
    width = len(header)
    for cells, reason in rows:
        cells = list(cells)[:width] + [""] * (width - len(cells))
        writer.writerow([neutralize_cell(cell) for cell in [*cells, reason]])
    return output.getvalue().encode("utf-8-sig")
