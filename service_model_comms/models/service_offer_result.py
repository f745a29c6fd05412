from odoo import models


class ServiceOfferResult(models.Model):
    _inherit = "service.offer.result"

    def _on_offer_eligible(self):
        """The results that became eligible go through the matrix (a marketing event)."""
        result = super()._on_offer_eligible()
        self.env["service.comm.event"]._queue("offer_eligible", self)
        return result
