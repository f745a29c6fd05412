"""The events of billing, offers and imports reach the matrix, are decided,
logged and worded for their recipient, with a link made for that recipient."""

import csv
import io
from datetime import date

from markupsafe import escape

from odoo.addons.service_model.tests.common import NOW, ServiceModelCommon
from odoo.exceptions import AccessError
from odoo.tests import freeze_time, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestCommEvents(ServiceModelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "service_billing_post_invoices": True,
                "fiscalyear_lock_date": False,
                "sale_lock_date": False,
                "service_billing_journal_id": cls.env["account.journal"]
                .search([("type", "=", "sale"), ("company_id", "=", cls.company.id)], limit=1)
                .id,
            }
        )
        cls.finance_user = new_test_user(
            cls.env, login="sm_comm_finance", groups="service_model.group_finance"
        )
        cls.company.service_finance_user_id = cls.finance_user
        cls.service_admin = new_test_user(
            cls.env, login="sm_comm_events_admin", groups="service_model.group_service_admin"
        )

    def _decisions(self, record, event):
        self.env.cr.precommit.run()
        self.env["service.comm.event"]._dispatch_queued()
        return self.env["service.comm.decision"].search(
            [("res_model", "=", record._name), ("res_id", "=", record.id), ("event", "=", event)]
        )

    def _sent(self, decisions, stakeholder):
        return decisions.filtered(lambda d: d.stakeholder == stakeholder and d.outcome == "send")

    @freeze_time(NOW)
    def test_cs_completes_a_job_subscription_and_invoice_are_announced(self):
        account = self._activate(self._create_account("P-E01"))
        account.last_service_date = date(2025, 6, 1)
        account.open_job_id.with_user(self.cs_user).action_done()
        subscription = account.subscription_ids
        self.assertEqual(subscription.state, "active")
        created = self._decisions(subscription, "subscription_created")
        self.assertEqual(
            {(d.stakeholder, d.outcome) for d in created},
            {("end_user", "send"), ("finance", "send")},
        )
        self.assertEqual(created.account_id, account)
        finance_mail = self._sent(created, "finance").mail_id
        self.assertEqual(finance_mail.recipient_ids, self.finance_user.partner_id)
        self.assertIn("Check its terms", finance_mail.body_html)
        self.assertIn(f"/odoo/service.subscription/{subscription.id}", finance_mail.body_html)
        self.assertIn("a year", self._sent(created, "end_user").mail_id.body_html)

        invoice = self.env["account.move"].search(
            [("service_billing_period_id.subscription_id", "=", subscription.id)]
        )
        self.assertEqual(invoice.state, "posted")
        issued = self._decisions(invoice, "invoice_issued")
        self.assertEqual(issued.account_id, account)
        end_user_mail = self._sent(issued, "end_user").mail_id
        self.assertEqual(end_user_mail.recipient_ids, self.end_user)
        self.assertIn(invoice.name, end_user_mail.subject)
        # the billed end user gets Odoo's own invoice page, signed for them
        self.assertIn("access_token=", end_user_mail.body_html)
        # replaying the posting decides nothing again
        self.env["service.comm.event"]._queue("invoice_issued", invoice)
        self.assertEqual(self._decisions(invoice, "invoice_issued"), issued)

    @freeze_time(NOW)
    def test_offer_eligibility_is_a_marketing_email_with_its_unsubscribe_link(self):
        account = self._activate(self._create_account("P-E02"))
        offer = (
            self.env["service.offer"]
            .with_user(self.service_admin)
            .create({"name": "Smoke alarm upgrade", "stage_active": True})
        )
        offer._evaluate_all()
        result = offer.result_ids.filtered(lambda r: r.account_id == account)
        self.assertTrue(result.eligible)
        decisions = self._decisions(result, "offer_eligible")
        self.assertEqual(decisions.account_id, account)
        mail = self._sent(decisions, "end_user").mail_id
        self.assertIn("Smoke alarm upgrade", mail.subject)
        self.assertIn("/service_comm/unsubscribe?email=ada%40owner.example", mail.body_html)
        self.assertIn("List-Unsubscribe-Post", mail.headers)
        # a service message carries no unsubscribe link
        activated = self._decisions(account, "account_activated")
        self.assertNotIn("unsubscribe", self._sent(activated, "end_user").mail_id.body_html)

    @freeze_time(NOW)
    def test_cs_runs_an_import_the_contractor_and_cs_hear_it_finished(self):
        self._activate(self._create_account("P-E03"))
        out = io.StringIO()
        csv.writer(out).writerows([["Reference", "Service date"], ["P-E03", "2025-06-01"]])
        record = (
            self.env["service.import"]
            .with_user(self.cs_user)
            ._create_from_file(
                self.contractor.with_user(self.cs_user), out.getvalue().encode(), "dates.csv"
            )
        )
        record.action_validate()
        record.action_apply()
        self.assertEqual(record.state, "done")
        decisions = self._decisions(record, "import_finished")
        self.assertEqual(
            {(d.stakeholder, d.recipient_id, d.outcome) for d in decisions},
            {
                ("contractor", self.contractor, "send"),
                ("cs", self.cs_user.partner_id, "send"),
            },
        )
        contractor_mail = self._sent(decisions, "contractor").mail_id
        self.assertIn("Your file", contractor_mail.body_html)
        self.assertIn("dates.csv", contractor_mail.subject)

    @freeze_time(NOW)
    def test_each_stakeholder_reads_its_own_wording_and_link(self):
        account = self._activate(
            self._create_account("P-E04", agency_id=self.agency.id, end_user_id=self.end_user.id)
        )
        decisions = self._decisions(account, "account_activated")
        mails = {d.stakeholder: d.mail_id for d in decisions}
        self.assertIn("your property", mails["end_user"].body_html)
        self.assertIn("a property you manage", mails["agency"].body_html)
        self.assertIn("assigned to you", mails["contractor"].body_html)
        for decision in decisions.filtered("mail_id"):
            # each recipient's own link: the backend form, or with the portal
            # installed the stakeholder's portal page
            link = account._service_comm_link(decision.recipient_id)
            self.assertIn(str(escape(link)), decision.mail_id.body_html)
            self.assertIn(f"{account.id}", link)

    def test_every_event_has_a_template_of_its_model_in_the_matrix(self):
        models = {
            "account": "service.account",
            "job": "service.job",
            "subscription": "service.subscription",
            "invoice": "account.move",
            "offer": "service.offer.result",
            "import": "service.import",
        }
        rules = self.env["service.comm.rule"].search([])
        self.assertEqual(len(rules), 55)
        for rule in rules:
            model = models[rule.event.split("_")[0]]
            self.assertEqual(rule.mail_template_id.model, model, rule.display_name)
            if rule.send_sms:
                self.assertEqual(rule.sms_template_id.model, model, rule.display_name)

    @freeze_time(NOW)
    def test_after_unsubscribing_service_messages_still_go_out_offers_do_not(self):
        account = self._activate(self._create_account("P-E05"))
        Blacklist = self.env["mail.blacklist"]
        url = Blacklist._service_comm_unsubscribe_url(self.end_user.email)
        token = url.rsplit("token=", 1)[1]
        self.assertFalse(Blacklist._service_comm_unsubscribe("ada@owner.example", "forged"))
        self.assertTrue(Blacklist._service_comm_unsubscribe("ada@owner.example", token))
        offer = self.env["service.offer"].create({"name": "Boiler cover", "stage_active": True})
        offer._evaluate_all()
        result = offer.result_ids.filtered(lambda r: r.account_id == account)
        decision = self._decisions(result, "offer_eligible")
        self.assertEqual(
            (decision.outcome, decision.reason_code), ("suppress", "email_blacklisted")
        )
        self.assertEqual(decision.reason, "The email address opted out of marketing messages.")
        activated = self._decisions(account, "account_activated")
        self.assertEqual(self._sent(activated, "end_user").recipient_id, self.end_user)

    @freeze_time(NOW)
    def test_finance_reads_the_invoice_log_not_the_matrix_nor_the_preview(self):
        account = self._activate(self._create_account("P-E06"))
        account.last_service_date = date(2025, 6, 1)
        account.open_job_id.action_done()
        invoice = account.subscription_ids.billing_period_ids.move_id
        self.assertTrue(invoice)
        issued = self._decisions(invoice, "invoice_issued")
        as_finance = self.env["service.comm.decision"].with_user(self.finance_user)
        self.assertEqual(
            as_finance.search([("res_model", "=", "account.move"), ("res_id", "=", invoice.id)]),
            issued,
        )
        sent = self._sent(issued, "end_user").with_user(self.finance_user)
        self.assertEqual((sent.delivery_state, sent.reason), ("queued", "All rules passed."))
        rule = self.env.ref("service_model_comms.service_comm_rule_invoice_issued_finance")
        self.assertFalse(rule.with_user(self.finance_user).send_email)  # Finance reads the matrix
        with self.assertRaises(AccessError):
            rule.with_user(self.finance_user).write({"send_email": True})
        with self.assertRaises(AccessError):
            self.env["service.comm.preview"].with_user(self.finance_user).create(
                {"account_id": account.id, "event": "account_activated"}
            )
        with self.assertRaises(AccessError):
            issued[0].with_user(self.finance_user).write({"outcome": "suppress"})

    @freeze_time(NOW)
    def test_cs_previews_the_invoice_email_of_an_account(self):
        account = self._activate(self._create_account("P-E07"))
        account.last_service_date = date(2025, 6, 1)
        account.open_job_id.action_done()
        preview = (
            self.env["service.comm.preview"]
            .with_user(self.cs_user)
            .create({"account_id": account.id, "event": "invoice_issued"})
        )
        rows = {row["stakeholder"]: row for row in preview._preview_rows()}
        self.assertEqual(rows["end_user"]["outcome"], "send")
        self.assertEqual(rows["end_user"]["recipient_id"], self.end_user.id)
        self.assertEqual(rows["agency"]["reason_code"], "no_recipient")
        self.assertIn("Ada Owner", preview.preview_html)
        preview.event = "import_finished"
        self.assertFalse(preview._preview_rows())  # an import belongs to no account
