from odoo import models


class ServiceAccount(models.Model):
    """Service accounts on the portal: the agency's page at ``/my/properties/<id>``."""

    _name = "service.account"
    _inherit = ["service.account", "service.portal.link.mixin"]

    def _compute_access_url(self):
        for account in self:
            account.access_url = f"/my/properties/{account.id}"

    def _service_comm_link(self, partner):
        """The property page for the account's agency; for its contractor,
        the page of their open job on it; the backend for everyone else."""
        self.ensure_one()
        if self._is_service_stakeholder(partner, self.agency_id):
            return self._service_portal_link(partner)
        job = self.open_job_id
        if job and self._is_service_stakeholder(partner, job.contractor_id):
            return job._service_comm_link(partner)
        return super()._service_comm_link(partner)
