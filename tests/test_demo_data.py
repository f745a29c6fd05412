from freezegun import freeze_time

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools import convert_file


@tagged("post_install", "-at_install")
@freeze_time("2026-03-10 12:00:00")
class TestDemoData(TransactionCase):
    """The test database has no demo data: load the suite's demo file here to
    prove that it installs and tells the story it is meant to tell."""

    def test_demo_data_loads(self):
        convert_file(
            self.env,
            "service_model_suite",
            "data/service_model_suite_demo.xml",
            {},
            mode="init",
            noupdate=False,
            kind="demo",
            pathname=f"{get_module_path('service_model_suite')}/data/service_model_suite_demo.xml",
        )
        quay = self.env.ref("service_model_suite.demo_account_quay")
        harbourside = self.env.ref("service_model_suite.demo_account_harbourside")
        mill = self.env.ref("service_model_suite.demo_account_mill")
        orchard = self.env.ref("service_model_suite.demo_account_orchard")
        draft = self.env.ref("service_model_suite.demo_account_draft")
        self.assertEqual((quay | harbourside | mill).mapped("stage"), ["active"] * 3)
        self.assertEqual(orchard.stage, "onboarding")
        self.assertEqual(draft.stage, "draft")
        self.assertEqual(quay.open_job_id.state, "accepted")
        self.assertTrue(harbourside.open_job_id.is_overdue_at_creation)
        self.assertEqual(
            harbourside.bill_to_partner_id, self.env.ref("service_model_suite.demo_agency_harbour")
        )
        self.assertEqual(mill.open_job_id.state, "pending")
        self.assertFalse(orchard.job_ids)
        self.assertTrue(orchard.last_service_date)
        self.assertIn("End User", draft.missing_items)
