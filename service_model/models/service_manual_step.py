from odoo import api, fields, models

from .service_checklist_template import TEAMS

SWITCHES = [
    ("service_auto_create_jobs", "Create jobs automatically"),
    ("service_auto_accept", "Accept jobs automatically"),
    ("service_subscription_on_completion", "Create subscription on first completion"),
    ("service_billing_trigger", "Invoice year 1 on activation"),
    ("service_billing_polling", "Invoice later years automatically"),
]


class ServiceManualStep(models.Model):
    """The register of hand-off points that people do while they are not automated."""

    _name = "service.manual.step"
    _description = "Manual Step"
    _order = "sequence, id"

    name = fields.Char(string="Hand-Off Point", required=True, translate=True)
    code = fields.Char(required=True, help="Technical key the workflow uses to find the step.")
    sequence = fields.Integer(default=10)
    team = fields.Selection(TEAMS, string="Owning Team", required=True)
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        help="Who gets the activity; empty: the team's owner in Settings.",
    )
    risk = fields.Selection(
        [("low", "Low"), ("medium", "Medium"), ("high", "High")], required=True, default="medium"
    )
    manual_reason = fields.Selection(
        [("for_now", "Manual for now"), ("no_tooling", "Manual for lack of tooling")],
        string="Why Manual",
        required=True,
        default="for_now",
    )
    switch = fields.Selection(
        SWITCHES, string="Automated By", help="The Settings switch that automates this step."
    )
    is_automated = fields.Boolean(compute="_compute_is_automated", string="Automated Now")
    description = fields.Text(translate=True)

    _sql_constraints = [
        ("code_unique", "UNIQUE(code)", "A manual step with this code exists already.")
    ]

    @api.depends_context("company")
    @api.depends("switch")
    def _compute_is_automated(self):
        company = self.env.company
        for step in self:
            step.is_automated = bool(step.switch and company[step.switch])
