from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    service_comm_email_enabled = fields.Boolean(string="Send Emails", default=True)
    service_comm_sms_enabled = fields.Boolean(string="Send SMS", default=True)
    service_comm_quiet_start = fields.Float(
        string="Quiet Hours From", default=21.0, help="No SMS from this hour, recipient's time."
    )
    service_comm_quiet_end = fields.Float(
        string="Quiet Hours Until",
        default=8.0,
        help="SMS held in the quiet hours go out at this hour. Equal hours: no quiet hours.",
    )
    service_comm_duplicate_window_hours = fields.Integer(
        string="Duplicate Window (Hours)",
        default=24,
        help="The same event of the same record is not sent twice to a recipient on a channel "
        "within this many hours.",
    )
