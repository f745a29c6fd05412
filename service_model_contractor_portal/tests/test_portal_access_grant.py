from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import ContractorPortalCommon


@tagged("post_install", "-at_install")
class TestGrantPortalAccess(ContractorPortalCommon):
    """CS gives contractors their portal logins with Odoo's own "Grant portal
    access" (``portal.wizard``), from a partner's form and in bulk from the
    list; each new login then sees its company's jobs, and only those."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.ann, cls.ben = Partner.create(
            [
                {
                    "name": "Ann Sparks",
                    "parent_id": cls.contractor.id,
                    "email": "ann@sparks.example",
                },
                {
                    "name": "Ben Sparks",
                    "parent_id": cls.contractor.id,
                    "email": "ben@sparks.example",
                },
            ]
        )
        cls.vic = Partner.create(
            {"name": "Vic Volt", "parent_id": cls.other_contractor.id, "email": "vic@volt.example"}
        )
        cls.own_references = ("PA-LATER", "PA-SOON", "PA-LATE")

    def _open_wizard(self, user, partners):
        """The "Grant portal access" action of the partner form and list, as ``user``."""
        action = (
            self.env.ref("portal.partner_wizard_action_create_and_open")
            .with_user(user)
            .with_context(
                active_model="res.partner", active_id=partners[:1].id, active_ids=partners.ids
            )
            .run()
        )
        return self.env["portal.wizard"].with_user(user).browse(action["res_id"])

    def _grant(self, wizard, partners):
        for line in wizard.user_ids.filtered(lambda line: line.partner_id in partners):
            line.action_grant_access()

    def _assert_sees_only(self, user, seen, unseen):
        self.authenticate(user.login, user.login)
        page = self._get("/my/jobs?filterby=all")
        self.assertEqual(page.status_code, 200)
        for reference in seen:
            self.assertIn(f">{reference}<", page.text, user.login)
        for reference in unseen:
            self.assertNotIn(f">{reference}<", page.text, user.login)

    def test_cs_grants_access_from_the_contractors_form(self):
        # the company's form lists the company and its contact persons
        wizard = self._open_wizard(self.cs_user, self.contractor)
        self.assertIn(self.ann, wizard.user_ids.partner_id)
        self.assertIn(self.portal_a.partner_id, wizard.user_ids.partner_id)
        self._grant(wizard, self.ann)
        user = self.ann.user_ids
        self.assertEqual(user.login, "ann@sparks.example")
        self.assertTrue(user._is_portal())
        self.assertFalse(user.has_group("base.group_user"))
        # the same jobs as the colleagues who had a login already, nothing else
        self._assert_sees_only(user, self.own_references, ["PB-OTHER"])
        with mute_logger("odoo.http"):
            self.assertEqual(self._get(self.job_other.access_url).status_code, 403)
            self.assertEqual(self._get(self.job_soon.account_id.access_url).status_code, 403)
        self.assertEqual(self._get(self.job_soon.access_url).status_code, 200)
        self._assert_sees_only(self.portal_a, self.own_references, ["PB-OTHER"])

    def test_cs_grants_access_in_bulk(self):
        wizard = self._open_wizard(self.cs_user, self.ben | self.vic)
        self.assertEqual(wizard.user_ids.partner_id, self.ben | self.vic)
        self._grant(wizard, self.ben | self.vic)
        self.assertTrue(self.ben.user_ids._is_portal())
        self.assertTrue(self.vic.user_ids._is_portal())
        self._assert_sees_only(self.ben.user_ids, self.own_references, ["PB-OTHER"])
        self._assert_sees_only(self.vic.user_ids, ["PB-OTHER"], self.own_references)
        with mute_logger("odoo.http"):
            self.assertEqual(self._get(self.job_soon.access_url).status_code, 403)

    def test_finance_cannot_grant_portal_access(self):
        """Granting access is the partner managers' (CS): Finance cannot."""
        finance = new_test_user(
            self.env, login="sm_grant_finance", groups="service_model.group_finance"
        )
        with self.assertRaises(AccessError), mute_logger("odoo.addons.base.models.ir_model"):
            self._open_wizard(finance, self.ann)
        with self.assertRaises(AccessError), mute_logger("odoo.addons.base.models.ir_model"):
            self.env["portal.wizard.user"].with_user(finance).create(
                {
                    "wizard_id": self._open_wizard(self.cs_user, self.ann).id,
                    "partner_id": self.ann.id,
                }
            )
        self.assertFalse(self.ann.with_context(active_test=False).user_ids)
