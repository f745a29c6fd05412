from datetime import date

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from .common import NOW, ServiceModelCommon

CRON = "service_model.service_offer_cron_reevaluate"
NIGHTLY_CRON = "service_model.service_offer_cron_nightly"


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestEligibility(ServiceModelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "service_billing_post_invoices": True,
                "fiscalyear_lock_date": False,
                "sale_lock_date": False,
            }
        )
        cls.admin = new_test_user(
            cls.env, login="sm_offer_admin", groups="service_model.group_service_admin"
        )
        cls.finance = new_test_user(
            cls.env, login="sm_offer_finance", groups="service_model.group_finance"
        )
        cls.other_agency = cls.env["res.partner"].create(
            {"name": "Quay Lets", "is_company": True, "is_service_agency": True}
        )
        cls.other_contractor = cls.env["res.partner"].create(
            {"name": "Volt Ltd", "is_company": True, "is_service_contractor": True}
        )
        # house, active, agency Harbour, no subscription
        cls.house = cls._create_active_account("P-HOUSE", agency_id=cls.agency.id)
        # flat in draft, contractor Volt
        cls.flat = cls._create_account(
            "P-FLAT", property_type="flat", contractor_id=cls.other_contractor.id
        )
        # commercial, active, subscription started two years ago: year 3, invoices unpaid
        cls.shop = cls._create_active_account("P-SHOP", property_type="commercial")
        Subscription = cls.env["service.subscription"]
        cls.subscription = Subscription.create(
            Subscription._prepare_from_account(cls.shop, date(2024, 3, 1))
        )
        with freeze_time("2024-03-01"):  # year 1 invoiced then, unpaid since
            cls.subscription.action_activate()
        cls.invoices = cls.env["account.move"].search(
            [("service_billing_period_id.subscription_id", "=", cls.subscription.id)]
        )
        cls.accounts = cls.house | cls.flat | cls.shop

    def _offer(self, **vals):
        return self.env["service.offer"].create(dict({"name": "Smoke alarm upgrade"}, **vals))

    def _verdict(self, offer, account):
        evaluation, _error = offer._evaluate(account)[(offer.id, account.id)]
        return evaluation.eligible, [c.reason for c in evaluation.checks if not c.passed]

    def _run_marked(self):
        return self.env["service.offer"]._evaluate_marked()

    def _results(self, offer):
        return {r.account_id: r for r in offer.result_ids}

    def _settle(self):
        """Evaluate everything and clear the marks: the state before a change."""
        self.env["service.offer"]._evaluate_marked()
        self.assertFalse(self.accounts.filtered("offer_dirty"))

    # -- each criterion, passing and failing ------------------------------------------------

    def test_each_criterion_passes_and_fails_with_its_reason(self):
        cases = [
            (
                {"stage_active": True},
                self.house,
                self.flat,
                "The account is in stage Draft; the offer is for Active.",
            ),
            (
                {"stage_active": False, "subscription_year_from": 3, "subscription_year_to": 4},
                self.shop,
                self.house,
                "The account has no running subscription.",
            ),
            (
                {"stage_active": False, "no_overdue_invoice": True, "overdue_days": 30},
                self.house,
                self.shop,
                "An invoice due on 2024-03-01 is unpaid; the offer allows 30 days past due.",
            ),
            (
                {"stage_active": False, "property_type_flat": True, "property_type_house": True},
                self.flat,
                self.shop,
                "The property is a Commercial; the offer is for House, Flat.",
            ),
            (
                {"stage_active": False, "agency_include_ids": [self.agency.id]},
                self.house,
                self.shop,
                "The account has no agency; the offer is for some agencies only.",
            ),
            (
                {"stage_active": False, "agency_exclude_ids": [self.agency.id]},
                self.shop,
                self.house,
                "The agency Harbour Lettings is excluded from the offer.",
            ),
            (
                {"stage_active": False, "contractor_include_ids": [self.contractor.id]},
                self.house,
                self.flat,
                "The contractor Volt Ltd is not one of the offer's contractors.",
            ),
            (
                {"stage_active": False, "contractor_exclude_ids": [self.other_contractor.id]},
                self.house,
                self.flat,
                "The contractor Volt Ltd is excluded from the offer.",
            ),
            (
                {
                    "stage_active": False,
                    "domain": "[('city', '=', 'Bristol'), ('name', '=', False)]",
                },
                self.house,
                self.accounts.browse(),
                None,
            ),
            (
                {"stage_active": False, "domain": "[('property_reference', 'like', 'P-SH')]"},
                self.shop,
                self.house,
                "The account does not match the offer's extra conditions.",
            ),
            (
                {"stage_active": False, "date_end": date(2026, 3, 9)},
                self.accounts.browse(),
                self.house,
                "The offer ended on 2026-03-09.",
            ),
        ]
        for vals, passing, failing, reason in cases:
            offer = self._offer(**vals)
            if passing:
                self.assertEqual(self._verdict(offer, passing), (True, []), vals)
            if failing:
                self.assertEqual(self._verdict(offer, failing), (False, [reason]), vals)

    def test_subscription_year_and_overdue_look_at_the_invoices(self):
        offer = self._offer(subscription_year_from=3, no_overdue_invoice=True, overdue_days=0)
        self.assertEqual(self.invoices.invoice_date_due, date(2024, 3, 1))
        self.assertFalse(self._verdict(offer, self.shop)[0])
        self._pay(self.invoices)
        self.assertEqual(self._verdict(offer, self.shop), (True, []))

    def _pay(self, invoices):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoices.ids
        ).create({"payment_date": date(2026, 3, 10)})._create_payments()
        self.assertTrue(all(m.payment_state in ("paid", "in_payment") for m in invoices))

    # -- when: marks in the workflow's transaction, evaluation after it ----------------------

    def test_each_watched_field_re_evaluates_only_the_changed_account_after_the_transaction(self):
        offer = self._offer(
            stage_active=True,
            property_type_house=True,
            agency_exclude_ids=[self.other_agency.id],
            contractor_exclude_ids=[self.other_contractor.id],
        )
        self._settle()
        changes = [
            ("stage", lambda a: a.action_suspend()),
            ("agency_id", lambda a: a.write({"agency_id": self.other_agency.id})),
            ("contractor_id", lambda a: a.write({"contractor_id": self.other_contractor.id})),
            ("property_type", lambda a: a.write({"property_type": "flat"})),
        ]
        cron = self.env.ref(CRON)
        for field, change in changes:
            account = self._create_active_account(f"P-W-{field}", agency_id=self.agency.id)
            self._settle()
            self.assertTrue(self._results(offer)[account].eligible)
            before = {r: r.evaluated_at for r in offer.result_ids}
            triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
            self.env.cr.precommit.clear()  # a new workflow transaction
            with freeze_time("2026-03-10 12:05:00"):
                change(account.with_user(self.cs_user))
                # marked in the workflow's transaction; evaluation waits for the cron
                self.assertEqual(
                    self.env["service.account"].search([("offer_dirty", "=", True)]), account
                )
                self.assertTrue(self._results(offer)[account].eligible)
                self.assertGreater(
                    self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
                    triggers,
                )
                self.assertEqual(self._run_marked(), 1)
            result = self._results(offer)[account]
            self.assertFalse(result.eligible)
            self.assertTrue(result.changed)
            self.assertTrue(result.previous_eligible)
            self.assertTrue(result.reasons)
            for other, evaluated_at in before.items():
                if other.account_id != account:
                    self.assertEqual(other.evaluated_at, evaluated_at)

    def test_payment_state_marks_the_invoiced_account_only(self):
        offer = self._offer(stage_active=True, no_overdue_invoice=True)
        self._settle()
        self.assertFalse(self._results(offer)[self.shop].eligible)
        self._pay(self.invoices)
        self.assertEqual(
            self.env["service.account"].search([("offer_dirty", "=", True)]), self.shop
        )
        self.assertEqual(self._run_marked(), 1)
        result = self._results(offer)[self.shop]
        self.assertTrue(result.eligible)
        self.assertTrue(result.changed)
        self.assertIn("An invoice due on 2024-03-01 is unpaid", result.previous_reasons)

    def test_nightly_run_moves_the_subscription_year(self):
        offer = self._offer(stage_active=True, subscription_year_to=3)
        self._settle()
        self.assertTrue(self._results(offer)[self.shop].eligible)
        with freeze_time("2027-03-10 03:00:00"):
            self.env["service.offer"]._evaluate_all()
        result = self._results(offer)[self.shop]
        self.assertFalse(result.eligible)
        self.assertEqual(result.reasons, "The subscription is in year 4; the offer ends at year 3.")
        self.assertIn("Subscription year: 4", result.values_seen)

    def test_offer_change_re_evaluates_its_accounts(self):
        offer = self._offer(stage_active=True)
        self._settle()
        self.assertFalse(offer.needs_evaluation)
        self.assertEqual(offer.eligible_count, 2)
        offer.with_user(self.admin).write({"stage_draft": True})
        self.assertTrue(offer.needs_evaluation)
        self._run_marked()
        offer.invalidate_recordset()
        self.assertEqual(offer.eligible_count, 3)

    def test_newly_eligible_account_gets_an_activity_for_its_cs_owner(self):
        offer = self._offer(stage_draft=True, stage_active=False, name="Window guards")
        self._settle()
        self.assertTrue(self._results(offer)[self.flat].eligible)
        activity = self.flat.activity_ids.filtered(lambda a: "Window guards" in a.summary)
        self.assertEqual(activity.user_id, self.cs_user)
        self.assertFalse(self.house.activity_ids.filtered(lambda a: "Window guards" in a.summary))
        # a second evaluation of an unchanged verdict is silent
        self.flat.activity_ids.unlink()
        self.env["service.offer"]._evaluate_all()
        self.assertFalse(self.flat.activity_ids)

    # -- the crons: one batch per call, progress to the framework, no commit ---------------
    # (a commit inside a test raises: calling the cron methods here shows they never commit)

    def _progress(self, xmlid):
        """The progress record the cron framework puts in the context of one call."""
        _cron, progress = self.env.ref(xmlid)._add_progress()
        Offer = self.env["service.offer"].with_context(ir_cron_progress_id=progress.id)
        return Offer, progress

    def test_triggered_cron_reports_its_batch_to_the_framework(self):
        offer = self._offer(stage_active=True)
        Offer, progress = self._progress(CRON)
        Offer._cron_evaluate_marked()
        # the accounts created by the set-up were marked: one batch holds them all
        self.assertEqual((progress.done, progress.remaining), (3, 3))
        Offer, progress = self._progress(CRON)
        Offer._cron_evaluate_marked()  # then the new offer's accounts
        self.assertEqual((progress.done, progress.remaining), (3, 0))
        self.assertFalse(offer.needs_evaluation)
        self.assertEqual(len(offer.result_ids), 3)
        Offer, progress = self._progress(CRON)
        Offer._cron_evaluate_marked()
        self.assertEqual((progress.done, progress.remaining), (0, 0))

    def test_nightly_run_continues_where_the_last_call_stopped(self):
        offer = self._offer(stage_active=True, subscription_year_to=3)
        self._settle()
        nightly = self.env.ref(NIGHTLY_CRON)
        nightly.nextcall = "2027-03-10 02:00:00"
        with freeze_time("2027-03-10 02:00:05"):
            Offer = self.env["service.offer"]
            Offer._start_nightly_run()
            self.assertTrue(offer.needs_evaluation)
            done, remaining = Offer._evaluate_batch(batch_size=2)
            self.assertEqual((done, remaining), (2, 1))
            self.assertEqual(offer.evaluation_cursor, self.accounts.sorted("id")[1].id)
        with freeze_time("2027-03-10 02:00:09"):
            # the next call of the same run: nothing restarts
            self.assertFalse(Offer._start_nightly_run())
            self.assertEqual(Offer._evaluate_batch(batch_size=2), (1, 0))
            self.assertFalse(offer.needs_evaluation)
            self.assertFalse(Offer._start_nightly_run())
            self.assertEqual(Offer._evaluate_batch(batch_size=2), (0, 0))
        self.assertFalse(self._results(offer)[self.shop].eligible)
        self.assertEqual(
            self._results(offer)[self.shop].changed_at.isoformat(), "2027-03-10T02:00:09"
        )
        # the next night starts again
        nightly.nextcall = "2027-03-11 02:00:00"
        with freeze_time("2027-03-11 02:00:03"):
            Offer, progress = self._progress(NIGHTLY_CRON)
            Offer._cron_evaluate_all()
            self.assertEqual((progress.done, progress.remaining), (3, 0))
            self.assertEqual(offer.last_run_at.isoformat(), "2027-03-11T02:00:03")

    def test_an_offer_changed_during_its_evaluation_starts_again(self):
        offer = self._offer(stage_active=True)
        self._settle()
        offer.with_user(self.admin).write({"stage_draft": True})
        self.assertEqual(self.env["service.offer"]._evaluate_batch(batch_size=2), (2, 1))
        offer.with_user(self.admin).write({"stage_suspended": True})
        self.assertEqual(offer.evaluation_cursor, 0)
        # from the first account again, not from where the old criteria stopped
        self.assertEqual(self.env["service.offer"]._evaluate_batch(batch_size=2), (2, 1))

    def test_unchanged_results_cost_the_same_queries_for_more_accounts(self):
        self._offer(stage_active=True, no_overdue_invoice=True)
        self._offer(name="Leeds", domain="[('city', '!=', 'Nowhere')]")
        self._settle()

        def nightly_queries():
            self.env.cr.flush()  # what the set-up left for the end of the transaction
            queries = self.env.cr.sql_log_count
            stored = self.env["service.offer.result"].search([]).mapped("stored_at")
            accounts = self.env["service.account"].with_context(active_test=False)
            self.assertEqual(self.env["service.offer"]._evaluate_all(), accounts.search_count([]))
            self.env.flush_all()
            self.assertEqual(
                self.env["service.offer.result"].search([]).mapped("stored_at"), stored
            )
            return self.env.cr.sql_log_count - queries

        before = nightly_queries()
        for number in range(4):
            self.accounts |= self._create_active_account(f"P-MORE-{number}")
        self._settle()
        self.assertEqual(nightly_queries(), before)

    # -- failures stay with the offer -------------------------------------------------------

    def test_broken_domain_is_recorded_and_stops_nothing(self):
        broken = self._offer(name="Broken", domain="[('no_such_field', '=', 1)]")
        typo = self._offer(name="Typo", domain="[('city', '=',")
        fine = self._offer(name="Fine", stage_active=True)
        # the workflow runs: an account write and a job completion as CS
        self.house.with_user(self.cs_user).write({"property_type": "flat"})
        job = self.env["service.job"].create(
            {
                "account_id": self.house.id,
                "company_id": self.company.id,
                "completion_date": date(2026, 3, 9),
            }
        )
        job.with_user(self.cs_user).action_done()
        self.assertEqual(job.state, "done")
        self._settle()
        for offer in broken | typo:
            self.assertTrue(offer.error_message)
            results = offer.result_ids
            self.assertEqual(len(results), 3)
            self.assertTrue(all(r.error and not r.eligible for r in results))
            self.assertIn("cannot be evaluated", results[0].reasons)
        self.assertFalse(fine.error_message)
        self.assertEqual(fine.eligible_count, 2)
        # fixed: the error goes away
        broken.domain = "[]"
        self._run_marked()
        self.assertFalse(broken.error_message)
        self.assertFalse(broken.result_ids.filtered("error"))

    def test_a_domain_the_database_refuses_stays_with_its_offer(self):
        # the extra domains are read with the facts in one query: one the database
        # refuses (a text for an id) must not take the other offer's domain with it
        refused = self._offer(name="Refused", domain="[('id', '>', 'not a number')]")
        fine = self._offer(name="Not Leeds", domain="[('city', '!=', 'Leeds')]")
        logger = "odoo.addons.service_model.models.service_offer"
        with self.assertLogs(logger, "DEBUG") as logged:
            self.env["service.offer"]._evaluate_all()
        self.assertTrue(any("searched one by one" in line for line in logged.output))
        self.assertTrue(refused.error_message)
        self.assertTrue(all(r.error and not r.eligible for r in refused.result_ids))
        self.assertFalse(fine.error_message)
        self.assertEqual(len(fine.result_ids), 3)
        self.assertFalse(fine.result_ids.filtered("error"))
        # the active house and shop (the flat is a draft), none of them in Leeds
        self.assertEqual(fine.eligible_count, 2)
        # the preview reads them the same way
        self.assertEqual(fine.preview_eligible_count, 2)
        self.assertEqual(refused.preview_eligible_count, 0)

    # -- preview ----------------------------------------------------------------------------

    def test_preview_before_saving_agrees_with_the_nightly_run(self):
        with Form(self.env["service.offer"].with_user(self.admin)) as form:
            form.name = "Gutter cleaning"
            form.stage_draft = True
            form.property_type_house = True
            form.property_type_flat = True
            self.assertEqual(form.preview_account_count, 3)
            self.assertEqual(form.preview_eligible_count, 2)
            self.assertIn("The property is a Commercial", form.preview_sample)
            form.stage_active = False
            self.assertEqual(form.preview_eligible_count, 1)
            offer = form.save()
        self.env["service.offer"]._evaluate_all()
        eligible = offer.result_ids.filtered("eligible").account_id
        self.assertEqual(eligible, self.flat)
        self.assertEqual(offer.preview_eligible_count, len(eligible))

    def test_preview_shows_a_bounded_sample_eligible_first(self):
        for number in range(11):
            self._create_account(f"P-DRAFT-{number}")
        with Form(self.env["service.offer"].with_user(self.admin)) as form:
            form.name = "Draft accounts"
            form.stage_active = False
            form.stage_draft = True
            self.assertEqual(form.preview_account_count, 14)
            self.assertEqual(form.preview_eligible_count, 12)
            sample = form.preview_sample
            self.assertEqual(sample.count("<tr>"), 11)  # the header and 10 accounts
            self.assertNotIn("Not eligible", sample)

    # -- roles ------------------------------------------------------------------------------

    def test_cs_reads_results_and_cannot_edit_offers(self):
        offer = self._offer(stage_active=True)
        self._settle()
        results = (
            self.env["service.offer.result"]
            .with_user(self.cs_user)
            .search([("account_id", "=", self.shop.id)])
        )
        self.assertEqual(results.offer_id, offer)
        self.assertTrue(results.eligible)
        self.assertEqual(self.house.with_user(self.cs_user).offer_eligible_count, 1)
        self.assertEqual(
            self.house.with_user(self.cs_user).action_view_offers()["res_model"],
            "service.offer.result",
        )
        with self.assertRaises(AccessError):
            offer.with_user(self.cs_user).write({"stage_draft": True})
        with self.assertRaises(AccessError):
            self.env["service.offer"].with_user(self.cs_user).create({"name": "Mine"})
        with self.assertRaises(AccessError):
            results.with_user(self.cs_user).write({"eligible": False})
        with self.assertRaises(AccessError):
            results.with_user(self.finance).unlink()
        self.assertTrue(self.env["service.offer.result"].with_user(self.finance).search_count([]))

    def test_administrator_configures_offers(self):
        with Form(self.env["service.offer"].with_user(self.admin)) as form:
            form.name = "Carbon monoxide detector"
            form.stage_active = True
            form.no_overdue_invoice = True
            form.overdue_days = 14
            form.agency_exclude_ids.add(self.other_agency)
        offer = form.record
        self.assertTrue(offer.needs_evaluation)
        offer.with_user(self.admin).write({"date_end": date(2026, 12, 31)})
        offer.with_user(self.admin).action_evaluate_now()
        with self.assertRaises(AccessError):
            offer.with_user(self.cs_user).action_evaluate_now()
        offer.with_user(self.admin).unlink()

    def test_other_company_sees_no_result(self):
        self._offer(stage_active=True)
        self._settle()
        company_b = self.env["res.company"].create({"name": "Company B"})
        user_b = new_test_user(
            self.env,
            login="sm_offer_cs_b",
            groups="service_model.group_cs_user",
            company_id=company_b.id,
            company_ids=[(6, 0, [company_b.id])],
        )
        self.assertFalse(self.env["service.offer.result"].with_user(user_b).search([]))
        self.assertFalse(self.env["service.offer"].with_user(user_b).search([]))
