from datetime import timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import NOW, TODAY, ServiceModelCommon


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestActivationGate(ServiceModelCommon):
    def test_gate_names_exactly_what_is_missing(self):
        account = self._create_account(contractor_id=False, plan_yearly_price=0.0)
        account.action_start_onboarding()
        self.assertEqual(len(account.checklist_item_ids), 6)
        finance_items = account.checklist_item_ids.filtered(lambda i: i.team == "finance")
        (account.checklist_item_ids - finance_items).write({"done": True})
        with self.assertRaises(UserError) as caught:
            account.action_activate()
        message = str(caught.exception)
        for expected in (
            "Contractor",
            "Yearly Price",
            "Checklist (Finance): Billing terms confirmed",
            "Checklist (Finance): Tax ID confirmed",
        ):
            self.assertIn(expected, message)
        for done in ("Property Reference", "End User", "Checklist (CX)", "Checklist (Sales / AM)"):
            self.assertNotIn(done, message)
        self.assertEqual(account.stage, "onboarding")
        self.assertEqual(
            account.missing_items.split("\n"),
            [
                "Contractor",
                "Yearly Price",
                "Checklist (Finance): Billing terms confirmed",
                "Checklist (Finance): Tax ID confirmed",
            ],
        )
        # 5 + 5 key fields + end user contact + 6 checklist items = 17, 4 missing
        self.assertAlmostEqual(account.completeness, 100.0 * 13 / 17)

        account.write({"contractor_id": self.contractor.id, "plan_yearly_price": 99.0})
        finance_items.write({"done": True})
        account.action_activate()
        self.assertEqual(account.stage, "active")
        self.assertEqual(account.completeness, 100.0)
        self.assertFalse(account.missing_items)
        self.assertEqual(finance_items.done_user_id, self.env.user)

    def test_bill_to_agency_needs_an_agency(self):
        account = self._create_account(bill_to="agency")
        self.assertFalse(account.bill_to_partner_id)
        self.assertIn("Bill-to party (the agency)", account.missing_items)
        account.agency_id = self.agency
        self.assertEqual(account.bill_to_partner_id, self.agency)

    def test_end_user_without_contact(self):
        silent = self.env["res.partner"].create({"name": "No Contact"})
        account = self._create_account(end_user_id=silent.id)
        self.assertIn("End user email or phone", account.missing_items)

    def test_onboarding_needs_key_data(self):
        account = self._create_account(street=False)
        with self.assertRaises(UserError) as caught:
            account.action_start_onboarding()
        self.assertIn("Street", str(caught.exception))
        self.assertEqual(account.stage, "draft")

    def test_new_account_cannot_start_active(self):
        with self.assertRaises(UserError):
            self.env["service.account"].create(self._account_vals("P-0009", stage="active"))

    def test_direct_write_goes_through_the_gate(self):
        account = self._create_account()
        with self.assertRaises(UserError):
            account.write({"stage": "active"})  # checklist not done

    def test_reference_unique_per_company(self):
        self._create_account("P-DUP")
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            self._create_account("P-DUP")

    def test_stage_history_and_durations(self):
        with freeze_time("2026-03-01 09:00:00"):
            account = self._create_account()
        with freeze_time("2026-03-03 09:00:00"):
            account.action_start_onboarding()
            account.checklist_item_ids.write({"done": True})
        with freeze_time("2026-03-08 09:00:00"):
            account.action_activate()
        self.assertEqual(account.stage_log_ids.mapped("stage"), ["draft", "onboarding", "active"])
        durations = account._stage_durations()
        self.assertAlmostEqual(durations["draft"], 2.0)
        self.assertAlmostEqual(durations["onboarding"], 5.0)
        self.assertAlmostEqual(durations["active"], 2.125)  # until NOW, 10 Mar 12:00

    def test_cancel_cancels_open_jobs(self):
        account = self._create_active_account()
        self._apply(account, TODAY - timedelta(days=300))
        job = account.open_job_id
        self.assertTrue(job)
        account.action_cancel()
        self.assertEqual(job.state, "cancelled")
        self.assertEqual(account.stage, "cancelled")

    def test_form_fills_plan_from_service_type(self):
        form = Form(self.env["service.account"])
        form.property_reference = "P-FORM"
        form.service_type_id = self.service_type
        self.assertEqual(form.plan_product_id, self.product)


@tagged("post_install", "-at_install")
class TestGlossary(ServiceModelCommon):
    def test_field_help_comes_from_the_glossary(self):
        term = self.env.ref("service_model.glossary_last_service")
        description = self.env["service.account"].fields_get(["last_service_date"], ["help"])
        self.assertIn(term.definition, description["last_service_date"]["help"])
        self.assertIn("Date of inspection (Contractors)", description["last_service_date"]["help"])
        term.definition = "Changed definition."
        description = self.env["service.job"].fields_get(["anchor_date"], ["help"])
        self.assertTrue(description["anchor_date"]["help"].startswith("Changed definition."))

    def test_manual_steps_reflect_switches(self):
        step = self.env.ref("service_model.manual_step_job_creation")
        self.assertTrue(step.is_automated)
        self.company.service_auto_create_jobs = False
        step.invalidate_recordset(["is_automated"])
        self.assertFalse(step.is_automated)
        self.assertFalse(self.env.ref("service_model.manual_step_backstage").is_automated)
