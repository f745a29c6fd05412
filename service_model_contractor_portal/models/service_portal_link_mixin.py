from odoo import models


class ServicePortalLinkMixin(models.AbstractModel):
    """Links for messages to portal stakeholders.

    :meth:`_service_portal_link` gives the absolute URL of the record's
    portal page for a recipient: the page itself for a partner who logs in,
    or, for a partner without a login, the page with the record's access
    token (read-only) and the partner's signed id, so that the portal chatter
    names them, as Odoo's own messages about invoices do.
    """

    _name = "service.portal.link.mixin"
    _inherit = ["portal.mixin"]
    _description = "Service Model: portal links for messages"

    def _service_portal_link(self, partner):
        self.ensure_one()
        if partner.sudo().user_ids:
            path = self.access_url
        else:
            path = self.sudo()._get_share_url(pid=partner.id)
        return f"{self.get_base_url()}{path}"

    def _is_service_stakeholder(self, partner, company):
        """Whether ``partner`` is ``company`` (a contractor or agency) or one of its contacts."""
        return bool(partner and company) and (
            partner.commercial_partner_id == company.commercial_partner_id
        )
