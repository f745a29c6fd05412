"""The dispatcher as the roles use it: events of the workflow become logged
decisions and queued messages, once."""

from datetime import date

from markupsafe import escape

from odoo import fields
from odoo.addons.mail.tests.common import MockEmail
from odoo.addons.service_model.tests.common import NOW, ServiceModelCommon
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, freeze_time, new_test_user, tagged
from odoo.tools.sql import index_exists


@tagged("post_install", "-at_install")
class TestComms(ServiceModelCommon, MockEmail):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "service_comm_email_enabled": True,
                "service_comm_sms_enabled": True,
                "service_comm_quiet_start": 21.0,
                "service_comm_quiet_end": 8.0,
                "service_comm_duplicate_window_hours": 24,
            }
        )
        cls.texting_user = cls.env["res.partner"].create(
            {
                "name": "Tom Tenant",
                "email": "tom@tenant.example",
                "mobile": "07911 123456",
                "country_id": cls.env.ref("base.uk").id,
                "tz": "Europe/London",
            }
        )
        cls.service_admin = new_test_user(
            cls.env, login="sm_comm_admin", groups="service_model.group_service_admin"
        )
        cls.Decision = cls.env["service.comm.decision"]
        cls.dispatcher = cls.env["service.comm.dispatcher"]

    def _deliver_events(self):
        # what the commit and the dispatch cron do after the user's action
        self.env.cr.precommit.run()
        self.env["service.comm.event"]._dispatch_queued()

    def _decisions(self, record, event):
        self._deliver_events()
        return self._logged(record, event)

    def _logged(self, record, event):
        return self.Decision.search(
            [("res_model", "=", record._name), ("res_id", "=", record.id), ("event", "=", event)]
        )

    def _summary(self, decisions):
        return {
            (d.stakeholder, d.channel): (d.outcome, d.reason_code or "", d.recipient_id)
            for d in decisions
        }

    def _due_soon_account(self, reference, **overrides):
        account = self._activate(self._create_account(reference, **overrides))
        # a year ago plus three days: the job falls due this week
        account.last_service_date = date(2025, 3, 13)
        self.assertTrue(account.open_job_id.is_due_this_week)
        return account

    @freeze_time(NOW)
    def test_cs_user_onboards_and_activates_an_account(self):
        account = self._create_account("P-C01", agency_id=self.agency.id)
        account.with_user(self.cs_user).action_start_onboarding()
        onboarding = self._decisions(account, "account_onboarding")
        self.assertEqual(
            self._summary(onboarding),
            {
                ("end_user", "email"): ("suppress", "account_not_live", self.end_user),
                ("agency", "email"): ("send", "", self.agency),
            },
        )
        silenced = onboarding.filtered(lambda d: d.outcome == "suppress")
        self.assertEqual(
            silenced.reason, "No message reaches the end user before the account is active."
        )
        self.assertEqual(
            silenced.suppression_id,
            self.env.ref("service_model_comms.service_comm_suppression_account_stage"),
        )

        # Finance and CS tick their items; then CS activates
        account.checklist_item_ids.write({"done": True})
        account.with_user(self.cs_user).action_activate()
        activated = self._decisions(account, "account_activated")
        self.assertEqual(
            self._summary(activated),
            {
                ("end_user", "email"): ("send", "", self.end_user),
                ("agency", "email"): ("send", "", self.agency),
                ("contractor", "email"): ("send", "", self.contractor),
            },
        )
        mails = activated.mail_id
        self.assertEqual(len(mails), 3)
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        self.assertEqual(mails.recipient_ids, self.end_user | self.agency | self.contractor)
        self.assertIn("is active", mails[0].subject)
        # Odoo's notification pattern: one chatter entry on the account naming who
        # was emailed, each email with its recipient's own body
        entry = mails.mail_message_id
        self.assertEqual(len(entry), 1)
        self.assertEqual((entry.model, entry.res_id), ("service.account", account.id))
        self.assertTrue(all(mails.mapped("is_notification")))
        for partner in self.end_user | self.agency | self.contractor:
            self.assertIn(escape(partner.name), entry.body)
        self.assertEqual(len(set(mails.mapped("body_html"))), 3)
        chatter = account.with_user(self.cs_user).message_ids
        self.assertIn(entry, chatter)
        self.assertEqual(set(activated.mapped("delivery_state")), {"queued"})
        # CS reads the whole story on the account's tab, and cannot change it
        log = account.with_user(self.cs_user).comm_decision_ids
        self.assertEqual(log, onboarding | activated)
        self.assertEqual(set(log.mapped("delivery_state")), {"none", "queued"})
        with self.assertRaises(AccessError):
            log[0].write({"outcome": "send"})
        with self.assertRaises(AccessError):
            log[0].unlink()
        # Odoo's mail queue sends each recipient their own email; deleting the sent
        # emails (auto_delete) keeps the chatter entry
        with self.mock_mail_gateway(mail_unlink_sent=True):
            mails.send()
        self.assertEqual(len(self._mails), 3)
        for partner in self.end_user | self.agency | self.contractor:
            (sent,) = [m for m in self._mails if m["email_to"] == [partner.email_formatted]]
            self.assertEqual(sent["subject"], entry.subject)
        self.assertEqual(len({m["body"] for m in self._mails}), 3)
        mails.exists().unlink()
        self.assertTrue(entry.exists())

    def test_cs_user_sees_the_communications_tabs_and_the_log_menu(self):
        for model in ("service.account", "service.job"):
            arch = self.env[model].with_user(self.cs_user).get_views([(False, "form")])
            self.assertIn('name="communications"', arch["views"]["form"]["arch"])
        menu = self.env.ref("service_model_comms.service_comm_decision_menu")
        self.assertIn(menu.id, self.env["ir.ui.menu"].with_user(self.cs_user)._visible_menu_ids())
        matrix_menu = self.env.ref("service_model_comms.service_comm_rule_menu")
        self.assertNotIn(
            matrix_menu.id, self.env["ir.ui.menu"].with_user(self.cs_user)._visible_menu_ids()
        )
        with self.assertRaises(AccessError):
            self.Decision.with_user(self.cs_user).create(
                {
                    "event": "job_created",
                    "res_model": "service.account",
                    "res_id": 1,
                    "company_id": self.company.id,
                    "stakeholder": "cs",
                    "channel": "email",
                    "outcome": "send",
                }
            )

    @freeze_time(NOW)
    def test_replaying_an_event_sends_nothing_twice(self):
        account = self._activate(self._create_account("P-C02"))
        decisions = self._decisions(account, "account_activated")
        self.assertTrue(decisions.mail_id)
        mail_count = self.env["mail.mail"].search_count([])
        self.assertFalse(self.dispatcher._dispatch("account_activated", account))
        self.env["service.comm.event"]._queue("account_activated", account)
        self.assertEqual(self._decisions(account, "account_activated"), decisions)
        self.assertEqual(self.env["mail.mail"].search_count([]), mail_count)

    @freeze_time(NOW)
    def test_daily_reminders_run_twice_send_once(self):
        account = self._due_soon_account("P-C03", end_user_id=self.texting_user.id)
        job = account.open_job_id
        self.dispatcher._cron_dispatch_job_reminders()
        first = self._decisions(job, "job_due_soon")
        self.assertEqual(
            self._summary(first),
            {
                ("end_user", "email"): ("send", "", self.texting_user),
                ("end_user", "sms"): ("send", "", self.texting_user),
                ("contractor", "email"): ("send", "", self.contractor),
                ("contractor", "sms"): ("suppress", "no_phone_email_sent", self.contractor),
            },
        )
        self.assertEqual(first.sms_id.number, "+447911123456")
        self.assertEqual(first.sms_id.state, "outgoing")
        self.assertEqual(len(first.mail_id), 2)
        self.assertLessEqual(first, job.with_user(self.cs_user).comm_decision_ids)  # the job tab

        self.dispatcher._cron_dispatch_job_reminders()
        self.assertEqual(self._decisions(job, "job_due_soon"), first)
        self.assertFalse(self._decisions(job, "job_overdue"))

    @freeze_time(NOW)
    def test_cs_previews_what_the_daily_run_then_logs(self):
        account = self._due_soon_account("P-C10", end_user_id=self.texting_user.id)
        self._decisions(account, "account_activated")  # the activation's own messages
        mails_before = self.env["mail.mail"].search_count([])
        log_before = self.Decision.search_count([])
        preview = Form(
            self.env["service.comm.preview"]
            .with_user(self.cs_user)
            .with_context(default_account_id=account.id)
        )
        preview.event = "job_due_soon"
        self.assertEqual(preview.job_id, account.open_job_id)
        self.assertIn("Tom Tenant", preview.preview_html)
        self.assertIn("the email of this event reaches them", preview.preview_html)
        rows = preview.save()._preview_rows()
        self.assertEqual(self.Decision.search_count([]), log_before)
        self.assertEqual(self.env["mail.mail"].search_count([]), mails_before)

        self.dispatcher._cron_dispatch_job_reminders()
        logged = self._decisions(account.open_job_id, "job_due_soon")

        def facts(row):
            return (row["stakeholder"], row["recipient_id"], row["channel"], row["outcome"])

        self.assertEqual(
            sorted(facts(row) for row in rows),
            sorted((d.stakeholder, d.recipient_id.id, d.channel, d.outcome) for d in logged),
        )
        self.assertEqual(sorted(row["reason"] for row in rows), sorted(logged.mapped("reason")))

    @freeze_time(NOW)
    def test_a_crash_mid_run_then_a_rerun_sends_each_message_once(self):
        jobs = (
            self._due_soon_account("P-C11").open_job_id
            | self._due_soon_account("P-C12").open_job_id
        )
        self._deliver_events()  # the jobs' creation is announced
        Queue = self.env["service.comm.event"]
        # the daily run, in batches of one job: each batch is a transaction of its own
        Queue._enqueue("job_due_soon", jobs, {job.id: "2026-03-13" for job in jobs}, batch_size=1)
        template = self.env.ref("service_model_comms.mail_template_job_due_soon")
        subject = template.subject
        # the second job's email cannot be rendered: the run stops after the first batch
        template.subject = "{{ 1 / 0 if object.property_reference == 'P-C12' else 'Due soon' }}"
        with self.env.cr.savepoint():
            Queue._dispatch_queued(limit=1)
        with self.assertRaises(UserError), self.env.cr.savepoint():
            Queue._dispatch_queued(limit=1)
        self.assertEqual(len(self._logged(jobs[0], "job_due_soon").mail_id), 2)
        self.assertFalse(self._logged(jobs[1], "job_due_soon"))
        self.assertEqual(Queue.search_count([]), 1)  # the failed batch stays queued
        # fixed, the cron runs again (and once more): each message once
        template.subject = subject
        Queue._dispatch_queued()
        Queue._dispatch_queued()
        for job in jobs:
            self.assertEqual(len(self._decisions(job, "job_due_soon").mail_id), 2)
            sent = self.env["mail.mail"].search(
                [("model", "=", "service.job"), ("res_id", "=", job.id)]
            )
            self.assertEqual(len(sent.filtered(lambda m: "due" in m.subject.lower())), 2)

    @freeze_time(NOW)
    def test_service_admin_switches_sms_off_in_settings(self):
        Settings = self.env["res.config.settings"].with_user(self.service_admin)
        arch = Settings.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="service_model_comms"', arch)
        Settings.create(
            {"service_comm_sms_enabled": False, "service_comm_quiet_end": 7.5}
        ).execute()
        self.assertFalse(self.company.service_comm_sms_enabled)
        self.assertEqual(self.company.service_comm_quiet_end, 7.5)
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.cs_user).create(
                {"service_comm_sms_enabled": True}
            )
        account = self._due_soon_account("P-C13", end_user_id=self.texting_user.id)
        self.dispatcher._cron_dispatch_job_reminders()
        sms = self._decisions(account.open_job_id, "job_due_soon").filtered(
            lambda d: d.channel == "sms" and d.stakeholder == "end_user"
        )
        self.assertEqual((sms.outcome, sms.reason_code), ("suppress", "channel_off"))

    def _due_soon_jobs(self, prefix, size):
        vals = [
            self._account_vals(f"{prefix}-{i:03d}", end_user_id=self.texting_user.id)
            for i in range(size)
        ]
        accounts = self._activate(self.env["service.account"].create(vals))
        accounts.write({"last_service_date": date(2025, 3, 13)})
        self._deliver_events()
        return accounts.open_job_id

    @freeze_time(NOW)
    def test_dispatch_queries_do_not_grow_with_the_batch(self):
        """Facts, rendering and inserts go by batch: 40 jobs (160 decisions, 80
        emails, 40 SMS) cost what 5 jobs cost, but for the ORM's multi-row
        INSERT statements (one per 100 rows)."""
        counts = []
        for run, size in enumerate((5, 5, 40)):  # the first run warms the caches
            jobs = self._due_soon_jobs(f"Q{run}", size)
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            decisions = self.dispatcher._dispatch("job_due_soon", jobs)
            self.env.flush_all()
            counts.append(self.cr.sql_log_count - before)
            self.assertEqual(len(decisions), 4 * size)
        self.assertEqual(counts[0], counts[1])
        self.assertLessEqual(counts[2] - counts[1], 2, counts)

    @freeze_time(NOW)
    def test_batch_rendering_gives_each_record_its_own_body(self):
        """The dispatcher's one-compilation rendering of a QWeb body says what
        Odoo's rendering record by record says."""
        jobs = self._due_soon_jobs("R", 3)
        template = self.env.ref("service_model_comms.mail_template_job_due_soon").sudo()
        template = template.with_context(
            comm_event="Job due soon",
            comm_stakeholder="contractor",
            comm_recipients={job.id: job.contractor_id for job in jobs},
        )
        by_record = template._render_field("body_html", jobs.ids)
        batch = template.with_context(service_comm_batch_render=True)._render_field(
            "body_html", jobs.ids
        )
        self.assertEqual(batch, by_record)
        self.assertEqual(len(set(batch.values())), 3)
        for job in jobs:
            self.assertIn(job.property_reference, batch[job.id])

    @freeze_time(NOW)
    def test_batch_rendering_of_subjects_and_sms_says_what_odoo_says(self):
        """The dispatcher's one-evaluation rendering of inline templates (the
        subject, the SMS text) says what Odoo's rendering record by record says,
        defaults and empty values included."""
        jobs = self._due_soon_jobs("I", 3)
        mail = self.env.ref("service_model_comms.mail_template_job_due_soon").sudo()
        sms = self.env.ref("service_model_comms.sms_template_job_due_soon").sudo()
        custom = mail.copy(
            {
                "subject": f"{{{{ object.id != {jobs[1].id} and object.contractor_id.name "
                "||| no contractor }} due {{ format_date(object.due_date) }} "
                "({{ 0 }}{{ '' ||| - }}) & {{ object.id }}"
            }
        )
        for template, field in ((mail, "subject"), (sms, "body"), (custom, "subject")):
            by_record = template._render_field(field, jobs.ids)
            batch = template.with_context(service_comm_batch_render=True)._render_field(
                field, jobs.ids
            )
            self.assertEqual(batch, by_record, (template.name, field))
            self.assertEqual(len(set(batch.values())), 3)
        # an empty value gives the default (up to the closing braces), 0 nothing
        self.assertIn("no contractor  due", batch[jobs[1].id])
        self.assertIn("(- ) &", batch[jobs[1].id])
        # an expression that fails fails the batch, as it fails Odoo's rendering
        custom.subject = "{{ 1 / 0 }}"
        with self.assertRaises(UserError):
            custom.with_context(service_comm_batch_render=True)._render_field("subject", jobs.ids)

    def test_the_queues_find_the_decisions_of_what_they_delete_by_index(self):
        """The mail and SMS queues delete what they sent; each deletion sets the
        decisions' link to NULL. Without an index PostgreSQL reads the whole log
        for every deleted message (minutes for 60,000 SMS against 200,000
        decisions in the benchmark)."""
        for column in ("mail_id", "sms_id"):
            self.assertTrue(index_exists(self.cr, f"service_comm_decision__{column}_index"))

    @freeze_time(NOW)
    def test_daily_run_batch_queries_do_not_grow_with_the_batch_size(self):
        """One call of the dispatch cron on a queued batch of the daily run costs
        the same queries for 40 jobs as for 5, but for the ORM's multi-row
        INSERT statements, and leaves none of the batch's records in the cache."""
        Queue = self.env["service.comm.event"]
        counts = []
        for run, size in enumerate((5, 5, 40)):  # the first run warms the caches
            jobs = self._due_soon_jobs(f"B{run}", size)
            Queue._enqueue("job_due_soon", jobs, dict.fromkeys(jobs.ids, "2026-03-13"), size)
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            Queue._cron_dispatch_events()
            self.env.flush_all()
            counts.append(self.cr.sql_log_count - before)
            cached = self.env.cache.get_records(jobs.browse(), jobs._fields["due_date"])
            self.assertFalse(cached & jobs)
            logged = self.Decision.search(
                [("job_id", "in", jobs.ids), ("event", "=", "job_due_soon")]
            )
            self.assertEqual(len(logged.mail_id), 2 * size)
        self.assertFalse(Queue.search_count([]))
        self.assertEqual(counts[0], counts[1])
        self.assertLessEqual(counts[2] - counts[1], 2, counts)

    def test_sms_in_quiet_hours_waits_for_the_morning(self):
        with freeze_time("2026-03-10 12:00:00"):
            account = self._due_soon_account("P-C04", end_user_id=self.texting_user.id)
        job = account.open_job_id
        with freeze_time("2026-03-10 22:30:00"):  # 22:30 in London (GMT)
            self.dispatcher._dispatch("job_due_soon", job)
        sms_decision = self._decisions(job, "job_due_soon").filtered(
            lambda d: d.stakeholder == "end_user" and d.channel == "sms"
        )
        self.assertEqual((sms_decision.outcome, sms_decision.reason_code), ("defer", "quiet_hours"))
        self.assertEqual(
            sms_decision.scheduled_at, fields.Datetime.to_datetime("2026-03-11 08:00:00")
        )
        self.assertFalse(sms_decision.sms_id)
        self.assertEqual(sms_decision.delivery_state, "waiting")
        with freeze_time("2026-03-11 07:55:00"):
            self.dispatcher._cron_send_deferred()
        self.assertFalse(sms_decision.sms_id)
        with freeze_time("2026-03-11 08:00:00"):
            self.dispatcher._cron_send_deferred()
            self.dispatcher._cron_send_deferred()
        self.assertEqual(sms_decision.sms_id.number, "+447911123456")

    @freeze_time(NOW)
    def test_auto_accepted_job_is_not_announced_to_its_contractor(self):
        account = self._activate(self._create_account("P-C05"))
        account.last_service_date = date(2025, 6, 1)
        job = account.open_job_id
        self.assertTrue(job.is_auto_accepted)
        summary = self._summary(self._decisions(job, "job_accepted"))
        self.assertEqual(
            summary[("contractor", "email")], ("suppress", "auto_accepted", self.contractor)
        )
        self.assertEqual(summary[("end_user", "email")], ("send", "", self.end_user))
        self.assertEqual(
            summary[("end_user", "sms")], ("suppress", "no_phone_email_sent", self.end_user)
        )
        self.assertIn(("contractor", "email"), self._summary(self._decisions(job, "job_created")))

    @freeze_time(NOW)
    def test_agency_managed_account_writes_to_the_agency(self):
        account = self._create_account("P-C06", agency_id=self.agency.id, comm_via_agency=True)
        self._activate(account)
        end_user_row = self._decisions(account, "account_activated").filtered(
            lambda d: d.stakeholder == "end_user"
        )
        self.assertEqual(end_user_row.recipient_id, self.agency)
        self.assertEqual(end_user_row.redirected_from_id, self.end_user)
        self.assertIn("agency", end_user_row.reason)
        self.assertEqual(end_user_row.mail_id.recipient_ids, self.agency)

    @freeze_time(NOW)
    def test_blacklist_stops_marketing_but_not_service_messages(self):
        account = self._activate(self._create_account("P-C07"))
        self.env["mail.blacklist"].sudo()._add(self.end_user.email)
        self.dispatcher._dispatch("offer_eligible", account)
        offer = self._decisions(account, "offer_eligible")
        self.assertEqual(
            (offer.outcome, offer.reason_code, offer.recipient_id),
            ("suppress", "email_blacklisted", self.end_user),
        )
        self.dispatcher._dispatch("account_activated", account.copy({"property_reference": "X"}))
        self.assertEqual(
            self._summary(self._decisions(account, "account_activated"))[("end_user", "email")][0],
            "send",
        )

    @freeze_time(NOW)
    def test_do_not_contact_account_gets_nothing(self):
        account = self._create_account("P-C08", comm_do_not_contact=True)
        self._activate(account)
        decisions = self._decisions(account, "account_activated")
        self.assertEqual(set(decisions.mapped("reason_code")), {"account_do_not_contact"})
        self.assertFalse(decisions.mail_id)

    def test_service_admin_edits_the_matrix_cs_cannot(self):
        rule = self.env.ref("service_model_comms.service_comm_rule_job_created_end_user")
        rule.with_user(self.service_admin).write({"send_sms": True})
        self.assertTrue(rule.send_sms)
        quiet = self.env.ref("service_model_comms.service_comm_suppression_quiet_hours")
        quiet.with_user(self.service_admin).active = False
        self.assertNotIn("quiet_hours", self.env["service.comm.suppression"]._evaluation_order())
        self.assertTrue(rule.with_user(self.cs_user).send_email)  # CS reads the matrix
        with self.assertRaises(AccessError):
            rule.with_user(self.cs_user).write({"send_sms": False})
        with self.assertRaises(AccessError):
            quiet.with_user(self.cs_user).active = True

    @freeze_time(NOW)
    def test_an_admins_server_action_goes_through_the_matrix(self):
        action = self.env["ir.actions.server"].create(
            {
                "name": "Offer to the end user",
                "model_id": self.env["ir.model"]._get_id("service.account"),
                "state": "service_comm",
                "service_comm_event": "offer_eligible",
            }
        )
        account = self._activate(self._create_account("P-C09"))
        action.with_context(active_model="service.account", active_ids=account.ids).run()
        # queued for the dispatcher, not decided inside the admin's action
        self.assertFalse(account.comm_decision_ids.filtered(lambda d: d.event == "offer_eligible"))
        offer = self._decisions(account, "offer_eligible")
        # the default matrix has no offer template yet: the log says so
        self.assertEqual((offer.outcome, offer.reason_code), ("suppress", "no_template"))

    @freeze_time(NOW)
    def test_the_log_stays_in_its_company(self):
        company_b = self.env["res.company"].create({"name": "Lettings North Ltd"})
        cs_b = new_test_user(
            self.env,
            login="sm_cs_b",
            groups="service_model.group_cs_user",
            company_id=company_b.id,
            company_ids=[(6, 0, company_b.ids)],
        )
        account_b = self.env["service.account"].create(
            {
                "property_reference": "B-0001",
                "company_id": company_b.id,
                "end_user_id": self.end_user.id,
                "contractor_id": self.contractor.id,
                "cs_user_id": cs_b.id,
            }
        )
        decisions_b = self.dispatcher._dispatch("account_activated", account_b)
        self.assertEqual(set(decisions_b.company_id.ids), {company_b.id})
        self.assertEqual(
            self.Decision.with_user(cs_b).search([("account_id", "=", account_b.id)]), decisions_b
        )
        self.assertFalse(
            self.Decision.with_user(self.cs_user).search([("account_id", "=", account_b.id)])
        )
        with self.assertRaises(AccessError):
            decisions_b.with_user(self.cs_user).read(["reason"])
