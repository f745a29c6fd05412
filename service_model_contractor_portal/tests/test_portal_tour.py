from datetime import date

from odoo.tests import tagged

from .common import ContractorPortalCommon


@tagged("post_install", "-at_install")
class TestContractorPortalTour(ContractorPortalCommon):
    """The contractor's story in the browser, as a portal user."""

    def test_contractor_completes_a_job_with_a_certificate(self):
        account = self._activate(self._create_account("TOUR-P-0001"))
        self.env["service.account"]._apply_service_dates(
            [{"account": account, "service_date": self.job_soon.anchor_date}]
        )
        job = account.open_job_id
        self.assertEqual(job.state, "pending")
        self.start_tour("/my", "service_model_portal_job_tour", login=self.portal_a.login)
        self.assertEqual(job.state, "done")
        self.assertEqual(job.completion_date, self.today)
        message = job.message_ids.filtered(lambda m: "certificate attached" in (m.body or ""))
        self.assertEqual(message.author_id, self.portal_a.partner_id)
        self.assertEqual(message.attachment_ids.mapped("name"), ["certificate.pdf"])

    def test_contractor_imports_service_dates(self):
        account = self._activate(self._create_account("TOUR-P-0002"))
        self.start_tour("/my", "service_model_portal_import_tour", login=self.portal_a.login)
        record = self.env["service.import"].search([("contractor_id", "=", self.contractor.id)])
        self.assertEqual(record.state, "done")
        self.assertEqual(record.user_id, self.portal_a)
        self.assertEqual(account.last_service_date, date(2025, 4, 3))
        self.assertEqual(record.rejected_count, 1)

    def test_agency_opens_a_property_and_its_invoice(self):
        self.company.service_billing_post_invoices = True
        self.job_soon.account_id.bill_to = "agency"
        self.job_soon._complete(self.today)
        self.start_tour("/my", "service_model_portal_agency_tour", login=self.portal_agency.login)
