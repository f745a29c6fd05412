from odoo import fields, models

TEAMS = [
    ("sales", "Sales / AM"),
    ("finance", "Finance"),
    ("ops", "Operations"),
    ("cx", "CX"),
    ("systems", "Systems"),
    ("cs", "Customer Success"),
]


class ServiceChecklistTemplate(models.Model):
    """An item of the hand-off checklist, copied onto each account at onboarding."""

    _name = "service.checklist.template"
    _description = "Handoff Checklist Template"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    team = fields.Selection(TEAMS, string="Owning Team", required=True, default="cs")
    description = fields.Text(translate=True, help="What the team checks before ticking the item.")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", help="Empty: used in every company.")
