from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from .common import ContractorPortalCommon


@tagged("post_install", "-at_install")
class TestContractorPortalAccess(ContractorPortalCommon):
    """Who reaches which job: each contractor company its own, nobody else."""

    def test_record_rules(self):
        Job = self.env["service.job"]
        Account = self.env["service.account"]
        mine = self.job_later | self.job_soon | self.job_late
        for user in (self.portal_a, self.portal_a_colleague):
            self.assertEqual(Job.with_user(user).search([]), mine)
        self.assertEqual(Job.with_user(self.portal_b).search([]), self.job_other)
        self.assertFalse(Job.with_user(self.portal_outsider).search([]))
        self.assertFalse(Job.with_user(self.portal_agency).search([]))
        self.assertEqual(Account.with_user(self.portal_a).search([]), mine.account_id)
        self.assertEqual(Account.with_user(self.portal_agency).search([]), self.job_soon.account_id)
        with self.assertRaises(AccessError):
            self.job_other.with_user(self.portal_a).check_access("read")
        with self.assertRaises(AccessError):
            self.job_later.with_user(self.portal_a).check_access("write")

    def test_public_visitor_is_sent_to_login(self):
        for url in ("/my/jobs", self.job_later.access_url):
            response = self._get(url, allow_redirects=False)
            self.assertIn(response.status_code, (302, 303), url)
            self.assertIn("/web/login", response.headers["Location"], url)

    def test_list_shows_only_own_jobs(self):
        for user, seen, unseen in (
            (self.portal_a, ["PA-LATER", "PA-SOON", "PA-LATE"], ["PB-OTHER"]),
            (self.portal_a_colleague, ["PA-LATER", "PA-SOON", "PA-LATE"], ["PB-OTHER"]),
            (self.portal_b, ["PB-OTHER"], ["PA-LATER", "PA-SOON", "PA-LATE"]),
            (self.portal_outsider, [], ["PA-LATER", "PB-OTHER"]),
        ):
            self.authenticate(user.login, user.login)
            page = self._get("/my/jobs?filterby=all")
            self.assertEqual(page.status_code, 200)
            for reference in seen:
                self.assertIn(reference, page.text, user.login)
            for reference in unseen:
                self.assertNotIn(reference, page.text, user.login)

    def test_job_page_of_others_is_refused(self):
        self.authenticate(self.portal_a.login, self.portal_a.login)
        page = self._get(self.job_soon.access_url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("PA-SOON", page.text)
        with mute_logger("odoo.http"):
            self.assertEqual(self._get(self.job_other.access_url).status_code, 403)
            self.assertEqual(self._get("/my/jobs/999999999").status_code, 404)
        for user in (self.portal_b, self.portal_outsider, self.portal_agency):
            self.authenticate(user.login, user.login)
            with mute_logger("odoo.http"):
                response = self._get(self.job_soon.access_url)
            self.assertEqual(response.status_code, 403, user.login)
            self.assertNotIn("PA-SOON", response.text, user.login)

    def test_access_token_shows_the_page_without_actions(self):
        job = self.job_soon.sudo()
        page = self._get(f"{job.access_url}?access_token={job._portal_ensure_token()}")
        self.assertEqual(page.status_code, 200, page.text[-3000:])
        self.assertIn("PA-SOON", page.text)
        self.assertNotIn('id="job_actions"', page.text)
        with mute_logger("odoo.http"):
            response = self._get(f"{job.access_url}?access_token=wrong", allow_redirects=False)
        self.assertEqual(response.status_code, 403)


@tagged("post_install", "-at_install")
class TestContractorPortalJobs(ContractorPortalCommon):
    """The contractor's list, counts and actions, over HTTP with real sessions."""

    def test_home_counts(self):
        self.authenticate(self.portal_a.login, self.portal_a.login)
        counts = self.make_jsonrpc_request(
            "/my/counters",
            {
                "counters": [
                    "service_job_count",
                    "service_job_due_soon_count",
                    "service_job_overdue_count",
                ]
            },
        )
        self.assertEqual(counts["service_job_count"], 3)
        self.assertEqual(counts["service_job_due_soon_count"], 1)
        self.assertEqual(counts["service_job_overdue_count"], 1)
        self.assertIn("/my/jobs?filterby=overdue", self._get("/my").text)

    def test_list_filters_sort_and_search(self):
        self.authenticate(self.portal_a.login, self.portal_a.login)

        def references(query):
            page = self._get(f"/my/jobs?{query}")
            self.assertEqual(page.status_code, 200)
            return [ref for ref in ("PA-LATE", "PA-SOON", "PA-LATER") if f">{ref}<" in page.text]

        self.assertEqual(references("filterby=due_soon"), ["PA-SOON"])
        self.assertEqual(references("filterby=overdue"), ["PA-LATE"])
        self.assertEqual(references("search=PA-LATER&search_in=property"), ["PA-LATER"])
        self.assertEqual(references("search=Mill Lane&search_in=address"), ["PA-LATER"])
        self.assertEqual(
            references(f"account={self.job_soon.account_id.id}&filterby=all"), ["PA-SOON"]
        )
        # someone else's account narrows to nothing
        self.assertEqual(references(f"account={self.job_other.account_id.id}&filterby=all"), [])
        page = self._get("/my/jobs?filterby=open&sortby=due_date")
        text = page.text
        self.assertLess(text.index(">PA-LATE<"), text.index(">PA-SOON<"))
        self.assertLess(text.index(">PA-SOON<"), text.index(">PA-LATER<"))

    def _queries_of(self, url):
        """Queries of one request (the HTTP worker shares the test's cursor)."""
        self._get(url)  # warm the caches: templates, assets, session
        before = self.cr.sql_log_count
        response = self._get(url)
        self.assertEqual(response.status_code, 200)
        return self.cr.sql_log_count - before

    def test_list_and_page_queries_do_not_grow_with_jobs(self):
        self.authenticate(self.portal_a.login, self.portal_a.login)
        # the page right after the full list: a previous and a next job either way
        urls = ("/my/jobs?filterby=all", self.job_soon.access_url, "/my/jobs?filterby=due_soon")
        few = [self._queries_of(url) for url in urls]
        accounts = self._activate(
            self.env["service.account"].create(
                [self._account_vals(f"PA-MORE-{n}") for n in range(12)]
            )
        )
        self.env["service.account"]._apply_service_dates(
            [{"account": a, "service_date": self.today - timedelta(days=30)} for a in accounts]
        )
        accounts.open_job_id.write({"due_date": self.today + timedelta(days=2)})
        many = [self._queries_of(url) for url in urls]
        self.assertEqual(many, few)

    def test_accept_start_complete_own_job(self):
        job = self.job_soon
        self.authenticate(self.portal_a_colleague.login, self.portal_a_colleague.login)
        page = self._get(job.access_url)
        self.assertIn(f'action="{job.access_url}/accept"', page.text)
        self.assertIn('name="csrf_token"', page.text)
        response = self._post_action(job, "accept")
        self.assertEqual(response.status_code, 303)
        self.assertEqual(job.state, "accepted")
        # the chatter names the contractor's person, not a technical user
        tracked = job.message_ids.filtered("tracking_value_ids")
        self.assertEqual(tracked[:1].author_id, self.portal_a_colleague.partner_id)
        self._post_action(job, "start")
        self.assertEqual(job.state, "in_progress")
        done_on = self.today - timedelta(days=1)
        response = self._post_action(
            job, "complete", completion_date=fields.Date.to_string(done_on)
        )
        self.assertEqual(response.status_code, 303, response.text)
        self.assertEqual(job.state, "done")
        self.assertEqual(job.completion_date, done_on)
        self.assertEqual(job.account_id.last_service_date, done_on)
        page = self._get(response.headers["Location"])
        self.assertIn("The job is done", page.text)

    def test_refusal_shows_on_the_page_and_writes_nothing(self):
        job = self.job_soon
        self.authenticate(self.portal_a.login, self.portal_a.login)
        tomorrow = fields.Date.to_string(self.today + timedelta(days=1))
        response = self._post_action(job, "complete", completion_date=tomorrow)
        self.assertEqual(response.status_code, 422)
        self.assertIn("is in the future", response.text)
        response = self._post_action(job, "complete", completion_date="yesterday")
        self.assertIn("Enter the date you completed the job", response.text)
        self.assertEqual(job.state, "pending")
        self.assertFalse(job.completion_date)
        self._post_action(job, "start")
        response = self._post_action(job, "accept")
        self.assertEqual(response.status_code, 422)
        self.assertIn("Only a pending job can be accepted", response.text)
        self.assertEqual(job.state, "in_progress")

    def test_actions_on_others_jobs_are_refused(self):
        job = self.job_soon
        done_on = fields.Date.to_string(self.today)
        for user in (self.portal_b, self.portal_outsider, self.portal_agency):
            self.authenticate(user.login, user.login)
            for action in ("accept", "start", "complete"):
                # a valid session and CSRF token, on someone else's job
                with mute_logger("odoo.http"):
                    response = self._post_action(job, action, completion_date=done_on)
                self.assertEqual(response.status_code, 403, (user.login, action))
        self.assertEqual(job.state, "pending")
        self.assertFalse(job.completion_date)

    def test_backend_readers_cannot_act_through_the_portal(self):
        """Finance reads jobs in the backend but may not change them: the
        portal's sudo actions are the contractor's only."""
        job = self.job_soon
        finance = new_test_user(
            self.env, login="sm_portal_finance", groups="service_model.group_finance"
        )
        self.authenticate(finance.login, finance.login)
        page = self._get(job.access_url)
        self.assertEqual(page.status_code, 200)
        self.assertNotIn('id="job_actions"', page.text)
        for action in ("accept", "start", "complete"):
            with mute_logger("odoo.http"):
                response = self._post_action(
                    job, action, completion_date=fields.Date.to_string(self.today)
                )
            self.assertEqual(response.status_code, 403, action)
        self.assertEqual(job.state, "pending")

    def test_csrf_token_is_required(self):
        job = self.job_soon
        self.authenticate(self.portal_a.login, self.portal_a.login)
        for action in ("accept", "start", "complete"):
            with mute_logger("odoo.http"):
                response = self._get(
                    f"{job.access_url}/{action}",
                    data={"completion_date": fields.Date.to_string(self.today)},
                    allow_redirects=False,
                )
            self.assertEqual(response.status_code, 400, action)
        self.assertEqual(job.state, "pending")

    def test_actions_need_a_login(self):
        job = self.job_soon
        response = self._get(
            f"{job.access_url}/accept", data={"csrf_token": "x"}, allow_redirects=False
        )
        self.assertNotEqual(response.status_code, 200)
        self.assertEqual(job.state, "pending")

    def _post_message(self, job, body, attachments=None):
        attachments = attachments or []
        return self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "service.job",
                "thread_id": job.id,
                "post_data": {
                    "body": body,
                    "message_type": "comment",
                    "attachment_ids": [a["id"] for a in attachments],
                },
                "attachment_tokens": [a["access_token"] for a in attachments],
            },
        )

    def _upload(self, job, name):
        """Odoo's chatter upload, as the portal composer sends it."""
        return self._get(
            "/mail/attachment/upload",
            data={
                "thread_model": "service.job",
                "thread_id": job.id,
                "is_pending": "true",
                "csrf_token": self._csrf_token(),
            },
            files={"ufile": (name, b"%PDF-1.4 gas safety certificate", "application/pdf")},
        )

    def test_certificate_attached_to_a_message(self):
        job = self.job_soon
        self.authenticate(self.portal_a.login, self.portal_a.login)
        response = self._upload(job, "certificate.pdf")
        self.assertEqual(response.status_code, 200)
        attachment = response.json()["data"]["ir.attachment"][0]
        self._post_message(job, "Certificate attached", [attachment])
        message = job.message_ids.filtered(lambda m: "Certificate attached" in (m.body or ""))
        self.assertEqual(message.attachment_ids.mapped("name"), ["certificate.pdf"])
        self.assertEqual(message.attachment_ids.res_id, job.id)
        self.assertEqual(message.attachment_ids.res_model, "service.job")

    def test_no_upload_on_others_jobs(self):
        Attachment = self.env["ir.attachment"]
        before = Attachment.search_count([])
        for user in (self.portal_b, self.portal_agency, self.portal_outsider):
            self.authenticate(user.login, user.login)
            with mute_logger("odoo.http"):
                response = self._upload(self.job_soon, "intruder.pdf")
            self.assertEqual(response.status_code, 404, user.login)
        self.assertEqual(Attachment.search_count([]), before)

    def test_message_for_cs(self):
        job = self.job_soon
        self.authenticate(self.portal_a.login, self.portal_a.login)
        self._post_message(job, "The gate code does not work")
        message = job.message_ids.filtered(lambda m: "gate code" in (m.body or ""))
        self.assertEqual(message.author_id, self.portal_a.partner_id)
        self.authenticate(self.portal_b.login, self.portal_b.login)
        with mute_logger("odoo.http"), self.assertRaises(JsonRpcException):
            self._post_message(job, "Not my job")
        self.assertFalse(job.message_ids.filtered(lambda m: "Not my job" in (m.body or "")))


@tagged("post_install", "-at_install")
class TestAgencyPortal(ContractorPortalCommon):
    """Agencies follow the properties they manage, read-only."""

    def test_properties_list_and_count(self):
        self.authenticate(self.portal_agency.login, self.portal_agency.login)
        counts = self.make_jsonrpc_request("/my/counters", {"counters": ["service_property_count"]})
        self.assertEqual(counts["service_property_count"], 1)
        page = self._get("/my/properties")
        self.assertEqual(page.status_code, 200)
        self.assertIn(">PA-SOON<", page.text)
        self.assertNotIn(">PA-LATER<", page.text)
        self.assertNotIn(">PB-OTHER<", page.text)
        self.assertIn(">PA-SOON<", self._get("/my/properties?search=Quay&search_in=address").text)
        self.assertNotIn(
            ">PA-SOON<", self._get("/my/properties?search=Mill&search_in=address").text
        )
        # a contractor manages no property
        self.authenticate(self.portal_a.login, self.portal_a.login)
        self.assertNotIn(">PA-SOON<", self._get("/my/properties").text)

    def test_property_page_is_the_agencys_only(self):
        account = self.job_soon.account_id
        self.authenticate(self.portal_agency.login, self.portal_agency.login)
        page = self._get(account.access_url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("PA-SOON", page.text)
        self.assertIn("Pending", page.text)
        with mute_logger("odoo.http"):
            self.assertEqual(self._get(self.job_other.account_id.access_url).status_code, 403)
            self.assertEqual(self._get("/my/properties/999999999").status_code, 404)
        for user in (self.portal_a, self.portal_b, self.portal_outsider):
            self.authenticate(user.login, user.login)
            with mute_logger("odoo.http"):
                response = self._get(account.access_url)
            self.assertEqual(response.status_code, 403, user.login)
        self.logout()
        response = self._get(account.access_url, allow_redirects=False)
        self.assertIn("/web/login", response.headers.get("Location", ""))

    def test_property_page_links_the_agencys_invoices(self):
        account = self.job_soon.account_id
        self.company.service_billing_post_invoices = True
        account.bill_to = "agency"
        self.job_soon._complete(self.today)
        invoices = self.env["service.billing.period"].search([("account_id", "=", account.id)])
        invoice = invoices.move_ids.filtered(lambda move: move.state == "posted")
        self.assertEqual(invoice.partner_id, self.agency)
        self.authenticate(self.portal_agency.login, self.portal_agency.login)
        page = self._get(account.access_url)
        self.assertIn('id="property_invoices"', page.text)
        self.assertIn(invoice.name, page.text)
        # Odoo's own invoice page, through its own access rules (no token)
        self.assertEqual(self._get(invoice.access_url).status_code, 200)
        self.authenticate(self.portal_a.login, self.portal_a.login)
        self.assertNotIn('id="property_invoices"', self._get(self.job_soon.access_url).text)
        response = self._get(invoice.access_url, allow_redirects=False)
        self.assertNotEqual(response.status_code, 200)
