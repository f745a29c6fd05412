from odoo import fields, models

from ..lib import due_date as engine


class ServiceType(models.Model):
    _name = "service.type"
    _description = "Service Type"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    interval_months = fields.Integer(
        string="Interval (Months)",
        default=12,
        required=True,
        help="Months from one service to the next: the due date is the last service date plus this.",
    )
    lead_days = fields.Integer(
        string="Lead Days",
        default=30,
        help="How many days before its due date a job counts as due soon.",
    )
    short_notice_days = fields.Integer(
        string="Short-Notice Days",
        default=lambda self: self.env.company.service_short_notice_days,
        help="A job due this close to the day it is created is flagged short-notice "
        "(defaults to the company setting).",
    )
    product_id = fields.Many2one(
        "product.product",
        string="Billing Product",
        domain="[('sale_ok', '=', True)]",
        help="Product invoiced for plans of this service type.",
    )
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)

    _sql_constraints = [
        (
            "interval_positive",
            "CHECK(interval_months > 0)",
            "The interval must be at least one month.",
        ),
        (
            "days_not_negative",
            "CHECK(lead_days >= 0 AND short_notice_days >= 0)",
            "Lead and short-notice days cannot be negative.",
        ),
    ]

    def _service_policy(self, company, calendar):
        """The engine's policy for this service type (or none) in ``company``."""
        return engine.DuePolicy(
            interval_months=self.interval_months or 12,
            grace_days=company.service_grace_days,
            short_notice_days=self.short_notice_days if self else company.service_short_notice_days,
            nonworking_rule=company.service_nonworking_rule or engine.PREVIOUS,
            plausibility_years=company.service_plausibility_years or 5,
            calendar=calendar,
        )
