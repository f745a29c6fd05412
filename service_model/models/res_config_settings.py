from odoo import fields, models


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
