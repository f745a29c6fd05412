from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    comm_do_not_contact = fields.Boolean(
        string="Do Not Contact",
        help="The suite sends this contact no message at all, transactional ones included.",
    )
