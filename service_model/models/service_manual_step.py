from odoo import api, fields, models
from odoo.exceptions import UserError

from .service_checklist_template import TEAMS

SWITCHES = [
    ("service_auto_create_jobs", "Create jobs automatically"),
    ("service_auto_accept", "Accept jobs automatically"),
    ("service_subscription_on_completion", "Create subscription on first completion"),
    ("service_billing_trigger", "Invoice year 1 on activation"),
    ("service_billing_polling", "Invoice later years automatically"),
]


class ServiceManualStep(models.Model):
    """The register of hand-off points that people do while they are not automated.

    Each step has its own activity type (``activity_type_id``): a waiting step
    is an activity of that type on the account, so the step's open activities
    are found by type. The type's default user mirrors the step's own owner
    (``user_id``), kept in sync when the step changes. The team owners in
    Settings are per company while the type is shared, so an activity without
    a step owner gets its team's owner when it is scheduled
    (``service.handoff.mixin``).
    """

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
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        string="Activity Type",
        ondelete="restrict",
        help="The activity that hands this step over; created with the step when empty.",
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
        ("code_unique", "UNIQUE(code)", "A manual step with this code exists already."),
        (
            "activity_type_unique",
            "UNIQUE(activity_type_id)",
            "Another manual step has this activity type already: each step needs its own.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        steps = super().create(vals_list)
        steps._sync_activity_type()
        return steps

    def write(self, vals):
        result = super().write(vals)
        if {"name", "user_id", "activity_type_id"} & set(vals):
            self._sync_activity_type()
        return result

    def _sync_activity_type(self):
        """Give each step its activity type (a new one if it has none) mirroring the step."""
        # sudo: the register belongs to the service administrator, who may not
        # be allowed to edit Odoo's activity types
        types = self.env["mail.activity.type"].sudo()
        for step in self:
            vals = {"name": step.name, "default_user_id": step.user_id.id}
            if step.activity_type_id:
                step.activity_type_id.sudo().write(vals)
            else:
                step.activity_type_id = types.create(
                    dict(vals, res_model="service.account", icon="fa-hand-paper-o")
                )

    @api.model
    def _for_code(self, code):
        """The step of the register with ``code``; an error if it was removed."""
        step = self.search([("code", "=", code)], limit=1)
        if not step:
            raise UserError(
                self.env._(
                    "The manual step %(code)s is missing from the register "
                    "(Service Model > Reference > Manual Steps): restore it.",
                    code=code,
                )
            )
        return step

    @api.depends_context("company")
    @api.depends("switch")
    def _compute_is_automated(self):
        company = self.env.company
        for step in self:
            step.is_automated = bool(step.switch and company[step.switch])
