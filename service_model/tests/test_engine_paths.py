"""Every path that changes a service date, a stage or a job goes through the
due-date engine, as the least-privileged role that takes it."""

from datetime import date, timedelta
from xmlrpc.client import Fault

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from .common import NOW, TODAY, ServiceModelCommon

LAST_SERVICE = date(2025, 6, 10)


class EnginePathsCommon(ServiceModelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cs_manager = new_test_user(
            cls.env, login="sm_cs_manager", groups="service_model.group_cs_manager", tz="UTC"
        )
        cls.finance = new_test_user(
            cls.env, login="sm_finance", groups="service_model.group_finance", tz="UTC"
        )
        cls.active = cls._create_active_account("P-ACTIVE")
        cls.draft = cls._create_account("P-DRAFT")

    def assertNothingStored(self, account):
        account.invalidate_recordset()
        self.assertFalse(account.last_service_date)
        self.assertFalse(account.job_ids)

    def _wizard_model(self, action, user):
        """The model of the wizard ``action`` opens, as ``user``, with its context."""
        return self.env[action["res_model"]].with_user(user).with_context(**action["context"])

    def _new_transaction(self):
        # mail does not track records created in the same transaction: end setUpClass's
        self.env.cr.precommit.run()

    def _tracked(self, record, fname):
        self.env.cr.precommit.run()  # tracking values are written before the commit
        return self.env["mail.tracking.value"].search(
            [
                ("mail_message_id.model", "=", record._name),
                ("mail_message_id.res_id", "=", record.id),
                ("field_id.name", "=", fname),
            ]
        )


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestServiceDatePaths(EnginePathsCommon):
    def test_form_on_active_account_creates_the_job(self):
        with Form(self.active.with_user(self.cs_user)) as form:
            form.last_service_date = LAST_SERVICE
        job = self.active.open_job_id
        self.assertEqual(self.active.last_service_date, LAST_SERVICE)
        self.assertEqual(job.anchor_date, LAST_SERVICE)
        self.assertEqual(job.due_date, date(2026, 6, 10))

    def test_form_on_new_draft_account_stores_the_date(self):
        form = Form(self.env["service.account"].with_user(self.cs_user))
        form.property_reference = "P-NEW"
        form.street = "2 Quay Street"
        form.city = "Bristol"
        form.end_user_id = self.end_user
        form.service_type_id = self.service_type
        form.last_service_date = LAST_SERVICE
        account = form.save()
        self.assertEqual(account.last_service_date, LAST_SERVICE)
        self.assertFalse(account.job_ids)  # row 10: the job follows on activation

    def test_refusals_store_nothing(self):
        account = self.active.with_user(self.cs_user)
        for refused, reason in (
            (TODAY + timedelta(days=1), "in the future"),
            (date(2020, 1, 1), "implausible"),
        ):
            with self.subTest(refused=refused), self.assertRaises(UserError) as caught:
                account.write({"last_service_date": refused, "name": "Renamed"})
            self.assertIn(reason, str(caught.exception))
            self.assertNothingStored(self.active)

    def test_regression_is_refused_backdating_needs_a_manager(self):
        account = self.active.with_user(self.cs_user)
        account.last_service_date = LAST_SERVICE
        job = self.active.open_job_id
        with self.assertRaises(UserError) as caught:
            account.last_service_date = LAST_SERVICE - timedelta(days=30)
        self.assertIn("date regression", str(caught.exception))
        self.assertEqual(self.active.last_service_date, LAST_SERVICE)
        self.assertEqual(job.anchor_date, LAST_SERVICE)
        with self.assertRaises(AccessError):
            self.env["service.account"].with_user(self.cs_user)._apply_service_dates(
                [{"account": self.active, "service_date": date(2025, 5, 1)}],
                allow_backdating=True,
            )
        result = (
            self.env["service.account"]
            .with_user(self.cs_manager)
            ._apply_service_dates(
                [{"account": self.active, "service_date": date(2025, 5, 1)}], allow_backdating=True
            )[0]
        )
        self.assertEqual(result["outcome"], "updated")
        self.assertEqual(job.anchor_date, date(2025, 5, 1))

    def test_date_cannot_be_removed(self):
        self.active.with_user(self.cs_user).last_service_date = LAST_SERVICE
        with self.assertRaises(UserError):
            self.active.with_user(self.cs_user).last_service_date = False
        self.assertEqual(self.active.last_service_date, LAST_SERVICE)

    def test_wizard_as_cs_user(self):
        action = self.active.with_user(self.cs_user).action_record_service_date()
        wizard = Form(self._wizard_model(action, self.cs_user))
        wizard.service_date = LAST_SERVICE
        self.assertIn("A job will be created", wizard.preview)
        wizard.save().action_apply()
        self.assertEqual(self.active.open_job_id.anchor_date, LAST_SERVICE)

    def test_wizard_backdating_is_for_managers(self):
        self._apply(self.active, LAST_SERVICE)
        Wizard = self.env["service.date.entry.wizard"]
        vals = {"account_id": self.active.id, "service_date": date(2025, 5, 1)}
        wizard = Wizard.with_user(self.cs_user).create(dict(vals, allow_backdating=True))
        with self.assertRaises(AccessError):
            wizard.action_apply()
        self.assertEqual(self.active.last_service_date, LAST_SERVICE)
        wizard = Wizard.with_user(self.cs_manager).create(dict(vals, allow_backdating=True))
        wizard.action_apply()
        self.assertEqual(self.active.last_service_date, date(2025, 5, 1))

    def test_load_as_cs_user(self):
        """``load`` is what Odoo's Import calls: every row goes through the engine."""
        future = self._create_active_account("P-FUTURE")
        Account = self.env["service.account"].with_user(self.cs_user)
        result = Account.load(
            [".id", "last_service_date"],
            [
                [str(self.active.id), "2025-06-10"],
                [str(self.draft.id), "2025-06-01"],
                [str(future.id), "2026-04-01"],
            ],
        )
        self.assertTrue(result["messages"])
        for message in result["messages"]:
            self.assertIn(message["rows"]["from"], (0, 2))
            self.assertIn("P-FUTURE", message["message"])
            self.assertIn("in the future", message["message"])
        # load() keeps nothing when a row fails; the good rows go through once fixed
        self.assertFalse(self.active.last_service_date)
        result = Account.load(
            [".id", "last_service_date"],
            [[str(self.active.id), "2025-06-10"], [str(self.draft.id), "2025-06-01"]],
        )
        self.assertFalse(result["messages"])
        self.assertEqual(self.active.open_job_id.anchor_date, LAST_SERVICE)
        self.assertEqual(self.draft.last_service_date, date(2025, 6, 1))
        self.assertFalse(self.draft.job_ids)
        self.assertNothingStored(future)

    def test_load_creates_accounts_with_their_date(self):
        result = (
            self.env["service.account"]
            .with_user(self.cs_user)
            .load(
                ["property_reference", "street", "city", "last_service_date"],
                [["P-LOADED", "3 Quay Street", "Bristol", "2025-06-01"]],
            )
        )
        self.assertFalse(result["messages"])
        account = self.env["service.account"].browse(result["ids"])
        self.assertEqual(account.last_service_date, date(2025, 6, 1))

    def test_base_import_as_cs_user(self):
        xmlid = self.active.export_data(["id"])["datas"][0][0]
        data = f"id,last_service_date\n{xmlid},2025-06-10\n".encode()
        result = self._odoo_import_csv(self.env(user=self.cs_user), data)
        self.assertFalse(result["messages"], result["messages"])
        self.assertEqual(self.active.open_job_id.anchor_date, LAST_SERVICE)

    def test_server_action_goes_through_the_engine(self):
        action = self.env["ir.actions.server"].create(
            {
                "name": "Record last June's service",
                "model_id": self.env["ir.model"]._get_id("service.account"),
                "state": "code",
                "code": "record.write({'last_service_date': datetime.date(2025, 6, 10)})",
            }
        )
        action.with_user(self.cs_user).with_context(
            active_model="service.account", active_id=self.active.id
        ).run()
        self.assertEqual(self.active.open_job_id.anchor_date, LAST_SERVICE)

    def test_automated_action_goes_through_the_engine(self):
        model = self.env["ir.model"]._get("service.account")
        self.env["base.automation"].create(
            {
                "name": "Renamed properties were serviced on a given date",
                "model_id": model.id,
                "trigger": "on_create_or_write",
                "trigger_field_ids": [
                    Command.link(model.field_id.filtered_domain([("name", "=", "name")]).id)
                ],
                "action_server_ids": [
                    Command.create(
                        {
                            "name": "Set the last service date",
                            "model_id": model.id,
                            "state": "code",
                            "code": "records.write({'last_service_date': "
                            "datetime.date(2025, 6, 10) if record.name == 'Serviced' "
                            "else datetime.date(2027, 1, 1)})",
                        }
                    )
                ],
            }
        )
        with self.assertRaises(UserError):
            self.active.with_user(self.cs_user).name = "Future"
        self.assertNothingStored(self.active)
        self.active.with_user(self.cs_user).name = "Serviced"
        self.assertEqual(self.active.open_job_id.anchor_date, LAST_SERVICE)

    def test_anchor_change_is_tracked(self):
        self._new_transaction()
        account = self.active.with_user(self.cs_user).with_context(tracking_disable=False)
        account.last_service_date = LAST_SERVICE
        self.assertTrue(self._tracked(self.active, "last_service_date"))


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestStageWrites(EnginePathsCommon):
    def test_activation_by_write_creates_the_waiting_job(self):
        self.draft.with_user(self.cs_user).last_service_date = LAST_SERVICE
        self.assertFalse(self.draft.job_ids)
        account = self.draft.with_user(self.cs_user)
        account.stage = "onboarding"
        account.checklist_item_ids.write({"done": True})
        account.write({"stage": "active"})
        self.assertEqual(self.draft.open_job_id.anchor_date, LAST_SERVICE)

    def test_cancellation_by_write_cancels_open_jobs(self):
        self._apply(self.active, LAST_SERVICE)
        job = self.active.open_job_id
        self.active.with_user(self.cs_user).write({"stage": "cancelled"})
        self.assertEqual(job.state, "cancelled")

    def test_stage_moves_follow_the_buttons(self):
        self.active.action_cancel()
        with self.assertRaises(UserError) as caught:
            self.active.with_user(self.cs_user).stage = "active"
        self.assertIn("Allowed from Cancelled: Draft", str(caught.exception))

    def test_finance_cannot_move_stages_or_dates(self):
        account = self.active.with_user(self.finance)
        with self.assertRaises(AccessError):
            account.stage = "suspended"
        with self.assertRaises(AccessError):
            account.last_service_date = LAST_SERVICE
        self.assertEqual(self.active.stage, "active")
        self.assertNothingStored(self.active)

    def test_plan_of_an_active_account_is_finance_only(self):
        self.assertTrue(self.active.with_user(self.cs_user).plan_locked)
        self.assertFalse(self.active.with_user(self.finance).plan_locked)
        self.assertFalse(self.draft.with_user(self.cs_user).plan_locked)
        for vals in (
            {"plan_yearly_price": 150.0},
            {"plan_term_years": 3},
            {"bill_to": "agency", "agency_id": self.agency.id},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                self.active.with_user(self.cs_user).write(vals)
        # the same value again (an import row) is no change
        self.active.with_user(self.cs_user).write({"plan_yearly_price": 120.0, "name": "Same"})
        self.draft.with_user(self.cs_user).plan_yearly_price = 99.0
        self._new_transaction()
        self.active.with_user(self.finance).with_context(tracking_disable=False).write(
            {"plan_yearly_price": 150.0, "plan_term_years": 3}
        )
        self.assertEqual(self.active.plan_yearly_price, 150.0)
        tracked = self._tracked(self.active, "plan_yearly_price")
        self.assertEqual(tracked.old_value_float, 120.0)
        self.assertEqual(tracked.new_value_float, 150.0)
        self.assertTrue(self._tracked(self.active, "plan_term_years"))


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestJobPaths(EnginePathsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["service.account"]._apply_service_dates(
            [{"account": cls.active, "service_date": LAST_SERVICE}]
        )
        cls.job = cls.active.open_job_id

    def test_drag_to_done_completes(self):
        self.job.with_user(self.cs_user).write({"state": "done"})
        self.assertEqual(self.job.completion_date, TODAY)
        self.assertEqual(self.active.last_service_date, TODAY)
        self.assertEqual(self.active.open_job_id.anchor_date, TODAY)

    def test_drag_to_done_is_refused_in_the_future(self):
        with self.assertRaises(UserError):
            self.job.with_user(self.cs_user).write(
                {"state": "done", "completion_date": TODAY + timedelta(days=1)}
            )
        self.assertEqual(self.job.state, "accepted")

    def test_done_job_stays_done(self):
        self.job.action_done()
        with self.assertRaises(UserError):
            self.job.with_user(self.cs_user).state = "in_progress"

    def test_reopen_keeps_one_open_job(self):
        job = self.job.with_user(self.cs_user)
        job.action_cancel()
        job.write({"state": "pending"})  # a kanban drag back
        self.assertEqual(self.active.open_job_id, self.job)
        job.action_cancel()
        self.active.with_user(self.cs_user).action_create_job()
        with self.assertRaises(UserError):
            job.write({"state": "accepted"})
        with self.assertRaises(UserError):
            job.action_reset_to_pending()
        self.assertEqual(self.job.state, "cancelled")

    def test_dates_change_through_the_engine_only(self):
        for vals in ({"due_date": date(2026, 7, 1)}, {"anchor_date": date(2025, 7, 1)}):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                self.job.with_user(self.cs_user).write(vals)
        with self.assertRaises(UserError):
            self.env["service.job"].with_user(self.cs_user).create(
                {"account_id": self.draft.id, "due_date": date(2026, 7, 1)}
            )
        self.assertEqual(self.job.due_date, date(2026, 6, 10))

    def test_completion_wizard(self):
        action = self.job.with_user(self.cs_user).action_complete()
        Wizard = self._wizard_model(action, self.cs_user)
        self.assertEqual(Form(Wizard).completion_date, TODAY)
        for refused in (TODAY + timedelta(days=1), LAST_SERVICE - timedelta(days=1)):
            with self.subTest(refused=refused), self.assertRaises(UserError):
                Wizard.create({"completion_date": refused}).action_apply()
            self.assertEqual(self.job.state, "accepted")
        Wizard.create({"completion_date": TODAY - timedelta(days=2)}).action_apply()
        self.assertEqual(self.job.state, "done")
        self.assertEqual(self.active.last_service_date, TODAY - timedelta(days=2))

    def test_completion_wizard_uses_the_company_today(self):
        self.calendar.tz = "Pacific/Auckland"  # already 11 March there at NOW
        action = self.job.with_user(self.cs_user).action_complete()
        form = Form(self._wizard_model(action, self.cs_user))
        self.assertEqual(form.completion_date, TODAY + timedelta(days=1))

    def test_due_date_override_is_for_managers_and_survives(self):
        with self.assertRaises(AccessError):
            self.job.with_user(self.cs_user)._override_due_date(date(2026, 7, 1), "Tenant away")
        action = self.job.with_user(self.cs_manager).action_override_due_date()
        form = Form(self._wizard_model(action, self.cs_manager))
        form.due_date = date(2026, 7, 1)
        form.reason = "Tenant away in June"
        form.save().action_apply()
        self.assertEqual(self.job.due_rule, "manual")
        self.assertIn("Tenant away in June", self.job.message_ids[0].body)
        # a later service date (a re-import) keeps the date set by hand and says so
        self.active.with_user(self.cs_user).last_service_date = date(2025, 6, 20)
        self.assertEqual(self.job.anchor_date, date(2025, 6, 20))
        self.assertEqual(self.job.due_date, date(2026, 7, 1))
        self.assertIn("set by hand is kept", self.job.message_ids[0].body)


@tagged("post_install", "-at_install")
class TestCompanyToday(EnginePathsCommon):
    def test_overdue_and_due_this_week_use_the_company_date(self):
        self._apply(self.active, date(2025, 3, 20))  # overdue at creation: due 17 March
        job = self.active.open_job_id
        with freeze_time("2026-03-10 12:00:00"):
            job.with_context(tracking_disable=True).sudo().write({"due_date": date(2026, 3, 10)})
            Job = self.env["service.job"].with_user(self.cs_user)
            self.calendar.tz = "UTC"
            job.invalidate_recordset(["is_overdue", "is_due_this_week"])
            self.assertFalse(job.is_overdue)
            self.assertTrue(job.is_due_this_week)
            self.assertFalse(Job.search([("is_overdue", "=", True)]))
            self.assertEqual(Job.search([("is_due_this_week", "=", True)]), job)
            # already 11 March in Auckland, whatever the user's timezone says
            self.calendar.tz = "Pacific/Auckland"
            job.invalidate_recordset(["is_overdue", "is_due_this_week"])
            self.assertTrue(job.with_user(self.cs_user).is_overdue)
            self.assertFalse(job.with_user(self.cs_user).is_due_this_week)
            self.assertEqual(Job.search([("is_overdue", "=", True)]), job)
            self.assertEqual(Job.search([("is_overdue", "=", False), ("id", "=", job.id)]).ids, [])
            self.assertFalse(Job.search([("is_due_this_week", "=", True)]))


@tagged("post_install", "-at_install")
class TestRpcPath(EnginePathsCommon, HttpCase):
    """XML-RPC as the integrations use it; dates relative to the company's today
    because the HTTP worker does not run under the test's frozen clock."""

    def _write_date_by_rpc(self, user, days_from_today):
        """``write`` of a last service date ``days_from_today`` by XML-RPC as ``user``."""
        service_date = self.company._service_today() + timedelta(days=days_from_today)
        self.xmlrpc_object.execute(
            self.env.cr.dbname,
            user.id,
            user.login,
            "service.account",
            "write",
            [self.active.id],
            {"last_service_date": fields.Date.to_string(service_date)},
        )
        self.active.invalidate_recordset()
        return service_date

    def test_xmlrpc_write_goes_through_the_engine(self):
        with mute_logger("odoo.http"), self.assertRaises(Fault) as caught:
            self._write_date_by_rpc(self.cs_user, 3)
        self.assertIn("in the future", caught.exception.faultString)
        self.assertNothingStored(self.active)
        anchor = self._write_date_by_rpc(self.cs_user, -60)
        self.assertEqual(self.active.open_job_id.anchor_date, anchor)

    def test_xmlrpc_finance_cannot_change_the_date(self):
        with mute_logger("odoo.http"), self.assertRaises(Fault) as caught:
            self._write_date_by_rpc(self.finance, -3)
        self.assertIn("Only Customer Success", caught.exception.faultString)
        self.assertNothingStored(self.active)

    def test_jsonrpc_call_kw_goes_through_the_engine(self):
        """The web client's own path (``call_kw``), as a CS user with a session."""
        self.authenticate(self.cs_user.login, self.cs_user.login)

        def write(days_from_today):
            service_date = self.company._service_today() + timedelta(days=days_from_today)
            self.make_jsonrpc_request(
                "/web/dataset/call_kw/service.account/write",
                {
                    "model": "service.account",
                    "method": "write",
                    "args": [[self.active.id], {"last_service_date": str(service_date)}],
                    "kwargs": {},
                },
            )
            self.active.invalidate_recordset()
            return service_date

        with mute_logger("odoo.http"), self.assertRaises(JsonRpcException) as caught:
            write(1)
        # the JSON-RPC helper reports the exception's class only
        self.assertEqual(str(caught.exception), "odoo.exceptions.UserError")
        self.assertNothingStored(self.active)
        anchor = write(-45)
        self.assertEqual(self.active.open_job_id.anchor_date, anchor)
