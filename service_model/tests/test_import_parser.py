import csv
import io
import re
import time
import zipfile
from datetime import date, datetime

import openpyxl
import xlwt

from odoo.addons.service_model.lib import import_parser as ip
from odoo.tests import BaseCase, tagged

HEADER = ["Property ID", "Last service", "Phone", "Notes"]
DATA = [
    ["PR-0001", "25/03/2024", "020 7946 0958", "Boiler ok, café"],
    ["PR-0002", "02/04/2024", "", ""],
]


def cell_datetime(*args):
    """A spreadsheet date cell: naive, spreadsheets know no time zone."""
    return datetime(*args)  # noqa: DTZ001


def make_csv(rows, delimiter=",", encoding="utf-8"):
    """Bytes of a CSV file: rows joined with ``delimiter``, encoded."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def make_xls(rows, date_columns=()):
    """Bytes of an .xls workbook; cells of ``date_columns`` that are dates
    get a date format, so xlrd reports them as date cells."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("Services")
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for rowx, row in enumerate(rows):
        for colx, value in enumerate(row):
            if colx in date_columns and isinstance(value, date):
                sheet.write(rowx, colx, value, date_style)
            else:
                sheet.write(rowx, colx, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def make_xlsx(rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def make_zip_bomb_xlsx(unpacked_size):
    """A real workbook whose sheet carries ``unpacked_size`` bytes of blank
    padding: tiny as a file, huge once unpacked."""
    archive = zipfile.ZipFile(io.BytesIO(make_xlsx([HEADER, *DATA])))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as bomb:
        for member in archive.infolist():
            content = archive.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(
                    b"<sheetData>", b"<!--" + b" " * unpacked_size + b"--><sheetData>", 1
                )
            bomb.writestr(member.filename, content, compresslevel=1)
    return output.getvalue()


def records_of(data, filename="file.csv", mapping=None, order=None):
    parsed = ip.read_rows(data, filename)
    header_index, columns = ip.locate_header(parsed, mapping)
    if order is None:
        values = [row[columns[ip.COL_SERVICE_DATE]] for row in parsed.rows[header_index + 1 :]]
        order = ip.detect_date_order(values)
    return ip.extract_records(parsed, header_index, columns, order)


@tagged("post_install", "-at_install")
class TestImportParserReading(BaseCase):
    """File reading: every delimiter, encoding and format; no database."""

    def test_csv_every_delimiter_and_encoding(self):
        for encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "windows-1252", "latin-1"):
            for delimiter in (",", ";", "\t", "|"):
                with self.subTest(encoding=encoding, delimiter=delimiter):
                    parsed = ip.read_rows(make_csv([HEADER, *DATA], delimiter, encoding), "f.csv")
                    self.assertEqual(parsed.file_type, "csv")
                    self.assertEqual(parsed.separator, delimiter)
                    self.assertEqual(parsed.rows, [HEADER, *DATA])
                    self.assertEqual(parsed.line_numbers, [1, 2, 3])

    def test_csv_bom_is_not_part_of_the_first_header(self):
        parsed = ip.read_rows(make_csv([HEADER, *DATA], ";", "utf-8-sig"))
        self.assertEqual(parsed.encoding, "utf-8-sig")
        self.assertEqual(parsed.rows[0][0], "Property ID")

    def test_csv_ragged_rows_and_blank_lines_keep_line_numbers(self):
        data = b"Ref;Date\r\n\r\nPR-1;2024-03-01;extra\r\nPR-2;2024-03-02\r\n"
        parsed = ip.read_rows(data)
        self.assertEqual(parsed.separator, ";")
        self.assertEqual(parsed.line_numbers, [1, 3, 4])

    def test_xls_date_cells_numbers_and_text(self):
        rows = [
            ["UPRN", "Date of inspection", "Tel"],
            ["PR-1", date(2024, 3, 25), "020 7946 0958"],
            ["PR-2", 45352.0, ""],
            ["PR-3", "03/25/2024", ""],
        ]
        parsed = ip.read_rows(make_xls(rows, date_columns=(1,)), "legacy.xls")
        self.assertEqual(parsed.file_type, "xls")
        self.assertEqual(parsed.rows[1][1], cell_datetime(2024, 3, 25))
        self.assertEqual(parsed.rows[2][1], 45352)
        records = records_of(make_xls(rows, date_columns=(1,)))
        self.assertEqual(
            [r.service_date for r in records],
            [date(2024, 3, 25), date(2024, 3, 1), date(2024, 3, 25)],
        )

    def test_xlsx_datetime_cells_and_serials(self):
        rows = [
            ["Ref", "Last service"],
            ["PR-1", cell_datetime(2024, 3, 5, 0, 0)],
            ["PR-2", 45352],
            ["PR-3", "2024-03-07"],
        ]
        parsed = ip.read_rows(make_xlsx(rows), "modern.xlsx")
        self.assertEqual(parsed.file_type, "xlsx")
        records = records_of(make_xlsx(rows))
        self.assertEqual(
            [r.service_date for r in records],
            [date(2024, 3, 5), date(2024, 3, 1), date(2024, 3, 7)],
        )

    def test_title_rows_above_the_header_are_skipped(self):
        rows = [["Acme Gas Ltd - services March"], HEADER, *DATA]
        parsed = ip.read_rows(make_xlsx(rows))
        header_index, columns = ip.locate_header(parsed)
        self.assertEqual(header_index, 1)
        self.assertEqual(columns, {"reference": 0, "service_date": 1, "phone": 2, "note": 3})


@tagged("post_install", "-at_install")
class TestImportParserFileErrors(BaseCase):
    """A bad file raises one error with a code, whatever went wrong."""

    def assertFileError(self, error_class, data, filename="f.csv", **kwargs):
        with self.assertRaises(error_class) as caught:
            parsed = ip.read_rows(data, filename, **kwargs)
            ip.locate_header(parsed)
        return caught.exception

    def test_empty_files(self):
        self.assertEqual(self.assertFileError(ip.EmptyFileError, b"").code, "empty")
        self.assertFileError(ip.EmptyFileError, b"\r\n \r\n")
        self.assertFileError(ip.EmptyFileError, b";;;\r\n,,\r\n")
        self.assertFileError(ip.EmptyFileError, make_xlsx([]), "empty.xlsx")
        self.assertFileError(ip.EmptyFileError, make_csv([HEADER]))

    def test_too_large(self):
        error = self.assertFileError(ip.FileTooLargeError, make_csv([HEADER, *DATA]), max_size=10)
        self.assertEqual(error.code, "too_large")
        self.assertEqual(error.params["limit"], 10)

    def test_no_reference_column(self):
        error = self.assertFileError(
            ip.NoReferenceColumnError, make_csv([["Address", "Last service"], ["1 High St", "x"]])
        )
        self.assertIn("Address", error.params["headers"])

    def test_no_date_column(self):
        self.assertFileError(
            ip.NoDateColumnError, make_csv([["UPRN", "Engineer"], ["PR-1", "Bob"]])
        )

    def test_not_a_spreadsheet(self):
        png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256))
        self.assertEqual(
            self.assertFileError(ip.NotASpreadsheetError, png, "photo.csv").code,
            "not_spreadsheet",
        )
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("readme.txt", "hello")
        self.assertFileError(ip.NotASpreadsheetError, archive.getvalue(), "dates.xlsx")
        self.assertFileError(ip.NotASpreadsheetError, bytes(range(1, 32)) * 50, "dates.csv")

    def test_thousands_of_columns_refused_at_the_first_row(self):
        data = make_csv([[f"Column {n}" for n in range(5000)]] * 3)
        started = time.perf_counter()
        error = self.assertFileError(ip.TooManyColumnsError, data)
        self.assertLess(time.perf_counter() - started, 5)
        self.assertEqual(error.params, {"columns": 5000, "limit": ip.DEFAULT_MAX_COLUMNS})

    def test_padding_cells_do_not_count_as_columns(self):
        data = make_csv([["Ref", "Date", *[""] * 500], ["PR-1", "2024-03-01", *[""] * 500]])
        self.assertEqual(ip.read_rows(data).rows[1][:2], ["PR-1", "2024-03-01"])

    def test_hundreds_of_thousands_of_rows_refused_quickly(self):
        data = b"Ref,Date\r\n" + b"PR-1,2024-03-01\r\n" * 300_000
        started = time.perf_counter()
        error = self.assertFileError(ip.TooManyRowsError, data)
        self.assertLess(time.perf_counter() - started, 10)
        self.assertEqual(error.params, {"limit": ip.DEFAULT_MAX_ROWS})
        limits = ip.ReadLimits(max_rows=3)
        self.assertEqual(len(ip.read_rows(make_csv([HEADER, *DATA]), limits=limits).rows), 3)
        with self.assertRaises(ip.TooManyRowsError):
            ip.read_rows(make_csv([HEADER, *DATA, *DATA]), limits=limits)

    def test_too_many_cells(self):
        limits = ip.ReadLimits(max_cells=10)
        with self.assertRaises(ip.TooManyCellsError):
            ip.read_rows(make_csv([HEADER, *DATA, *DATA]), limits=limits)
        with self.assertRaises(ip.TooManyCellsError):
            ip.read_rows(make_xlsx([HEADER, *DATA, *DATA]), limits=limits)

    def test_xlsx_zip_bomb_refused_before_unpacking(self):
        data = make_zip_bomb_xlsx(unpacked_size=3 * 1024 * 1024)
        limits = ip.ReadLimits(max_size=100 * 1024)
        self.assertLess(len(data), limits.max_size)
        started = time.perf_counter()
        with self.assertRaises(ip.UncompressedTooLargeError) as caught:
            ip.read_rows(data, "bomb.xlsx", limits=limits)
        self.assertLess(time.perf_counter() - started, 1)
        self.assertEqual(caught.exception.params["limit"], 100 * 1024 * ip.XLSX_MAX_EXPANSION)

    def test_xlsx_declaring_a_huge_sheet_refused_before_reading_it(self):
        data = make_xlsx([HEADER, *DATA])
        archive = zipfile.ZipFile(io.BytesIO(data))
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as patched:
            for member in archive.infolist():
                content = archive.read(member)
                if member.filename == "xl/worksheets/sheet1.xml":
                    content = re.sub(
                        rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', content
                    )
                patched.writestr(member.filename, content)
        with self.assertRaises((ip.TooManyRowsError, ip.TooManyCellsError)):
            ip.read_rows(output.getvalue(), "huge.xlsx")

    def test_unreadable_spreadsheets(self):
        self.assertFileError(ip.UnreadableFileError, ip.OLE_MAGIC + b"garbage" * 20, "a.xls")
        self.assertFileError(ip.UnreadableFileError, ip.ZIP_MAGIC + b"garbage" * 20, "a.xlsx")


@tagged("post_install", "-at_install")
class TestImportParserColumns(BaseCase):
    def test_aliases(self):
        for header, expected in (
            (["Ref", "Date of inspection"], {"reference": 0, "service_date": 1}),
            (["  UPRN ", "LAST SERVICE"], {"reference": 0, "service_date": 1}),
            (
                ["property_id", "last-service", "Mobile"],
                {"reference": 0, "service_date": 1, "phone": 2},
            ),
            (
                ["Engineer", "Property Ref", "Service date", "Comments"],
                {"reference": 1, "service_date": 2, "note": 3},
            ),
        ):
            with self.subTest(header=header):
                self.assertEqual(ip.match_columns(header), expected)

    def test_remembered_mapping_wins_over_aliases(self):
        header = ["Ref", "Job no", "Visit", "Date"]
        mapping = {"reference": "Job no", "service_date": "Visit"}
        self.assertEqual(ip.match_columns(header, mapping), {"reference": 1, "service_date": 2})
        # A remembered header the file no longer has falls back to the aliases.
        self.assertEqual(
            ip.match_columns(["Ref", "Date"], mapping), {"reference": 0, "service_date": 1}
        )


@tagged("post_install", "-at_install")
class TestImportParserDates(BaseCase):
    def test_formats(self):
        for value, order, expected in (
            ("2024-03-05", "mdy", date(2024, 3, 5)),
            ("2024/03/05 00:00:00", "dmy", date(2024, 3, 5)),
            ("20240305", "dmy", date(2024, 3, 5)),
            ("05/03/2024", "dmy", date(2024, 3, 5)),
            ("05/03/2024", "mdy", date(2024, 5, 3)),
            ("5.3.24", "dmy", date(2024, 3, 5)),
            ("5-Mar-2024", "mdy", date(2024, 3, 5)),
            ("March 5th, 2024", "dmy", date(2024, 3, 5)),
            ("45356", "dmy", date(2024, 3, 5)),
            (45356.75, "dmy", date(2024, 3, 5)),
            (cell_datetime(2024, 3, 5, 14, 0), "dmy", date(2024, 3, 5)),
        ):
            with self.subTest(value=value, order=order):
                self.assertEqual(ip.parse_date(value, order), expected)

    def test_excel_1904_date_system(self):
        self.assertEqual(ip.parse_date(43894, "dmy", datemode=1), date(2024, 3, 5))

    def test_invalid(self):
        for value in ("", "tomorrow", "31/02/2024", "13/13/2024", "2024-13-01", 7, "12345678"):
            with self.subTest(value=value), self.assertRaises(ip.DateParseError):
                ip.parse_date(value, "dmy")

    def test_order_detection(self):
        self.assertEqual(ip.detect_date_order(["01/02/2024", "25/03/2024"]), "dmy")
        self.assertEqual(ip.detect_date_order(["01/02/2024", "03/25/2024"]), "mdy")
        self.assertEqual(ip.detect_date_order(["01/02/2024", "03/04/2024"]), "ambiguous")
        self.assertEqual(ip.detect_date_order(["25/03/2024", "03/25/2024"]), "mixed")
        self.assertEqual(
            ip.detect_date_order(["2024-03-25", cell_datetime(2024, 1, 2), 45356, "05/05/2024"]),
            "none",
        )

    def test_ambiguous_file_reads_by_the_order_chosen(self):
        data = make_csv([["Ref", "Service date"], ["PR-1", "01/02/2024"], ["PR-2", "03/04/2024"]])
        parsed = ip.read_rows(data)
        self.assertEqual(ip.detect_date_order([row[1] for row in parsed.rows[1:]]), "ambiguous")
        self.assertEqual(
            [r.service_date for r in records_of(data, order="mdy")],
            [date(2024, 1, 2), date(2024, 3, 4)],
        )
        self.assertEqual(
            [r.service_date for r in records_of(data, order="dmy")],
            [date(2024, 2, 1), date(2024, 4, 3)],
        )


@tagged("post_install", "-at_install")
class TestImportParserRecords(BaseCase):
    def test_row_errors(self):
        rows = [
            ["Ref", "Last service", "Phone"],
            ["", "01/03/2024", ""],
            ["PR-2", "", ""],
            ["PR-3", "soon", ""],
            ["PR-4", "01/03/2024", "12"],
            ["PR-5", "25/03/2024", "+44 20 7946 0958"],
        ]
        records = records_of(make_csv(rows))
        self.assertEqual(
            [(r.line, r.error) for r in records],
            [
                (2, ip.ROW_MISSING_REFERENCE),
                (3, ip.ROW_MISSING_DATE),
                (4, ip.ROW_INVALID_DATE),
                (5, ""),
                (6, ""),
            ],
        )
        self.assertEqual(records[2].error_params, {"value": "soon"})
        self.assertEqual(records[4].phone, "+442079460958")

    def test_invalid_phone_keeps_the_row_and_flags_the_value(self):
        rows = [["Ref", "Last service", "Phone"], ["PR-4", "01/03/2024", "12"]]
        (record,) = records_of(make_csv(rows))
        self.assertEqual((record.error, record.service_date), ("", date(2024, 3, 1)))
        self.assertEqual(record.warning, ip.WARN_INVALID_PHONE)
        self.assertEqual((record.phone, record.warning_params), ("12", {"value": "12"}))

    def test_phone_read_in_the_given_country(self):
        rows = [["Ref", "Last service", "Phone"], ["PR-1", "2024-03-01", "01 23 45 67 89"]]
        parsed = ip.read_rows(make_csv(rows))
        header_index, columns = ip.locate_header(parsed)
        (french,) = ip.extract_records(parsed, header_index, columns, country_code="FR")
        self.assertEqual((french.phone, french.warning), ("+33123456789", ""))
        (british,) = ip.extract_records(parsed, header_index, columns, country_code="GB")
        self.assertEqual(british.warning, ip.WARN_INVALID_PHONE)

    def test_phone_normalisation(self):
        self.assertEqual(ip.normalize_phone("020 7946 0958", "GB"), "+442079460958")
        self.assertEqual(ip.normalize_phone("+33 1 23 45 67 89", "GB"), "+33123456789")
        self.assertIsNone(ip.normalize_phone("  "))
        with self.assertRaises(ValueError):
            ip.normalize_phone("not a phone")

    def test_duplicates_merge_or_reject_both(self):
        rows = [
            ["Ref", "Last service"],
            ["PR-1", "2024-03-01"],
            ["PR-2", "2024-03-02"],
            ["pr-1 ", "01/03/2024"],
            ["PR-2", "2024-03-09"],
            ["PR-3", "2024-03-03"],
        ]
        records = ip.merge_duplicates(records_of(make_csv(rows)))
        self.assertEqual(
            [(r.line, r.error) for r in records],
            [
                (2, ""),
                (3, ip.ROW_DUPLICATE_CONFLICT),
                (4, ip.ROW_DUPLICATE_MERGED),
                (5, ip.ROW_DUPLICATE_CONFLICT),
                (6, ""),
            ],
        )
        self.assertEqual(records[2].merged_into, 2)
        self.assertEqual(records[1].error_params, {"lines": "3, 5"})
        self.assertEqual(records[3].error_params, {"lines": "3, 5"})


@tagged("post_install", "-at_install")
class TestImportParserRejectedCsv(BaseCase):
    def test_formulas_are_neutralised_and_file_reads_back(self):
        rows = [
            (['=HYPERLINK("http://x")', "2024-03-01"], "unknown reference"),
            (["+1+1", "@SUM(A1)"], "-bad"),
            (["\tTAB", "\rCR"], "ok"),
            (["PR-9", date(2024, 3, 1)], "future"),
        ]
        data = ip.rejected_rows_csv(["Ref", "Last service"], rows)
        self.assertTrue(data.startswith(b"\xef\xbb\xbf"))
        parsed = ip.read_rows(data)
        self.assertEqual(parsed.rows[0], ["Ref", "Last service", "Error"])
        self.assertEqual(
            parsed.rows[1], ['\'=HYPERLINK("http://x")', "2024-03-01", "unknown reference"]
        )
        self.assertEqual(parsed.rows[2], ["'+1+1", "'@SUM(A1)", "'-bad"])
        self.assertEqual(parsed.rows[3], ["'\tTAB", "'\rCR", "ok"])
        self.assertEqual(parsed.rows[4], ["PR-9", "2024-03-01", "future"])
        for row in parsed.rows:
            for cell in row:
                self.assertFalse(cell.startswith(ip.FORMULA_PREFIXES), cell)
