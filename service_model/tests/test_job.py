from datetime import date

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import NOW, TODAY, ServiceModelCommon


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestApplyServiceDates(ServiceModelCommon):
    """The decision matrix through the models, with the company calendar."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls._create_active_account("P-100")

    def test_row1_creates_an_auto_accepted_job(self):
        result = self._apply(self.account, date(2025, 6, 10))
        self.assertEqual(result["outcome"], "created")
        job = result["job"]
        self.assertEqual(job, self.account.open_job_id)
        self.assertEqual(job.state, "accepted")
        self.assertTrue(job.is_auto_accepted)
        self.assertEqual(
            (job.anchor_date, job.due_date, job.due_rule),
            (date(2025, 6, 10), date(2026, 6, 10), "nominal"),
        )
        self.assertEqual(job.contractor_id, self.contractor)
        self.assertEqual(self.account.last_service_date, date(2025, 6, 10))
        self.assertEqual(self.account.job_count, 1)

    def test_row2_public_holiday_in_company_calendar(self):
        self._add_holiday(date(2026, 5, 1), "Labour Day")
        job = self._apply(self.account, date(2025, 5, 1))["job"]
        self.assertEqual(job.due_date, date(2026, 4, 30))
        self.assertEqual(job.nominal_due_date, date(2026, 5, 1))
        self.assertEqual(job.due_rule, "moved_previous")

    def test_row2_holiday_followed_by_weekend(self):
        self._add_holiday(date(2026, 12, 25), "Christmas")
        self.company.service_nonworking_rule = "next"
        job = self._apply(self.account, date(2025, 12, 25))["job"]
        self.assertEqual(job.due_date, date(2026, 12, 28))

    def test_row3_overdue_at_creation_gives_cs_an_activity(self):
        job = self._apply(self.account, date(2025, 3, 1))["job"]
        self.assertTrue(job.is_overdue_at_creation)
        self.assertEqual(job.due_date, date(2026, 3, 17))
        activity = self.account.activity_ids.filtered(lambda a: a.summary == "Overdue at creation")
        self.assertEqual(activity.user_id, self.cs_user)

    def test_row4_short_notice(self):
        job = self._apply(self.account, date(2025, 3, 24))["job"]
        self.assertTrue(job.is_short_notice)
        self.assertIn(job, self.env["service.job"].search([("is_short_notice", "=", True)]))

    def test_rows5_6_rejections_change_nothing(self):
        for service_date, reason in (
            (date(2026, 3, 11), "future"),
            (date(2021, 3, 9), "implausible"),
        ):
            result = self._apply(self.account, service_date)
            self.assertEqual(result["outcome"], "rejected")
            self.assertIn(reason, result["reason"])
        self.assertFalse(self.account.last_service_date)
        self.assertFalse(self.account.job_ids)

    def test_row7_same_date_twice_never_a_second_job(self):
        first = self._apply(self.account, date(2025, 6, 10))
        second = self._apply(self.account, date(2025, 6, 10))
        self.assertEqual(second["outcome"], "unchanged")
        self.assertEqual(second["job"], first["job"])
        self.assertEqual(len(self.account.job_ids), 1)

    def test_row8_newer_date_reschedules_and_logs(self):
        job = self._apply(self.account, date(2025, 5, 4))["job"]
        self.assertEqual(job.due_date, date(2026, 5, 4))
        result = self._apply(self.account, date(2025, 6, 10))
        self.assertEqual((result["outcome"], result["job"]), ("updated", job))
        self.assertEqual(job.due_date, date(2026, 6, 10))
        self.assertEqual(job.anchor_date, date(2025, 6, 10))
        log = job.message_ids.filtered(lambda m: "2026-05-04" in m.body and "2026-06-10" in m.body)
        self.assertTrue(log, "old and new due dates are logged on the job")

    def test_row8_job_in_progress_is_a_conflict(self):
        job = self._apply(self.account, date(2025, 5, 4))["job"]
        job.action_start()
        result = self._apply(self.account, date(2025, 6, 10))
        self.assertEqual(result["outcome"], "conflict")
        self.assertTrue(job.has_conflict)
        self.assertEqual(job.due_date, date(2026, 5, 4), "a job in progress keeps its date")
        self.assertIn(job, self.env["service.job"].search([("has_conflict", "=", True)]))
        self.assertTrue(
            self.account.activity_ids.filtered(lambda a: a.summary == "Service date conflict")
        )
        job.action_resolve_conflict()
        self.assertFalse(
            self.account.activity_ids.filtered(lambda a: a.summary == "Service date conflict")
        )

    def test_row9_regression_unless_backdating(self):
        self._apply(self.account, date(2025, 6, 10))
        result = self._apply(self.account, date(2025, 5, 4))
        self.assertEqual(result["outcome"], "rejected")
        self.assertIn("regression", result["reason"])
        self.assertEqual(self.account.last_service_date, date(2025, 6, 10))
        result = self._apply(self.account, date(2025, 5, 4), allow_backdating=True)
        self.assertEqual(result["outcome"], "updated")
        self.assertEqual(self.account.last_service_date, date(2025, 5, 4))

    def test_row10_inactive_account_then_activation(self):
        account = self._create_account("P-200")
        result = self._apply(account, date(2025, 6, 10))
        self.assertEqual(result["outcome"], "stored")
        self.assertEqual(account.last_service_date, date(2025, 6, 10))
        self.assertFalse(account.job_ids)
        self._activate(account)
        self.assertEqual(account.open_job_id.due_date, date(2026, 6, 10))

    def test_dry_run_writes_nothing(self):
        result = self._apply(self.account, date(2025, 6, 10), dry_run=True)
        self.assertEqual(result["outcome"], "created")
        self.assertEqual(result["due_date"], date(2026, 6, 10))
        self.assertFalse(self.account.last_service_date)
        self.assertFalse(self.account.job_ids)

    def test_database_refuses_a_second_open_job(self):
        self._apply(self.account, date(2025, 6, 10))
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.cr.savepoint():
            self.env["service.job"].create(
                {"account_id": self.account.id, "due_date": date(2026, 7, 1)}
            )


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestPhases(ServiceModelCommon):
    def test_auto_accept_off_waits_for_acceptance(self):
        self.company.service_auto_accept = False
        account = self._create_active_account("P-300")
        job = self._apply(account, date(2025, 6, 10))["job"]
        self.assertEqual(job.state, "pending")
        self.assertFalse(job.is_auto_accepted)
        activity = account.activity_ids.filtered(lambda a: a.summary == "Job waits for acceptance")
        self.assertEqual(activity.user_id, self.cs_user)
        job.action_accept()
        self.assertEqual(job.state, "accepted")
        self.assertFalse(
            account.activity_ids.filtered(lambda a: a.summary == "Job waits for acceptance")
        )

    def test_contractor_override(self):
        self.contractor.service_auto_accept = "never"
        job = self._apply(self._create_active_account("P-301"), date(2025, 6, 10))["job"]
        self.assertEqual(job.state, "pending")
        self.company.service_auto_accept = False
        self.contractor.service_auto_accept = "always"
        job = self._apply(self._create_active_account("P-302"), date(2025, 6, 10))["job"]
        self.assertEqual(job.state, "accepted")

    def test_job_creation_off_schedules_the_manual_step(self):
        self.company.service_auto_create_jobs = False
        owner = self.env["res.users"].create({"name": "Step Owner", "login": "sm_step_owner"})
        self.env.ref("service_model.manual_step_job_creation").user_id = owner
        account = self._create_active_account("P-400")
        result = self._apply(account, date(2025, 6, 10))
        self.assertEqual(result["outcome"], "stored")
        self.assertFalse(account.job_ids)
        activity = account.activity_ids.filtered(lambda a: a.summary == "Create the job")
        self.assertEqual(activity.user_id, owner)
        account._create_jobs_from_anchors()  # the step is waiting already: no second one
        self.assertEqual(
            len(account.activity_ids.filtered(lambda a: a.summary == "Create the job")), 1
        )
        other_step = account._schedule_manual_step("tax_id_check", "Check the tax ID")
        account.action_create_job()
        self.assertTrue(other_step.exists(), "creating the job closes its own step only")
        self.assertEqual(account.open_job_id.due_date, date(2026, 6, 10))
        self.assertFalse(account.activity_ids.filtered(lambda a: a.summary == "Create the job"))

    def test_team_activity_goes_to_the_team_owner(self):
        finance = self.env["res.users"].create({"name": "Fin Owner", "login": "sm_fin_owner"})
        self.company.service_finance_user_id = finance
        account = self._create_account("P-500")
        activity = account._schedule_team_activity("finance", "Check billing")
        self.assertEqual(activity.user_id, finance)
        self.assertEqual(account._schedule_team_activity("ops", "Install").user_id, self.cs_user)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestJobCompletion(ServiceModelCommon):
    def test_completion_sets_anchor_and_starts_next_cycle(self):
        account = self._create_active_account("P-600")
        job = self._apply(account, date(2025, 3, 20))["job"]
        job.completion_date = date(2026, 3, 9)
        job.action_done()
        self.assertEqual(job.state, "done")
        self.assertEqual(account.last_service_date, date(2026, 3, 9))
        next_job = account.open_job_id
        self.assertNotEqual(next_job, job)
        self.assertEqual(next_job.anchor_date, date(2026, 3, 9))
        self.assertEqual(next_job.due_date, date(2027, 3, 9))  # a Tuesday
        self.assertTrue(account.message_ids.filtered(lambda m: "2026-03-09" in (m.body or "")))

    def test_completion_defaults_to_today_and_refuses_future(self):
        account = self._create_active_account("P-601")
        job = self._apply(account, date(2025, 6, 10))["job"]
        job.completion_date = date(2026, 3, 11)
        with self.assertRaises(UserError):
            job.action_done()
        job.completion_date = False
        job.action_done()
        self.assertEqual(job.completion_date, TODAY)

    def test_overdue_filter(self):
        account = self._create_active_account("P-602")
        job = self._apply(account, date(2025, 6, 10))["job"]
        job.due_date = date(2026, 3, 9)
        self.assertTrue(job.is_overdue)
        self.assertIn(job, self.env["service.job"].search([("is_overdue", "=", True)]))
        self.assertNotIn(job, self.env["service.job"].search([("is_overdue", "=", False)]))

    def test_manual_date_entry_wizard(self):
        account = self._create_active_account("P-603")
        wizard = self.env["service.date.entry.wizard"].create(
            {"account_id": account.id, "service_date": date(2025, 6, 10)}
        )
        self.assertIn("2026-06-10", wizard.preview)
        wizard.action_apply()
        self.assertEqual(account.open_job_id.due_date, date(2026, 6, 10))
        wizard = self.env["service.date.entry.wizard"].create(
            {"account_id": account.id, "service_date": date(2026, 4, 1)}
        )
        with self.assertRaises(UserError):
            wizard.action_apply()
