from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestGroups(TransactionCase):
    def test_group_hierarchy(self):
        admin_group = self.env.ref("service_model.group_service_admin")
        user = new_test_user(self.env, login="sm_admin", groups="service_model.group_service_admin")
        self.assertTrue(user.has_group("service_model.group_cs_manager"))
        self.assertTrue(user.has_group("service_model.group_cs_user"))
        self.assertTrue(user.has_group("service_model.group_finance"))
        self.assertIn(user, admin_group.users)

    def test_cs_user_is_not_finance(self):
        user = new_test_user(self.env, login="sm_cs", groups="service_model.group_cs_user")
        self.assertFalse(user.has_group("service_model.group_finance"))
        self.assertFalse(user.has_group("service_model.group_service_admin"))

    def test_settings_menu_only_for_admins(self):
        menu = self.env.ref("service_model.res_config_settings_menu")
        cs_manager = new_test_user(
            self.env, login="sm_csm", groups="service_model.group_cs_manager"
        )
        visible = self.env["ir.ui.menu"].with_user(cs_manager)._visible_menu_ids()
        self.assertNotIn(menu.id, visible)
