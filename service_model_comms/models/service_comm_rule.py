from odoo import api, fields, models

from ..lib import suppression

EVENTS = [
    ("account_onboarding", "Account onboarding"),
    ("account_activated", "Account activated"),
    ("job_created", "Job created"),
    ("job_accepted", "Job accepted"),
    ("job_due_soon", "Job due soon"),
    ("job_overdue", "Job overdue"),
    ("job_completed", "Job completed"),
    ("subscription_created", "Subscription created"),
    ("invoice_issued", "Invoice issued"),
    ("offer_eligible", "Offer eligible"),
    ("import_finished", "Import finished"),
]
STAKEHOLDERS = [
    ("end_user", "End user"),
    ("agency", "Agency"),
    ("contractor", "Contractor"),
    ("cs", "Customer Success"),
    ("finance", "Finance"),
]
assert tuple(code for code, _label in EVENTS) == suppression.EVENTS
assert tuple(code for code, _label in STAKEHOLDERS) == suppression.STAKEHOLDERS


class ServiceCommRule(models.Model):
    """One cell of the communication matrix: an event for a stakeholder type."""

    _name = "service.comm.rule"
    _description = "Communication Rule"
    _order = "event_sequence, stakeholder_sequence"

    event = fields.Selection(EVENTS, required=True, readonly=True)
    stakeholder = fields.Selection(STAKEHOLDERS, string="Stakeholder", required=True, readonly=True)
    event_sequence = fields.Integer(compute="_compute_sequences", store=True)
    stakeholder_sequence = fields.Integer(compute="_compute_sequences", store=True)
    send_email = fields.Boolean(string="Email")
    send_sms = fields.Boolean(string="SMS")
    mail_template_id = fields.Many2one(
        "mail.template", string="Email Template", ondelete="set null"
    )
    sms_template_id = fields.Many2one("sms.template", string="SMS Template", ondelete="set null")

    _sql_constraints = [
        (
            "event_stakeholder_unique",
            "UNIQUE(event, stakeholder)",
            "The matrix has one rule per event and stakeholder: edit the existing one.",
        )
    ]

    @api.depends("event", "stakeholder")
    def _compute_sequences(self):
        events = suppression.EVENTS
        stakeholders = suppression.STAKEHOLDERS
        for rule in self:
            rule.event_sequence = events.index(rule.event) if rule.event else 0
            rule.stakeholder_sequence = (
                stakeholders.index(rule.stakeholder) if rule.stakeholder else 0
            )

    @api.depends("event", "stakeholder")
    def _compute_display_name(self):
        events = dict(self._fields["event"]._description_selection(self.env))
        stakeholders = dict(self._fields["stakeholder"]._description_selection(self.env))
        for rule in self:
            rule.display_name = f"{events.get(rule.event)} → {stakeholders.get(rule.stakeholder)}"

    def _channels(self):
        self.ensure_one()
        return tuple(
            channel
            for channel, on in (
                (suppression.EMAIL, self.send_email),
                (suppression.SMS, self.send_sms),
            )
            if on
        )
