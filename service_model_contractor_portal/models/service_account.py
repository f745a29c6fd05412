from odoo import models


class ServiceAccount(models.Model):
    """Service accounts on the portal: the agency's page at ``/my/properties/<id>``."""

    _name = "service.account"
    _inherit = ["service.account", "portal.mixin"]

    def _compute_access_url(self):
        for account in self:
            account.access_url = f"/my/properties/{account.id}"
