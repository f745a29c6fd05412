from odoo import api, fields, models

from .sms_sms import PARAM_PROVIDER, PARAM_TWILIO_FROM, PARAM_TWILIO_SID, PARAM_TWILIO_TOKEN


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
    # the SMS provider is the database's, as Odoo's own sms.endpoint
    service_sms_provider = fields.Selection(
        [("iap", "Odoo IAP (credits)"), ("twilio", "Twilio")],
        string="SMS Provider",
        default="iap",
        config_parameter=PARAM_PROVIDER,
        groups="service_model.group_service_admin",
    )
    service_twilio_account_sid = fields.Char(
        string="Twilio SMS Account SID",
        config_parameter=PARAM_TWILIO_SID,
        groups="service_model.group_service_admin",
    )
    service_twilio_auth_token = fields.Char(
        string="Twilio SMS Auth Token",
        config_parameter=PARAM_TWILIO_TOKEN,
        groups="service_model.group_service_admin",
    )
    service_twilio_from_number = fields.Char(
        string="Twilio SMS Sender",
        config_parameter=PARAM_TWILIO_FROM,
        groups="service_model.group_service_admin",
        help="The Twilio number (E.164) or alphanumeric sender the SMS come from.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        settings = super().create(vals_list)
        if self._is_service_settings_only():
            # execute() is the administrators' only: the Service Administrator's
            # SMS provider settings are saved here, as their company settings are
            params = self.env["ir.config_parameter"].sudo()
            for vals in vals_list:
                for name in vals.keys() & self._service_sms_provider_fields():
                    params.set_param(self._fields[name].config_parameter, vals[name] or False)
        return settings

    def _service_sms_provider_fields(self):
        return {
            "service_sms_provider",
            "service_twilio_account_sid",
            "service_twilio_auth_token",
            "service_twilio_from_number",
        }
