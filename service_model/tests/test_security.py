from datetime import date

from freezegun import freeze_time
from lxml import etree

from odoo.addons.base.models.res_users import name_selection_groups
from odoo.exceptions import AccessError
from odoo.tests import Form, TransactionCase, new_test_user, tagged

from .common import NOW, ServiceModelCommon


@tagged("post_install", "-at_install")
class TestGroups(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cs_manager = new_test_user(
            cls.env, login="sm_csm", groups="service_model.group_cs_manager"
        )
        cls.service_admin = new_test_user(
            cls.env, login="sm_admin", groups="service_model.group_service_admin"
        )

    def test_group_hierarchy(self):
        admin_group = self.env.ref("service_model.group_service_admin")
        user = self.service_admin
        self.assertTrue(user.has_group("service_model.group_cs_manager"))
        self.assertTrue(user.has_group("service_model.group_cs_user"))
        self.assertTrue(user.has_group("service_model.group_finance"))
        self.assertFalse(user.has_group("base.group_system"))
        self.assertIn(user, admin_group.users)

    def test_cs_user_is_not_finance(self):
        user = new_test_user(self.env, login="sm_cs", groups="service_model.group_cs_user")
        self.assertFalse(user.has_group("service_model.group_finance"))
        self.assertFalse(user.has_group("service_model.group_service_admin"))
        self.assertFalse(user.has_group("account.group_account_invoice"))

    def test_roles_are_selections_in_the_user_form(self):
        apps = {
            app: (kind, groups)
            for app, kind, groups, _category in self.env["res.groups"].get_groups_by_application()
        }
        kind, groups = apps[self.env.ref("service_model.module_category_service_model")]
        self.assertEqual(kind, "selection")
        self.assertEqual(
            groups.mapped(lambda g: g.get_external_id()[g.id]),
            [
                "service_model.group_cs_user",
                "service_model.group_cs_manager",
                "service_model.group_service_admin",
            ],
        )
        selections = [groups]
        kind, groups = apps[self.env.ref("service_model.module_category_service_billing")]
        self.assertEqual(kind, "selection")
        self.assertEqual(groups, self.env.ref("service_model.group_finance"))
        selections.append(groups)
        # the fields behind the two dropdowns of the user form
        user_fields = self.env["res.users"].fields_get()
        for groups in selections:
            self.assertEqual(user_fields[name_selection_groups(groups.ids)]["type"], "selection")

    def test_settings_menu_only_for_admins(self):
        menu = self.env.ref("service_model.res_config_settings_menu")
        visible = self.env["ir.ui.menu"].with_user(self.cs_manager)._visible_menu_ids()
        self.assertNotIn(menu.id, visible)
        visible = self.env["ir.ui.menu"].with_user(self.service_admin)._visible_menu_ids()
        self.assertIn(menu.id, visible)

    def test_service_admin_saves_the_suite_settings_only(self):
        company = self.env.company
        Settings = self.env["res.config.settings"].with_user(self.service_admin)
        arch = Settings.get_views([(False, "form")])["views"]["form"]["arch"]
        apps = etree.fromstring(arch).xpath("//app/@name")
        self.assertIn("service_model", apps)
        self.assertNotIn("general_settings", apps)
        default_rights = self.env["res.config.settings"].create({}).user_default_rights
        settings = Settings.create(
            {"service_grace_days": 3, "user_default_rights": not default_rights}
        )
        settings.execute()
        self.assertEqual(company.service_grace_days, 3)
        # Odoo's own settings stay the administrators'
        self.assertEqual(
            self.env["res.config.settings"].create({}).user_default_rights, default_rights
        )
        other_company = self.env["res.company"].create({"name": "Not theirs"})
        other_journal = self.env["account.journal"].create(
            {"name": "Not theirs", "code": "NTH", "type": "sale", "company_id": other_company.id}
        )
        with self.assertRaises(AccessError):
            Settings.create({"service_billing_journal_id": other_journal.id})
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.cs_manager).create(
                {"service_grace_days": 9}
            )
        self.assertEqual(company.service_grace_days, 3)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestRoles(ServiceModelCommon):
    """Each action as the least-privileged role that does it, and what each role cannot."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cs_manager = new_test_user(
            cls.env, login="sm_cs_manager", groups="service_model.group_cs_manager"
        )
        cls.finance = new_test_user(
            cls.env, login="sm_finance", groups="service_model.group_finance"
        )
        cls.env["service.checklist.template"].search([]).active = False
        cls.env["service.checklist.template"].create(
            [
                {"name": "Welcome call", "team": "cs", "sequence": 1},
                {"name": "Payment method", "team": "finance", "sequence": 2},
            ]
        )

    def _cs_account(self, reference="P-CS-1", **overrides):
        return (
            self.env["service.account"]
            .with_user(self.cs_user)
            .create(self._account_vals(reference, **overrides))
        )

    def test_cs_user_sets_up_an_account_with_new_partners(self):
        Partner = self.env["res.partner"].with_user(self.cs_user)
        end_user = Partner.create({"name": "Grace Tenant", "email": "grace@example.com"})
        agency = Partner.create({"name": "Keys Ltd", "is_company": True, "is_service_agency": True})
        contractor = Partner.create(
            {"name": "Gas Safe Ltd", "is_company": True, "is_service_contractor": True}
        )
        contractor.email = "jobs@gassafe.example"
        # the form the CS user saves in the browser, with its onchanges and modifiers
        with Form(self.env["service.account"].with_user(self.cs_user)) as form:
            form.property_reference = "P-CS-1"
            form.street = "2 Dock Road"
            form.city = "Bristol"
            form.end_user_id = end_user
            form.agency_id = agency
            form.contractor_id = contractor
            form.service_type_id = self.service_type
            form.plan_yearly_price = 150.0
            form.bill_to = "agency"
        account = form.record
        self.assertEqual(account.plan_product_id, self.product)
        self.assertEqual(account.bill_to_partner_id, agency)
        account.action_start_onboarding()
        self.assertEqual(account.stage, "onboarding")
        self.assertEqual(len(account.checklist_item_ids), 2)
        account.checklist_item_ids.write({"done": True})
        self.assertEqual(account.checklist_item_ids.done_user_id, self.cs_user)
        account.action_activate()
        account.action_suspend()
        account.action_cancel()
        account.action_reset_to_draft()
        self.assertEqual(
            account.stage_log_ids.mapped("stage"),
            ["draft", "onboarding", "active", "suspended", "cancelled", "draft"],
        )
        self.assertEqual(len(account.stage_log_ids.filtered(lambda log: not log.date_end)), 1)

    def test_stage_history_is_read_only_to_every_role(self):
        log = self._cs_account().stage_log_ids
        self.assertEqual(log.stage, "draft")
        for user in (self.cs_user, self.cs_manager, self.finance):
            Log = self.env["service.account.stage.log"].with_user(user)
            self.assertEqual(Log.browse(log.id).stage, "draft")
            with self.assertRaises(AccessError):
                Log.browse(log.id).write({"date_end": NOW})
            with self.assertRaises(AccessError):
                Log.browse(log.id).unlink()
            with self.assertRaises(AccessError):
                Log.create({"account_id": log.account_id.id, "stage": "active", "date_start": NOW})

    def test_checklist_ticked_by_cs_deleted_by_managers_only(self):
        account = self._cs_account()
        account.action_start_onboarding()
        item = account.checklist_item_ids[:1]
        item.done = True
        with self.assertRaises(AccessError):
            item.unlink()
        with self.assertRaises(AccessError):
            self.env["service.account.checklist.item"].with_user(self.cs_user).create(
                {"account_id": account.id, "name": "Extra check"}
            )
        Item = self.env["service.account.checklist.item"].with_user(self.cs_manager)
        Item.create({"account_id": account.id, "name": "Extra check"})
        Item.browse(item.id).unlink()
        self.assertEqual(
            account.checklist_item_ids.mapped("name"), ["Payment method", "Extra check"]
        )

    def test_finance_ticks_its_items_but_creates_no_accounts_or_jobs(self):
        account = self._cs_account()
        account.action_start_onboarding()
        item = account.checklist_item_ids.filtered(lambda i: i.team == "finance")
        item.with_user(self.finance).done = True
        self.assertEqual(item.done_user_id, self.finance)
        with self.assertRaises(AccessError):
            self.env["service.account"].with_user(self.finance).create(self._account_vals("P-F"))
        with self.assertRaises(AccessError):
            self.env["service.job"].with_user(self.finance).create(
                {"account_id": account.id, "due_date": date(2026, 6, 1)}
            )
        with self.assertRaises(AccessError):
            account.with_user(self.finance).unlink()

    def test_cs_user_sees_subscriptions_but_creates_none_and_has_no_accounting(self):
        account = self._create_active_account()
        Subscription = self.env["service.subscription"]
        subscription = Subscription.create(
            Subscription._prepare_from_account(account, date(2026, 3, 10))
        )
        self.assertEqual(
            Subscription.with_user(self.cs_user).search([("account_id", "=", account.id)]),
            subscription,
        )
        with self.assertRaises(AccessError):
            Subscription.with_user(self.cs_user).create(
                Subscription._prepare_from_account(account, date(2027, 3, 10))
            )
        with self.assertRaises(AccessError):
            subscription.with_user(self.cs_user).amount = 1.0
        with self.assertRaises(AccessError):
            self.env["account.move"].with_user(self.cs_user).search([])
        Subscription.with_user(self.finance).create(
            Subscription._prepare_from_account(account, date(2027, 3, 10))
        )

    def _form_arch(self, user):
        views = self.env["service.account"].with_user(user).get_views([(False, "form")])
        return etree.fromstring(views["views"]["form"]["arch"])

    def test_buttons_and_fields_shown_to_the_roles_that_use_them(self):
        cs_actions = {
            "action_start_onboarding",
            "action_activate",
            "action_suspend",
            "action_cancel",
            "action_reset_to_draft",
            "action_record_service_date",
            "action_create_job",
        }
        cs_form = self._form_arch(self.cs_user)
        self.assertLessEqual(cs_actions, set(cs_form.xpath("//header/button/@name")))
        self.assertFalse(
            cs_actions & set(self._form_arch(self.finance).xpath("//header/button/@name"))
        )
        # CS records a date in the form too (the engine decides); Finance only reads it
        self.assertEqual(
            cs_form.xpath("//field[@name='last_service_date']/@readonly"), ["stage == 'cancelled'"]
        )
        self.assertEqual(
            self._form_arch(self.finance).xpath("//field[@name='last_service_date']/@readonly"),
            ["1"],
        )
        self.assertEqual(
            cs_form.xpath("//field[@name='plan_yearly_price']/@readonly"), ["plan_locked"]
        )
        # the checklist offers no create/delete without the right to do them
        checklist = cs_form.xpath("//field[@name='checklist_item_ids']/list")[0]
        self.assertEqual((checklist.get("create"), checklist.get("delete")), ("False", "False"))
        checklist = self._form_arch(self.cs_manager).xpath(
            "//field[@name='checklist_item_ids']/list"
        )[0]
        self.assertNotIn("False", (checklist.get("create"), checklist.get("delete")))

    def test_plan_locked_once_active_except_for_finance(self):
        account = self._create_active_account()
        self.assertTrue(account.with_user(self.cs_user).plan_locked)
        form = Form(account.with_user(self.cs_user))
        for fname, value in (
            ("plan_yearly_price", 1.0),
            ("plan_term_years", 1),
            ("bill_to", "agency"),
        ):
            with self.assertRaises(AssertionError, msg=fname):
                setattr(form, fname, value)
        self.assertFalse(account.with_user(self.finance).plan_locked)
        # Finance opens the account form and may change the plan there
        form = Form(account.with_user(self.finance))
        self.assertEqual(form.plan_yearly_price, 120.0)
        with self.assertRaises(AssertionError):
            form.last_service_date = date(2026, 1, 1)
        form.plan_yearly_price = 130.0
        form.save()
        self.assertEqual(account.plan_yearly_price, 130.0)
        draft = self._create_account("P-DRAFT")
        self.assertFalse(draft.with_user(self.cs_user).plan_locked)

    def test_cs_user_records_a_service_date_and_runs_the_job(self):
        account = self._cs_account()
        account.action_start_onboarding()
        account.checklist_item_ids.sudo().done = True
        account.action_activate()
        wizard = (
            self.env["service.date.entry.wizard"]
            .with_user(self.cs_user)
            .create({"account_id": account.id, "service_date": date(2025, 3, 20)})
        )
        wizard.action_apply()
        self.assertEqual(account.last_service_date, date(2025, 3, 20))
        job = account.open_job_id
        self.assertTrue(job)
        job.action_start()
        job.action_done()
        self.assertEqual(job.state, "done")
        self.assertEqual(account.last_service_date, date(2026, 3, 10))
        self.assertEqual(
            self.env["service.subscription"]
            .with_user(self.cs_user)
            .search_count([("account_id", "=", account.id)]),
            1,
        )

    def test_import_rows_are_read_only_to_every_role(self):
        data = b"Reference,Service date\r\nP-0001,2026-03-01\r\n"
        service_import = self.env["service.import"]._create_from_file(
            self.contractor, data, "dates.csv"
        )
        line = service_import.line_ids
        self.assertEqual(len(line), 1)
        for user in (self.cs_user, self.cs_manager, self.finance):
            Line = self.env["service.import.line"].with_user(user)
            self.assertEqual(Line.browse(line.id).reference, "P-0001")
            with self.assertRaises(AccessError):
                Line.browse(line.id).write({"service_date": date(2020, 1, 1)})
            with self.assertRaises(AccessError):
                Line.browse(line.id).unlink()
            with self.assertRaises(AccessError):
                Line.create({"import_id": service_import.id, "line_number": 9})
