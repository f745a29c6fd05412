from odoo import fields, models

from ..lib import suppression

RULE_CODES = [
    (suppression.CHANNEL_OFF, "Channel switched off"),
    (suppression.DO_NOT_CONTACT, "Do not contact"),
    (suppression.ACCOUNT_STAGE, "Account not live"),
    (suppression.AUTO_ACCEPTED, "Auto-accepted job"),
    (suppression.AGENCY_MANAGED, "Agency-managed account"),
    (suppression.NO_CONTACT, "No usable contact"),
    (suppression.BLACKLISTED, "Opted out or blacklisted"),
    (suppression.DUPLICATE, "Duplicate within the window"),
    (suppression.QUIET_HOURS, "Quiet hours"),
]


class ServiceCommSuppression(models.Model):
    """A suppression rule, evaluated in sequence order; what it checks is code."""

    _name = "service.comm.suppression"
    _description = "Communication Suppression Rule"
    _order = "sequence, id"

    sequence = fields.Integer(readonly=True)
    code = fields.Selection(RULE_CODES, required=True, readonly=True)
    name = fields.Char(required=True, translate=True)
    description = fields.Text(translate=True, help="What the rule checks and what it decides.")
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("code_unique", "UNIQUE(code)", "Each suppression rule exists once."),
    ]

    def _evaluation_order(self):
        """The active rules' codes, in their evaluation order."""
        return tuple(self.search([]).mapped("code"))
