from odoo import fields, models


class ServiceAccount(models.Model):
    _inherit = "service.account"

    comm_do_not_contact = fields.Boolean(
        string="Do Not Contact", tracking=True, help="No message about this account to anyone."
    )
    comm_via_agency = fields.Boolean(
        string="End User Reached Through the Agency",
        tracking=True,
        help="Messages meant for the end user go to the agency instead.",
    )
    comm_decision_ids = fields.One2many(
        "service.comm.decision", "account_id", string="Communications"
    )
