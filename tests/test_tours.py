from dateutil.relativedelta import relativedelta

from odoo.tests import HttpCase, new_test_user, tagged

AUTOMATION_SWITCHES = (
    "service_auto_create_jobs",
    "service_auto_accept",
    "service_subscription_on_completion",
    "service_billing_trigger",
    "service_billing_polling",
    "service_billing_post_invoices",
)


@tagged("post_install", "-at_install")
class TestTours(HttpCase):
    """The CS and Finance stories in the browser, each run by a user who holds
    only that role's group. The data are built here, relative to the company's
    today (the browser's clock is not frozen)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        # the stories run with every automation on and no lock date
        cls.company.write(
            {
                **dict.fromkeys(AUTOMATION_SWITCHES, True),
                "fiscalyear_lock_date": False,
                "sale_lock_date": False,
            }
        )
        cls.today = cls.company._service_today()
        cls.cs_user = new_test_user(
            cls.env, login="tour_cs", groups="service_model.group_cs_user", name="Casey CS"
        )
        cls.finance_user = new_test_user(
            cls.env,
            login="tour_finance",
            groups="service_model.group_finance",
            name="Frankie Finance",
        )
        cls.product = cls.env["product.product"].create(
            {"name": "Tour Safety Plan", "type": "service", "list_price": 150.0}
        )
        cls.service_type = cls.env["service.type"].create(
            {"name": "Tour Safety Inspection", "interval_months": 12, "product_id": cls.product.id}
        )

    @classmethod
    def _serviced_account(cls, reference, price):
        """An active account whose first job is done: its subscription exists."""
        end_user = cls.env["res.partner"].create(
            {"name": f"Owner of {reference}", "email": f"{reference.lower()}@owner.example"}
        )
        contractor = cls.env["res.partner"].create(
            {"name": f"Contractor of {reference}", "is_service_contractor": True}
        )
        account = cls.env["service.account"].create(
            {
                "property_reference": reference,
                "street": "2 Ledger Lane",
                "city": "Leeds",
                "end_user_id": end_user.id,
                "contractor_id": contractor.id,
                "service_type_id": cls.service_type.id,
                "plan_product_id": cls.product.id,
                "plan_yearly_price": 120.0,
                "cs_user_id": cls.cs_user.id,
            }
        )
        account.action_start_onboarding()
        account.checklist_item_ids.write({"done": True})
        account.action_activate()
        cls.env["service.account"]._apply_service_dates(
            [{"account": account, "service_date": cls.today - relativedelta(months=11)}]
        )
        account.plan_yearly_price = price
        account.open_job_id.action_done()
        return account

    def test_cs_story(self):
        self.start_tour("/odoo", "service_model_cs_tour", login=self.cs_user.login)
        account = self.env["service.account"].search([("property_reference", "=", "TOUR-0001")])
        self.assertEqual(account.stage, "active")
        self.assertEqual(account.cs_user_id, self.cs_user)
        self.assertTrue(account.contractor_id.is_service_contractor)
        self.assertEqual(account.end_user_id.email, "tess@tourwright.example")
        self.assertEqual(sorted(account.job_ids.mapped("state")), ["accepted", "done"])
        self.assertEqual(account.subscription_ids.state, "active")
        self.assertEqual(account.subscription_ids.billing_period_ids[0].state, "posted")

    def test_finance_story(self):
        self._serviced_account("TOUR-OK-1", 120.0)
        failed = self._serviced_account("TOUR-ERR-1", 0.0).subscription_ids
        self.assertTrue(failed.billing_error_date)
        self.start_tour("/odoo", "service_model_finance_tour", login=self.finance_user.login)
        self.assertFalse(failed.billing_error_date)
        self.assertEqual(failed.state, "active")
        self.assertEqual(failed.amount, 180.0)
        self.assertEqual(failed.billing_period_ids[0].state, "posted")

    def test_offer_stories(self):
        admin = new_test_user(
            self.env, login="tour_admin", groups="service_model.group_service_admin"
        )
        house = self._serviced_account("TOUR-OFF-1", 120.0)
        flat = self._serviced_account("TOUR-OFF-2", 120.0)
        flat.property_type = "flat"
        self.start_tour("/odoo", "service_model_offer_admin_tour", login=admin.login)
        offer = self.env["service.offer"].search([("name", "=", "Tour House Offer")])
        self.assertTrue(offer.stage_active and offer.property_type_house)
        # the nightly run (the re-evaluation cron gives the same verdicts)
        offer._evaluate_all()
        results = offer.result_ids.filtered(lambda r: r.account_id in house | flat)
        self.assertEqual(results.filtered("eligible").account_id, house)
        self.start_tour("/odoo", "service_model_offer_cs_tour", login=self.cs_user.login)

    def test_comms_stories(self):
        admin = new_test_user(
            self.env, login="tour_comm_admin", groups="service_model.group_service_admin"
        )
        rule = self.env.ref("service_model_comms.service_comm_rule_account_activated_cs")
        rule.send_email = False
        end_user = self.env["res.partner"].create(
            {"name": "Owner Without Email", "phone": "+44 7700 900404"}
        )
        contractor = self.env["res.partner"].create(
            {"name": "Tour Sparks", "is_service_contractor": True, "email": "jobs@sparks.example"}
        )
        account = self.env["service.account"].create(
            {
                "property_reference": "TOUR-COMM-1",
                "street": "5 Matrix Mews",
                "city": "Leeds",
                "plan_product_id": self.product.id,
                "plan_yearly_price": 120.0,
                "end_user_id": end_user.id,
                "contractor_id": contractor.id,
                "service_type_id": self.service_type.id,
                "cs_user_id": self.cs_user.id,
            }
        )
        account.action_start_onboarding()
        account.checklist_item_ids.write({"done": True})
        account.action_activate()
        self.start_tour("/odoo", "service_model_comms_admin_tour", login=admin.login)
        self.assertTrue(rule.send_email)
        log_before = self.env["service.comm.decision"].search_count([])
        self.start_tour("/odoo", "service_model_comms_cs_tour", login=self.cs_user.login)
        self.assertEqual(self.env["service.comm.decision"].search_count([]), log_before)
