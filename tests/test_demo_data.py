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

        # the rest of the story: a subscription invoiced, one in billing error
        riverside = self.env.ref("service_model_suite.demo_account_riverside")
        station = self.env.ref("service_model_suite.demo_account_station")
        self.assertEqual(riverside.subscription_ids.state, "active")
        self.assertEqual(riverside.subscription_ids.billing_period_ids[0].state, "posted")
        self.assertEqual(riverside.open_job_id.state, "accepted")
        self.assertEqual(station.subscription_ids.state, "draft")
        self.assertIn("price", station.subscription_ids.billing_error)

        # one login per backend role, each with only its role's group
        cs = self.env.ref("service_model_suite.demo_user_cs")
        finance = self.env.ref("service_model_suite.demo_user_finance")
        self.assertEqual((cs.login, finance.login), ("cs", "finance"))
        self.assertTrue(cs.has_group("service_model.group_cs_user"))
        self.assertFalse(cs.has_group("service_model.group_cs_manager"))
        self.assertFalse(cs.has_group("service_model.group_finance"))
        self.assertTrue(finance.has_group("service_model.group_finance"))
        self.assertFalse(finance.has_group("service_model.group_cs_user"))
        for user in cs | finance:
            user.with_user(user)._check_credentials(
                {"type": "password", "password": user.login}, {"interactive": True}
            )
        self.assertEqual(
            self.env["service.account"].search([("cs_user_id", "=", cs.id)]),
            quay | orchard | draft | riverside | station,
        )
        self.assertEqual(
            self.env["service.subscription"]
            .with_user(finance)
            .search([("billing_error_date", "!=", False)]),
            station.subscription_ids,
        )

    def _load_demo(self, *files):
        for file in files:
            convert_file(
                self.env,
                "service_model_suite",
                file,
                {},
                mode="init",
                noupdate=False,
                kind="demo",
                pathname=f"{get_module_path('service_model_suite')}/{file}",
            )

    def test_demo_communications_tell_the_story(self):
        self._load_demo(
            "data/service_model_suite_demo.xml", "data/service_model_suite_comms_demo.xml"
        )
        cs = self.env.ref("service_model_suite.demo_user_cs")
        accounts = self.env["service.account"].search([("property_reference", "like", "DEMO-")])
        # what the CS user reads on the accounts' Communications tabs
        log = accounts.with_user(cs).comm_decision_ids
        outcomes = {d.outcome for d in log}
        self.assertLessEqual({"send", "suppress"}, outcomes)
        reasons = set(log.mapped("reason_code"))
        for reason in (
            "account_not_live",  # Orchard is onboarding: nothing to its owner
            "auto_accepted",  # the contractor accepted nothing by hand
            "partner_do_not_contact",  # Femi asked not to be contacted
            "email_blacklisted",  # Eve unsubscribed from offers
            "duplicate",  # Old Mill activated twice the same day
            "no_email",  # Cleo has a phone only
            "no_recipient",  # no agency on most accounts
        ):
            self.assertIn(reason, reasons)
        harbourside = self.env.ref("service_model_suite.demo_account_harbourside")
        redirected = harbourside.comm_decision_ids.filtered("redirected_from_id")
        self.assertTrue(redirected)
        self.assertEqual(
            redirected.recipient_id, self.env.ref("service_model_suite.demo_agency_harbour")
        )
        eve = self.env.ref("service_model_suite.demo_account_riverside").comm_decision_ids
        self.assertTrue(eve.filtered(lambda d: d.event == "invoice_issued" and d.mail_id))
        self.assertTrue(eve.filtered(lambda d: d.reason_code == "email_blacklisted"))
        self.assertFalse(self.env["service.comm.event"].search([]))  # nothing left waiting
