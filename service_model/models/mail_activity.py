from odoo import fields, models


class MailActivity(models.Model):
    _inherit = "mail.activity"

    service_step_code = fields.Char(
        string="Manual Step",
        index="btree_not_null",
        readonly=True,
        help="Code of the manual step of the service workflow this activity hands over.",
    )
