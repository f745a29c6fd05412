from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # named company_id.service_* so that a Service Administrator may save them (service_model)
    service_comm_email_enabled = fields.Boolean(
        related="company_id.service_comm_email_enabled", readonly=False
    )
    service_comm_sms_enabled = fields.Boolean(
        related="company_id.service_comm_sms_enabled", readonly=False
    )
    service_comm_quiet_start = fields.Float(
        related="company_id.service_comm_quiet_start", readonly=False
    )
    service_comm_quiet_end = fields.Float(
        related="company_id.service_comm_quiet_end", readonly=False
    )
    service_comm_duplicate_window_hours = fields.Integer(
        related="company_id.service_comm_duplicate_window_hours", readonly=False
    )
