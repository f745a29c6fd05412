from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    service_calendar_id = fields.Many2one(related="company_id.service_calendar_id", readonly=False)
    service_grace_days = fields.Integer(related="company_id.service_grace_days", readonly=False)
    service_short_notice_days = fields.Integer(
        related="company_id.service_short_notice_days", readonly=False
    )
    service_nonworking_rule = fields.Selection(
        related="company_id.service_nonworking_rule", readonly=False
    )
    service_plausibility_years = fields.Integer(
        related="company_id.service_plausibility_years", readonly=False
    )
    service_auto_create_jobs = fields.Boolean(
        related="company_id.service_auto_create_jobs", readonly=False
    )
    service_auto_accept = fields.Boolean(related="company_id.service_auto_accept", readonly=False)
    service_subscription_on_completion = fields.Boolean(
        related="company_id.service_subscription_on_completion", readonly=False
    )
    service_billing_trigger = fields.Boolean(
        related="company_id.service_billing_trigger", readonly=False
    )
    service_billing_polling = fields.Boolean(
        related="company_id.service_billing_polling", readonly=False
    )
    service_billing_journal_id = fields.Many2one(
        related="company_id.service_billing_journal_id", readonly=False
    )
    service_billing_post_invoices = fields.Boolean(
        related="company_id.service_billing_post_invoices", readonly=False
    )
    service_sales_user_id = fields.Many2one(
        related="company_id.service_sales_user_id", readonly=False
    )
    service_finance_user_id = fields.Many2one(
        related="company_id.service_finance_user_id", readonly=False
    )
    service_ops_user_id = fields.Many2one(related="company_id.service_ops_user_id", readonly=False)
    service_cx_user_id = fields.Many2one(related="company_id.service_cx_user_id", readonly=False)
    service_systems_user_id = fields.Many2one(
        related="company_id.service_systems_user_id", readonly=False
    )

    # -- the Service Administrator's settings ------------------------------------------
    # Odoo lets only its administrators save Settings. A Service Administrator
    # without that right opens the suite's app only (the general block is hidden
    # from them) and saves the suite's fields, which live on the company.

    def _is_service_settings_only(self):
        return not self.env.is_admin() and self.env.user.has_group(
            "service_model.group_service_admin"
        )

    def _service_setting_fields(self):
        return {
            name
            for name, field in self._fields.items()
            if field.related and field.related.startswith("company_id.service_")
        }

    @api.model_create_multi
    def create(self, vals_list):
        if not self._is_service_settings_only():
            return super().create(vals_list)
        own = self._service_setting_fields()
        vals_list = [
            {key: value for key, value in vals.items() if key in own} for vals in vals_list
        ]
        for vals in vals_list:
            for name, value in vals.items():
                # sudo() below must not let them point at records they cannot see
                if value and self._fields[name].type == "many2one":
                    self.env[self._fields[name].comodel_name].browse(value).check_access("read")
        # the company is written by administrators only: the suite's fields, nothing else
        return super(ResConfigSettings, self.sudo()).create(vals_list).sudo(False)

    def execute(self):
        if self._is_service_settings_only():
            # create() saved the suite's settings; the rest of execute() is the administrators'
            return {"type": "ir.actions.client", "tag": "reload"}
        return super().execute()
