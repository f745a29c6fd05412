from datetime import date
from pathlib import Path

from odoo.addons.service_model.lib import import_parser as parser
from odoo.modules.module import get_module_path
from odoo.tests import BaseCase, tagged


@tagged("post_install", "-at_install")
class TestSampleFiles(BaseCase):
    """The sample contractor files shipped in data/samples read as documented."""

    def _read(self, name):
        path = Path(get_module_path("service_model_suite")) / "data" / "samples" / name
        parsed = parser.read_rows(path.read_bytes(), name)
        header_index, columns = parser.locate_header(parsed)
        order = parser.detect_date_order(
            [row[columns[parser.COL_SERVICE_DATE]] for row in parsed.rows[header_index + 1 :]]
        )
        if order in (parser.DATE_ORDER_NONE, parser.DATE_ORDER_AMBIGUOUS):
            order = parser.DATE_ORDER_DMY
        return parsed, parser.extract_records(parsed, header_index, columns, order=order)

    def test_csv_sample(self):
        parsed, records = self._read("sparks_electrical_2026-11.csv")
        self.assertEqual((parsed.file_type, parsed.separator), ("csv", ";"))
        self.assertEqual(
            [r.reference for r in records],
            ["DEMO-0001", "DEMO-0002", "DEMO-0003", "DEMO-0004", "UNKNOWN-42"],
        )
        self.assertEqual(records[0].service_date, date(2026, 11, 2))
        self.assertEqual(records[1].service_date, date(2026, 10, 28))
        self.assertEqual(records[0].phone, "+447911123456")
        self.assertFalse([r for r in records if r.error])

    def test_xlsx_sample(self):
        parsed, records = self._read("northern_gas_visits_2026-11.xlsx")
        self.assertEqual(parsed.file_type, "xlsx")
        self.assertEqual(
            [(r.reference, r.service_date) for r in records],
            [("DEMO-0003", date(2026, 10, 20)), ("DEMO-0001", date(2026, 11, 2))],
        )
