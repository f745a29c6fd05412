import re

from freezegun import freeze_time

from odoo.modules.module import get_module_path
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import convert_file


def load_demo(env, *files):
    """Load the suite's demo ``files`` (paths in the addon) into ``env``'s database."""
    for file in files:
        convert_file(
            env,
            "service_model_suite",
            file,
            {},
            mode="init",
            noupdate=False,
            kind="demo",
            pathname=f"{get_module_path('service_model_suite')}/{file}",
        )


@tagged("post_install", "-at_install")
@freeze_time("2026-03-10 12:00:00")
class TestDemoData(TransactionCase):
    """The test database has no demo data: load the suite's demo file here to
    prove that it installs and tells the story it is meant to tell."""

    def test_demo_data_loads(self):
        load_demo(self.env, "data/service_model_suite_demo.xml")
        quay = self.env.ref("service_model_suite.demo_account_quay")
        harbourside = self.env.ref("service_model_suite.demo_account_harbourside")
        mill = self.env.ref("service_model_suite.demo_account_mill")
        orchard = self.env.ref("service_model_suite.demo_account_orchard")
        draft = self.env.ref("service_model_suite.demo_account_draft")
        self.assertEqual((quay | harbourside | mill).mapped("stage"), ["active"] * 3)
        self.assertEqual(orchard.stage, "onboarding")
        self.assertEqual(draft.stage, "draft")
        self.assertEqual(quay.open_job_id.state, "accepted")
        self.assertTrue(harbourside.open_job_id.is_overdue_at_creation)
        self.assertEqual(
            harbourside.bill_to_partner_id, self.env.ref("service_model_suite.demo_agency_harbour")
        )
        self.assertEqual(mill.open_job_id.state, "pending")
        self.assertFalse(orchard.job_ids)
        self.assertTrue(orchard.last_service_date)
        self.assertIn("End User", draft.missing_items)

        # the rest of the story: a subscription invoiced, one in billing error
        riverside = self.env.ref("service_model_suite.demo_account_riverside")
        station = self.env.ref("service_model_suite.demo_account_station")
        self.assertEqual(riverside.subscription_ids.state, "active")
        self.assertEqual(riverside.subscription_ids.billing_period_ids[0].state, "posted")
        self.assertEqual(riverside.open_job_id.state, "accepted")
        self.assertEqual(station.subscription_ids.state, "draft")
        self.assertIn("price", station.subscription_ids.billing_error)

        # one login per backend role, each with only its role's group
        cs = self.env.ref("service_model_suite.demo_user_cs")
        finance = self.env.ref("service_model_suite.demo_user_finance")
        self.assertEqual((cs.login, finance.login), ("cs", "finance"))
        self.assertTrue(cs.has_group("service_model.group_cs_user"))
        self.assertFalse(cs.has_group("service_model.group_cs_manager"))
        self.assertFalse(cs.has_group("service_model.group_finance"))
        self.assertTrue(finance.has_group("service_model.group_finance"))
        self.assertFalse(finance.has_group("service_model.group_cs_user"))
        for user in cs | finance:
            user.with_user(user)._check_credentials(
                {"type": "password", "password": user.login}, {"interactive": True}
            )
        self.assertEqual(
            self.env["service.account"].search([("cs_user_id", "=", cs.id)]),
            quay | orchard | draft | riverside | station,
        )
        self.assertEqual(
            self.env["service.subscription"]
            .with_user(finance)
            .search([("billing_error_date", "!=", False)]),
            station.subscription_ids,
        )

    def test_demo_communications_tell_the_story(self):
        self._load_comms_demo()
        self._assert_comms_story()

    def test_demo_communications_on_a_new_database(self):
        """``make run`` installs the suite with its demo in one go: the automated
        actions start only once the install is over and see none of the demo's
        records. The demo replays their history; the story is the same."""
        automations = self.env["base.automation"]
        automations._unregister_hook()
        self.addCleanup(automations._register_hook)
        self._load_comms_demo()
        self._assert_comms_story()

    def _load_comms_demo(self):
        load_demo(
            self.env,
            "data/service_model_suite_demo.xml",
            "data/service_model_suite_portal_demo.xml",
            "data/service_model_suite_comms_demo.xml",
        )

    def _assert_comms_story(self):
        cs = self.env.ref("service_model_suite.demo_user_cs")
        accounts = self.env["service.account"].search([("property_reference", "like", "DEMO-")])
        # what the CS user reads on the accounts' Communications tabs
        log = accounts.with_user(cs).comm_decision_ids
        # every record event of the demo's history, and the daily reminders
        self.assertLessEqual(
            {
                "account_onboarding",
                "account_activated",
                "job_created",
                "job_accepted",
                "job_completed",
                "subscription_created",
                "invoice_issued",
                "job_due_soon",
                "job_overdue",
            },
            set(log.mapped("event")),
        )
        # one decision per event, record, stakeholder, recipient, channel and occurrence
        # (an event belongs to one model: the event and the id name the record)
        keys = [
            (d.event, d.res_id, d.stakeholder, d.recipient_id, d.channel, d.occurrence_key)
            for d in log
        ]
        self.assertEqual(len(keys), len(set(keys)))
        outcomes = {d.outcome for d in log}
        self.assertLessEqual({"send", "suppress"}, outcomes)
        reasons = set(log.mapped("reason_code"))
        for reason in (
            "account_not_live",  # Orchard is onboarding: nothing to its owner
            "auto_accepted",  # the contractor accepted nothing by hand
            "partner_do_not_contact",  # Femi asked not to be contacted
            "email_blacklisted",  # Eve unsubscribed from offers
            "duplicate",  # Old Mill activated twice the same day
            "no_email",  # Cleo has a phone only
            "no_recipient",  # no agency on most accounts
        ):
            self.assertIn(reason, reasons)
        harbourside = self.env.ref("service_model_suite.demo_account_harbourside")
        redirected = harbourside.comm_decision_ids.filtered("redirected_from_id")
        self.assertTrue(redirected)
        self.assertEqual(
            redirected.recipient_id, self.env.ref("service_model_suite.demo_agency_harbour")
        )
        eve = self.env.ref("service_model_suite.demo_account_riverside").comm_decision_ids
        self.assertTrue(eve.filtered(lambda d: d.event == "invoice_issued" and d.mail_id))
        self.assertTrue(eve.filtered(lambda d: d.reason_code == "email_blacklisted"))
        self.assertFalse(self.env["service.comm.event"].search([]))  # nothing left waiting


@tagged("post_install", "-at_install")
class TestPortalDemoData(HttpCase):
    """The test database has no demo data: load the suite's demo files here to
    prove that the demo portal users see what the README's "Logging in as a
    portal user" says. The demo dates are relative to the day the files load
    (the HTTP worker's clock is not frozen), and what is checked holds on any
    day of the week."""

    def _references(self, url):
        page = self.url_open(url, timeout=60)
        self.assertEqual(page.status_code, 200, url)
        return set(re.findall(r">(DEMO-\d{4})<", page.text))

    def test_portal_demo_users(self):
        load_demo(
            self.env,
            "data/service_model_suite_demo.xml",
            "data/service_model_suite_portal_demo.xml",
        )
        contractor = self.env.ref("service_model_suite.demo_user_contractor")
        agency = self.env.ref("service_model_suite.demo_user_agency")
        sparks = self.env.ref("service_model_suite.demo_contractor_sparks")
        harbour = self.env.ref("service_model_suite.demo_agency_harbour")
        self.assertEqual((contractor.login, agency.login), ("contractor", "agency"))
        for user, company in ((contractor, sparks), (agency, harbour)):
            # Odoo's portal user: the portal group only, on a contact person of the company
            self.assertTrue(user._is_portal())
            self.assertEqual(user.groups_id, self.env.ref("base.group_portal"))
            self.assertEqual(user.partner_id.parent_id, company)
            user.with_user(user)._check_credentials(
                {"type": "password", "password": user.login}, {"interactive": True}
            )

        # the contractor: counts on /my, one job due soon to complete, one overdue
        chapel = self.env.ref("service_model_suite.demo_account_chapel")
        wharf = self.env.ref("service_model_suite.demo_account_wharf")
        self.authenticate("contractor", "contractor")
        counts = self.make_jsonrpc_request(
            "/my/counters",
            {"counters": ["service_job_due_soon_count", "service_job_overdue_count"]},
        )
        self.assertGreaterEqual(counts["service_job_due_soon_count"], 1)
        self.assertEqual(counts["service_job_overdue_count"], 1)
        self.assertIn("DEMO-0008", self._references("/my/jobs?filterby=due_soon"))
        self.assertEqual(self._references("/my/jobs?filterby=overdue"), {"DEMO-0009"})
        self.assertTrue(wharf.open_job_id.is_overdue)
        every_job = self._references("/my/jobs?filterby=all")
        self.assertTrue({"DEMO-0001", "DEMO-0002", "DEMO-0008", "DEMO-0010"} <= every_job)
        self.assertNotIn("DEMO-0003", every_job)  # Northern Gas Safe's
        job = chapel.open_job_id
        page = self.url_open(job.access_url, timeout=60)
        self.assertIn('id="job_actions"', page.text)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = self.url_open(
            f"{job.access_url}/complete",
            data={"csrf_token": csrf, "completion_date": str(job.company_id._service_today())},
            allow_redirects=False,
            timeout=60,
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(job.state, "done")

        # the agency: its two properties, and the invoice billed to it on Odoo's own pages
        marina = self.env.ref("service_model_suite.demo_account_marina")
        invoice = marina.subscription_ids.billing_period_ids.move_ids
        self.assertEqual(invoice.partner_id, harbour)
        self.assertEqual(invoice.state, "posted")
        self.authenticate("agency", "agency")
        self.assertEqual(self._references("/my/properties"), {"DEMO-0002", "DEMO-0010"})
        page = self.url_open(marina.access_url, timeout=60)
        self.assertIn('id="property_invoices"', page.text)
        self.assertIn(invoice.name, page.text)
        self.assertIn(invoice.name, self.url_open("/my/invoices", timeout=60).text)
        self.assertEqual(self.url_open(invoice.access_url, timeout=60).status_code, 200)
        self.assertFalse(self._references("/my/jobs?filterby=all"))
