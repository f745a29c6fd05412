from odoo import models


class AccountMove(models.Model):
    """Invoices of service accounts: a new payment state re-evaluates the account's offers."""

    _inherit = "account.move"

    def _compute_payment_state(self):
        # payment_state is a stored compute: write() never sees it change, its
        # recomputation does (a payment, a reconciliation, posting, cancelling).
        result = super()._compute_payment_state()
        billed = self.filtered(lambda m: isinstance(m.id, int) and m.service_billing_period_id)
        if billed:
            billed.sudo().service_billing_period_id.account_id._mark_offer_dirty()
        return result
