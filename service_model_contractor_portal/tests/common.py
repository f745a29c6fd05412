"""Two contractor companies with portal users, an agency and an outsider.

The HTTP worker does not run under a frozen clock: dates are relative to the
company's today (``company._service_today()``), set on the jobs directly.
"""

import re
from datetime import timedelta

from odoo.addons.service_model.tests.common import ServiceModelCommon
from odoo.tests import HttpCase, new_test_user

# the session's token, as the portal layout gives it to its scripts
CSRF_TOKEN = re.compile(r'csrf_token: "([^"]+)"')


class ContractorPortalCommon(ServiceModelCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = cls.company._service_today()
        cls.contractor.service_auto_accept = "never"
        cls.other_contractor = cls.env["res.partner"].create(
            {
                "name": "Volt Electrical",
                "is_company": True,
                "is_service_contractor": True,
                "service_auto_accept": "never",
            }
        )
        cls.outsider = cls.env["res.partner"].create({"name": "Curious Ltd", "is_company": True})
        cls.portal_a = cls._portal_user("sm_portal_a", cls.contractor, "Sam Sparks")
        cls.portal_a_colleague = cls._portal_user("sm_portal_a2", cls.contractor, "Kim Sparks")
        cls.portal_b = cls._portal_user("sm_portal_b", cls.other_contractor, "Val Volt")
        cls.portal_agency = cls._portal_user("sm_portal_agency", cls.agency, "Hal Harbour")
        cls.portal_outsider = cls._portal_user("sm_portal_out", cls.outsider, "Cy Curious")

        accounts = cls._activate(
            cls._create_account("PA-LATER", street="1 Mill Lane", city="Bath")
            | cls._create_account("PA-SOON", street="2 Quay Street", agency_id=cls.agency.id)
            | cls._create_account("PA-LATE", street="3 Quay Street")
            | cls._create_account("PB-OTHER", contractor_id=cls.other_contractor.id)
        )
        cls.env["service.account"]._apply_service_dates(
            [
                {"account": account, "service_date": cls.today - timedelta(days=60)}
                for account in accounts
            ]
        )
        cls.job_later, cls.job_soon, cls.job_late, cls.job_other = (
            account.open_job_id for account in accounts
        )
        # the list's filters need known due dates, whatever the calendar says
        for job, days in (
            (cls.job_later, 40),
            (cls.job_soon, 3),
            (cls.job_late, -3),
            (cls.job_other, 3),
        ):
            job.write({"due_date": cls.today + timedelta(days=days)})

    @classmethod
    def _portal_user(cls, login, company, name):
        contact = cls.env["res.partner"].create({"name": name, "parent_id": company.id})
        return new_test_user(
            cls.env, login=login, groups="base.group_portal", partner_id=contact.id
        )

    def _get(self, url, **kwargs):
        return self.url_open(url, timeout=60, **kwargs)

    def _csrf_token(self):
        """A valid CSRF token of the authenticated user's session."""
        return CSRF_TOKEN.search(self._get("/my").text).group(1)

    def _post_action(self, job, action, **data):
        """Submit ``action`` of ``job`` as the authenticated user."""
        data["csrf_token"] = self._csrf_token()
        return self._get(f"{job.access_url}/{action}", data=data, allow_redirects=False)
