from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestSuiteInstall(HttpCase):
    def test_addons_installed(self):
        names = ["service_model", "service_model_comms", "service_model_contractor_portal"]
        modules = self.env["ir.module.module"].search(
            [("name", "in", [*names, "service_model_suite"])]
        )
        self.assertEqual(set(modules.mapped("state")), {"installed"})
        self.assertEqual(len(modules), 4)

    def test_admin_sees_the_suite_menu(self):
        root = self.env.ref("service_model.service_model_menu_root")
        admin = self.env.ref("base.user_admin")
        visible = self.env["ir.ui.menu"].with_user(admin)._visible_menu_ids()
        self.assertIn(root.id, visible)
        settings_menu = self.env.ref("service_model.res_config_settings_menu")
        self.assertIn(settings_menu.id, visible)

    def test_login_page_answers(self):
        response = self.url_open("/web/login")
        self.assertEqual(response.status_code, 200)
        self.assertIn("oe_login_form", response.text)
