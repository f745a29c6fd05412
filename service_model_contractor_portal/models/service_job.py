from odoo import models


class ServiceJob(models.Model):
    """Jobs on the portal: the contractor's page at ``/my/jobs/<id>``.

    Contractors read their jobs through the portal record rules and may leave
    a message for CS on them (posting needs read access only); every change
    they make goes through the portal controller.
    """

    _name = "service.job"
    _inherit = ["service.job", "service.portal.link.mixin"]
    _mail_post_access = "read"

    def _compute_access_url(self):
        for job in self:
            job.access_url = f"/my/jobs/{job.id}"

    def _service_comm_link(self, partner):
        """The job's portal page for its contractor; for the agency of its
        account, the account's page; the backend for everyone else."""
        self.ensure_one()
        if self._is_service_stakeholder(partner, self.contractor_id):
            return self._service_portal_link(partner)
        if self._is_service_stakeholder(partner, self.account_id.agency_id):
            return self.account_id._service_comm_link(partner)
        return super()._service_comm_link(partner)
