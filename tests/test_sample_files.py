from datetime import date
from pathlib import Path

from freezegun import freeze_time

from odoo.addons.service_model.lib import import_parser as parser
from odoo.modules.module import get_module_path
from odoo.tests import BaseCase, TransactionCase, new_test_user, tagged
from odoo.tools import convert_file

SAMPLES = Path(get_module_path("service_model_suite")) / "data" / "samples"
CSV_SAMPLE = "sparks_electrical_2026-11.csv"
XLSX_SAMPLE = "northern_gas_visits_2026-11.xlsx"


@tagged("post_install", "-at_install")
class TestSampleFiles(BaseCase):
    """The sample contractor files shipped in data/samples read as documented."""

    def _read(self, name):
        parsed = parser.read_rows((SAMPLES / name).read_bytes(), name)
        header_index, columns = parser.locate_header(parsed)
        order = parser.detect_date_order(
            [row[columns[parser.COL_SERVICE_DATE]] for row in parsed.rows[header_index + 1 :]]
        )
        if order in (parser.DATE_ORDER_NONE, parser.DATE_ORDER_AMBIGUOUS):
            order = parser.DATE_ORDER_DMY
        return parsed, parser.extract_records(parsed, header_index, columns, order=order)

    def test_csv_sample(self):
        parsed, records = self._read(CSV_SAMPLE)
        self.assertEqual((parsed.file_type, parsed.separator), ("csv", ";"))
        self.assertEqual([r.reference for r in records], ["DEMO-0001", "DEMO-0002", "DEMO-0004"])
        self.assertEqual(records[0].service_date, date(2026, 11, 2))
        self.assertEqual(records[1].service_date, date(2026, 10, 28))
        self.assertEqual(records[0].phone, "+447911123456")
        self.assertIn("Müller", records[2].note)
        self.assertFalse([r for r in records if r.error or r.warning])

    def test_xlsx_sample(self):
        parsed, records = self._read(XLSX_SAMPLE)
        self.assertEqual(parsed.file_type, "xlsx")
        self.assertEqual(
            [(r.reference, r.service_date) for r in records],
            [("DEMO-0003", date(2026, 10, 20)), ("DEMO-0005", date(2026, 11, 2))],
        )


@tagged("post_install", "-at_install")
@freeze_time("2026-11-16 12:00:00")
class TestSampleFilesOnDemoData(TransactionCase):
    """The samples import fully on the demo data, as a CS user would do it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        path = SAMPLES.parent / "service_model_suite_demo.xml"
        convert_file(
            cls.env,
            "service_model_suite",
            "data/service_model_suite_demo.xml",
            {},
            mode="init",
            noupdate=False,
            kind="demo",
            pathname=str(path),
        )
        cls.cs_user = new_test_user(
            cls.env, login="sm_samples_cs", groups="service_model.group_cs_user"
        )

    def _import(self, contractor_xmlid, name):
        contractor = self.env.ref(contractor_xmlid)
        record = (
            self.env["service.import"]
            .with_user(self.cs_user)
            ._create_from_file(contractor, (SAMPLES / name).read_bytes(), name)
        )
        record.action_validate()
        record.action_apply()
        return record

    def test_every_sample_row_lands(self):
        sparks = self._import("service_model_suite.demo_contractor_sparks", CSV_SAMPLE)
        self.assertEqual(sparks.phone_country_id, self.env.ref("base.uk"))
        self.assertEqual(
            [(line.reference, line.result_code) for line in sparks.line_ids],
            [("DEMO-0001", "updated"), ("DEMO-0002", "updated"), ("DEMO-0004", "stored")],
        )
        self.assertEqual(sparks.line_ids[0].phone, "+447911123456")
        self.assertFalse(sparks.line_ids.filtered("warning"))
        northern = self._import("service_model_suite.demo_contractor_northern", XLSX_SAMPLE)
        self.assertEqual(
            [(line.reference, line.result_code) for line in northern.line_ids],
            [("DEMO-0003", "updated"), ("DEMO-0005", "stored")],
        )
        self.assertEqual(
            self.env.ref("service_model_suite.demo_account_quay").last_service_date,
            date(2026, 11, 2),
        )
        self.assertEqual((sparks.state, northern.state), ("done", "done"))
