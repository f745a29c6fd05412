from odoo import models


class ServiceJob(models.Model):
    """Jobs on the portal: the contractor's page at ``/my/jobs/<id>``.

    Contractors read their jobs through the portal record rules and may leave
    a message for CS on them (posting needs read access only); every change
    they make goes through the portal controller.
    """

    _name = "service.job"
    _inherit = ["service.job", "portal.mixin"]
    _mail_post_access = "read"

    def _compute_access_url(self):
        for job in self:
            job.access_url = f"/my/jobs/{job.id}"
