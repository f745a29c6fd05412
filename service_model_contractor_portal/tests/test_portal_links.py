from urllib.parse import parse_qs, urlsplit

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ContractorPortalCommon


@tagged("post_install", "-at_install")
class TestServiceCommLinks(ContractorPortalCommon):
    """``_service_comm_link(partner)``: the URL a message about a job or an
    account gives its recipient, and what that URL opens."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        # contact persons without a login: their links carry the record's token
        cls.sparks_office = Partner.create(
            {
                "name": "Sparks office",
                "parent_id": cls.contractor.id,
                "email": "office@sparks.example",
            }
        )
        cls.harbour_desk = Partner.create(
            {"name": "Harbour desk", "parent_id": cls.agency.id, "email": "desk2@harbour.example"}
        )
        cls.account_soon = cls.job_soon.account_id
        cls.server_url = cls.job_soon.get_base_url()

    def _path(self, link):
        """The link's path and query, to open on the test server."""
        self.assertTrue(link.startswith(self.server_url), link)
        return link[len(self.server_url) :]

    def _query(self, link):
        return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}

    def test_backend_link_for_everyone_else(self):
        for record in (self.job_soon, self.account_soon):
            for partner in (self.end_user, self.cs_user.partner_id, self.portal_b.partner_id):
                self.assertEqual(
                    record._service_comm_link(partner),
                    f"{self.server_url}/odoo/{record._name}/{record.id}",
                )
        # a contractor of another job of the account is not a stakeholder of this one
        self.assertEqual(
            self.job_other._service_comm_link(self.portal_a.partner_id),
            f"{self.server_url}/odoo/service.job/{self.job_other.id}",
        )

    def test_portal_page_for_stakeholders_with_a_login(self):
        for partner in (self.portal_a.partner_id, self.portal_a_colleague.partner_id):
            self.assertEqual(
                self.job_soon._service_comm_link(partner),
                f"{self.server_url}{self.job_soon.access_url}",
            )
            # an account's link, for its contractor, is the page of their open job
            self.assertEqual(
                self.account_soon._service_comm_link(partner),
                f"{self.server_url}{self.job_soon.access_url}",
            )
        agency = self.portal_agency.partner_id
        account_link = f"{self.server_url}{self.account_soon.access_url}"
        self.assertEqual(self.account_soon._service_comm_link(agency), account_link)
        self.assertEqual(self.job_soon._service_comm_link(agency), account_link)
        # a login needs no token: the link opens the page after logging in
        self.authenticate(self.portal_a.login, self.portal_a.login)
        page = self._get(self._path(self.job_soon._service_comm_link(self.portal_a.partner_id)))
        self.assertIn('id="job_actions"', page.text)

    def test_job_token_link_for_a_contact_without_login(self):
        job = self.job_soon
        link = job._service_comm_link(self.sparks_office)
        query = self._query(link)
        self.assertEqual(urlsplit(link).path, job.access_url)
        self.assertEqual(query["access_token"], job.access_token)
        self.assertEqual(query["pid"], str(self.sparks_office.id))
        # the company itself (the contractor's address on the account) has no login either
        self.assertEqual(
            self._query(job._service_comm_link(self.contractor))["access_token"], job.access_token
        )
        # a visitor without a login reads the page, and cannot act
        page = self._get(self._path(link))
        self.assertEqual(page.status_code, 200)
        self.assertIn("PA-SOON", page.text)
        self.assertNotIn('id="job_actions"', page.text)
        response = self._get(
            f"{job.access_url}/accept",
            data={"access_token": job.access_token, "csrf_token": "x"},
            allow_redirects=False,
        )
        self.assertNotEqual(response.status_code, 200)
        self.assertEqual(job.state, "pending")
        # the link names the contact in the chatter (Odoo's signed partner id)
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "service.job",
                "thread_id": job.id,
                "post_data": {"body": "Tenant away until Friday", "message_type": "comment"},
                "token": query["access_token"],
                "pid": query["pid"],
                "hash": query["hash"],
            },
        )
        message = job.message_ids.filtered(lambda m: "Tenant away" in (m.body or ""))
        self.assertEqual(message.author_id, self.sparks_office)

    def test_token_reads_but_never_acts(self):
        """Another contractor's person who holds a link reads the page (the
        token is the key) and still cannot change the job."""
        job = self.job_soon
        link = job._service_comm_link(self.sparks_office)
        self.authenticate(self.portal_b.login, self.portal_b.login)
        page = self._get(self._path(link))
        self.assertEqual(page.status_code, 200)
        self.assertNotIn('id="job_actions"', page.text)
        with mute_logger("odoo.http"):
            response = self._post_action(job, "accept")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(job.state, "pending")

    def test_property_token_link_for_an_agency_contact_without_login(self):
        account = self.account_soon
        link = account._service_comm_link(self.harbour_desk)
        self.assertEqual(link, self.job_soon._service_comm_link(self.harbour_desk))
        self.assertEqual(urlsplit(link).path, account.access_url)
        self.assertEqual(self._query(link)["access_token"], account.access_token)
        page = self._get(self._path(link))
        self.assertEqual(page.status_code, 200)
        self.assertIn("PA-SOON", page.text)
        self.assertIn('id="property_jobs"', page.text)

    def test_wrong_or_missing_token_is_refused(self):
        account = self.account_soon
        job = self.job_soon
        account.sudo()._portal_ensure_token()
        job.sudo()._portal_ensure_token()
        for record, other in ((account, self.job_other.account_id), (job, self.job_other)):
            with mute_logger("odoo.http"):
                response = self._get(
                    f"{record.access_url}?access_token=wrong", allow_redirects=False
                )
            self.assertEqual(response.status_code, 403, record._name)
            self.assertNotIn("PA-SOON", response.text)
            response = self._get(record.access_url, allow_redirects=False)
            self.assertIn("/web/login", response.headers.get("Location", ""), record._name)
            # a token of another record opens nothing
            with mute_logger("odoo.http"):
                response = self._get(
                    f"{other.access_url}?access_token={record.access_token}",
                    allow_redirects=False,
                )
            self.assertIn(response.status_code, (403, 404), record._name)
        # the contractor reads the account for its jobs, yet a wrong token is
        # no way into the agency's page
        self.authenticate(self.portal_a.login, self.portal_a.login)
        with mute_logger("odoo.http"):
            response = self._get(f"{account.access_url}?access_token=wrong")
        self.assertEqual(response.status_code, 403)
