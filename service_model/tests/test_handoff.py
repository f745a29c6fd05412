from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import NOW, ServiceModelCommon


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestHandoff(ServiceModelCommon):
    """The onboarding checklist and the manual steps as activities, done by CS and Finance."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # chatter and activity bookkeeping are what these tests look at
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))
        cls.env["service.checklist.template"].search([]).active = False
        templates = cls.env["service.checklist.template"].create(
            [
                {"name": "Welcome call held", "team": "cs", "sequence": 1},
                {"name": "Billing terms confirmed", "team": "finance", "sequence": 2},
                {"name": "Tax ID confirmed", "team": "finance", "sequence": 3},
                {"name": "Hardware owner named", "team": "ops", "sequence": 4},
            ]
        )
        cls.template_finance_terms = templates[1]
        cls.finance_owner = new_test_user(
            cls.env, login="sm_finance_owner", groups="service_model.group_finance"
        )
        cls.finance_user = new_test_user(
            cls.env, login="sm_finance_clerk", groups="service_model.group_finance"
        )
        cls.ops_owner = new_test_user(
            cls.env, login="sm_ops_owner", groups="service_model.group_cs_user"
        )
        cls.company.write(
            {
                "service_finance_user_id": cls.finance_owner.id,
                "service_ops_user_id": cls.ops_owner.id,
            }
        )

    def _onboard(self, reference, **overrides):
        """A service account in onboarding (as a CS user: see the test below)."""
        account = self._create_account(reference, **overrides)
        account.action_start_onboarding()
        return account

    def _checklist_activities(self, account, team):
        activity_type = self.env.ref(f"service_model.mail_activity_type_checklist_{team}")
        return account.activity_ids.filtered(lambda a: a.activity_type_id == activity_type)

    def _item(self, account, name):
        return account.checklist_item_ids.filtered(lambda i: i.name == name)

    def test_cs_user_onboarding_hands_off_to_each_team(self):
        account = (
            self.env["service.account"].with_user(self.cs_user).create(self._account_vals("P-H00"))
        )
        account.action_start_onboarding()
        teams = set(account.checklist_item_ids.mapped("team"))
        self.assertTrue(teams)
        for team in teams:
            self.assertEqual(len(self._checklist_activities(account.sudo(), team)), 1, team)

    def test_tick_and_untick_post_to_the_chatter(self):
        account = self._onboard("P-H01")
        item = self._item(account, "Welcome call held").with_user(self.cs_user)
        item.done = True
        item.done = False
        logs = account.message_ids.filtered(lambda m: "Checklist item" in m.body)
        self.assertEqual(len(logs), 2)
        self.assertEqual(logs.author_id, self.cs_user.partner_id, "the author says who")
        self.assertIn("unticked: Welcome call held (Customer Success)", logs[0].body)
        self.assertIn("ticked: Welcome call held (Customer Success)", logs[1].body)

    def test_finance_ticks_its_items_in_the_chatter(self):
        account = self._onboard("P-H02")
        self._item(account, "Tax ID confirmed").with_user(self.finance_user).done = True
        log = account.message_ids.filtered(lambda m: "Tax ID confirmed" in m.body)
        self.assertEqual(log.author_id, self.finance_user.partner_id)
        self.assertIn("(Finance)", log.body)

    def test_onboarding_gives_each_team_one_activity_listing_its_items(self):
        account = self._onboard("P-H03")
        account.action_start_onboarding()  # once more: still one activity per team
        owners = {
            team: self._checklist_activities(account, team).user_id
            for team in ("cs", "finance", "ops", "sales")
        }
        self.assertEqual(
            owners,
            {
                "cs": self.cs_user,  # CS: the account's CS owner
                "finance": self.finance_owner,
                "ops": self.ops_owner,
                "sales": self.env["res.users"],  # no open item, no activity
            },
        )
        finance = self._checklist_activities(account, "finance")
        self.assertIn("Billing terms confirmed", finance.note)
        self.assertIn("Tax ID confirmed", finance.note)
        self.assertNotIn("Welcome call held", finance.note)
        self.assertEqual(finance.summary, "Onboarding checklist: Finance")
        self.assertEqual(str(finance.date_deadline), NOW[:10])

    def test_created_in_onboarding_gets_its_activities(self):
        account = self._create_account("P-H04", stage="onboarding")
        self.assertEqual(len(self._checklist_activities(account, "finance")), 1)

    def test_last_item_of_a_team_closes_its_activity_and_untick_reopens_it(self):
        account = self._onboard("P-H05")
        activity = self._checklist_activities(account, "finance")
        activity_type = activity.activity_type_id
        # a Finance user who is not the team owner ticks: the system closes the owner's activity
        terms = self._item(account, "Billing terms confirmed").with_user(self.finance_user)
        terms.done = True
        self.assertTrue(activity.exists())
        self.assertNotIn("Billing terms confirmed", activity.note)
        self._item(account, "Tax ID confirmed").with_user(self.finance_user).done = True
        self.assertFalse(activity.exists())
        done = account.message_ids.filtered(lambda m: m.mail_activity_type_id == activity_type)
        self.assertIn("All the team's checklist items are done.", done.body)
        self.assertEqual(done.author_id, self.finance_user.partner_id)
        self.assertTrue(self._checklist_activities(account, "cs"), "other teams still wait")

        terms.done = False
        reopened = self._checklist_activities(account, "finance")
        self.assertEqual(reopened.user_id, self.finance_owner)
        self.assertIn("Billing terms confirmed", reopened.note)
        self.assertNotIn("Tax ID confirmed", reopened.note)

    def test_untick_on_an_active_account_opens_no_activity(self):
        account = self._onboard("P-H06")
        account.checklist_item_ids.with_user(self.cs_user).write({"done": True})
        self.assertFalse(account.activity_ids)
        account.action_activate()
        self._item(account, "Welcome call held").with_user(self.cs_user).done = False
        self.assertFalse(account.activity_ids)

    def test_cancelling_during_onboarding_drops_the_checklist_activities(self):
        account = self._onboard("P-H07")
        self.assertTrue(account.activity_ids)
        account.action_cancel()
        self.assertFalse(account.activity_ids)

    def test_finance_cannot_move_the_account_on(self):
        account = self._onboard("P-H08")
        with self.assertRaises(AccessError):
            account.with_user(self.finance_user).action_activate()

    def test_each_step_has_its_own_activity_type(self):
        steps = self.env["service.manual.step"].search([])
        self.assertEqual(len(steps.activity_type_id), len(steps))
        self.assertEqual(set(steps.activity_type_id.mapped("res_model")), {"service.account"})

    def test_manual_step_activity_of_its_type_for_the_team_owner(self):
        account = self._onboard("P-H10").with_user(self.cs_user)
        step = self.env.ref("service_model.manual_step_tax_check")
        activity = account._schedule_manual_step("tax_id_check", "Check the tax ID")
        self.assertEqual(activity.activity_type_id, step.activity_type_id)
        self.assertEqual(activity.user_id, self.finance_owner)
        self.assertFalse(account._schedule_manual_step("tax_id_check", "Again"), "waits once")
        self.assertEqual(account._open_step_activities("tax_id_check"), activity)
        # Finance (read-only on the account, not the owner) does the step
        account.with_user(self.finance_user)._close_manual_step("tax_id_check", "Checked.")
        self.assertFalse(activity.exists())
        done = account.message_ids.filtered(
            lambda m: m.mail_activity_type_id == step.activity_type_id
        )
        self.assertIn("Checked.", done.body)

    def test_step_owner_is_the_default_user_of_its_type(self):
        admin = new_test_user(
            self.env, login="sm_service_admin", groups="service_model.group_service_admin"
        )
        step_owner = new_test_user(self.env, login="sm_step_owner2", groups="base.group_user")
        step = self.env.ref("service_model.manual_step_tax_check").with_user(admin)
        step.user_id = step_owner
        self.assertEqual(step.activity_type_id.default_user_id, step_owner)
        account = self._onboard("P-H11").with_user(self.cs_user)
        activity = account._schedule_manual_step("tax_id_check", "Check the tax ID")
        self.assertEqual(activity.user_id, step_owner)

        new_step = (
            self.env["service.manual.step"]
            .with_user(admin)
            .create({"name": "Order the key safe", "code": "key_safe", "team": "ops"})
        )
        self.assertEqual(new_step.activity_type_id.name, "Order the key safe")
        self.assertEqual(account._schedule_manual_step("key_safe", "Order").user_id, self.ops_owner)

    def test_cs_user_cannot_change_the_register(self):
        step = self.env.ref("service_model.manual_step_tax_check").with_user(self.cs_user)
        with self.assertRaises(AccessError):
            step.user_id = self.cs_user

    def test_unknown_step_is_an_error(self):
        account = self._onboard("P-H12").with_user(self.cs_user)
        with self.assertRaises(UserError):
            account._schedule_manual_step("no_such_step", "Nothing")

    def test_each_company_hands_off_to_its_own_team_owners(self):
        company_b = self.env["res.company"].create({"name": "Service Company B"})
        finance_owner_b, cs_user_b = (
            new_test_user(
                self.env,
                login=login,
                groups=groups,
                company_id=company_b.id,
                company_ids=[company_b.id],
            )
            for login, groups in (
                ("sm_finance_owner_b", "service_model.group_finance"),
                ("sm_cs_user_b", "service_model.group_cs_user"),
            )
        )
        company_b.service_finance_user_id = finance_owner_b
        service_type_b = self.service_type.copy({"company_id": company_b.id})

        account_a = self._onboard("P-H20")
        account_b = self._onboard(
            "P-H20",
            company_id=company_b.id,
            cs_user_id=cs_user_b.id,
            service_type_id=service_type_b.id,
        )
        self.assertEqual(account_b.company_id, company_b)
        self.assertEqual(
            self._checklist_activities(account_a, "finance").user_id, self.finance_owner
        )
        self.assertEqual(self._checklist_activities(account_b, "finance").user_id, finance_owner_b)
        # company B has no ops owner: its CS owner gets the ops items
        self.assertEqual(self._checklist_activities(account_b, "ops").user_id, cs_user_b)

        step_b = account_b.with_user(cs_user_b)._schedule_manual_step("tax_id_check", "Check")
        self.assertEqual(step_b.user_id, finance_owner_b)
        with self.assertRaises(AccessError):
            account_a.with_user(cs_user_b).checklist_item_ids.read(["done"])
