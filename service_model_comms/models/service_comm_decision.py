from odoo import api, fields, models

from ..lib import suppression
from .service_comm_rule import EVENTS, STAKEHOLDERS

OUTCOMES = [
    (suppression.SEND, "Sent"),
    (suppression.SUPPRESS, "Suppressed"),
    (suppression.DEFER, "Deferred"),
    (suppression.FALLBACK, "Fell back to email"),
]
CHANNELS = [(suppression.EMAIL, "Email"), (suppression.SMS, "SMS")]


class ServiceCommDecision(models.Model):
    """The decision log: one row per event, record, recipient and channel.

    Written by the dispatcher with sudo(); read-only to users. The unique
    index makes a replayed event or a rerun cron decide nothing twice.
    """

    _name = "service.comm.decision"
    _description = "Communication Decision"
    _order = "decided_at desc, id desc"

    decided_at = fields.Datetime(
        string="Decided On", required=True, readonly=True, default=fields.Datetime.now
    )
    event = fields.Selection(EVENTS, required=True, readonly=True, index=True)
    res_model = fields.Char(string="Model", required=True, readonly=True)
    res_id = fields.Many2oneReference(
        string="Record", model_field="res_model", required=True, readonly=True
    )
    occurrence_key = fields.Char(
        readonly=True, default="", help="Tells two occurrences of one event on one record apart."
    )
    account_id = fields.Many2one(
        "service.account", string="Service Account", readonly=True, index=True, ondelete="cascade"
    )
    job_id = fields.Many2one(
        "service.job", string="Job", readonly=True, index="btree_not_null", ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    stakeholder = fields.Selection(STAKEHOLDERS, required=True, readonly=True)
    recipient_id = fields.Many2one("res.partner", string="Recipient", readonly=True, index=True)
    address = fields.Char(readonly=True, help="The email address or E.164 number used.")
    redirected_from_id = fields.Many2one(
        "res.partner",
        string="Instead Of",
        readonly=True,
        help="The end user the agency stands for.",
    )
    channel = fields.Selection(CHANNELS, required=True, readonly=True)
    rule_id = fields.Many2one("service.comm.rule", string="Matrix Rule", readonly=True)
    suppression_id = fields.Many2one("service.comm.suppression", string="Decided By", readonly=True)
    outcome = fields.Selection(OUTCOMES, string="Decision", required=True, readonly=True)
    reason_code = fields.Char(readonly=True, index=True)
    reason = fields.Char(readonly=True)
    scheduled_at = fields.Datetime(string="Send At", readonly=True)
    # indexed: the mail and SMS queues delete what they sent, and each deletion
    # looks up the decisions that point at it (ON DELETE SET NULL)
    mail_id = fields.Many2one(
        "mail.mail", string="Email", readonly=True, ondelete="set null", index="btree_not_null"
    )
    sms_id = fields.Many2one(
        "sms.sms", string="SMS", readonly=True, ondelete="set null", index="btree_not_null"
    )
    delivery_state = fields.Selection(
        [
            ("none", "Nothing to send"),
            ("waiting", "Waiting for quiet hours to end"),
            ("queued", "Queued"),
            ("sent", "Sent"),
            ("error", "Error"),
        ],
        compute="_compute_delivery_state",
        compute_sudo=True,  # users read the log, not the outgoing mail queue
    )

    def init(self):
        # the idempotence key; COALESCE because a stakeholder may have no partner at all
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS service_comm_decision_unique_key
                   ON service_comm_decision (event, res_model, res_id, stakeholder,
                                             COALESCE(recipient_id, 0), channel,
                                             COALESCE(occurrence_key, ''))"""
        )

    @api.depends("outcome", "mail_id.state", "sms_id.state")
    def _compute_delivery_state(self):
        states = {
            "outgoing": "queued",
            "ready": "queued",
            "pending": "queued",
            "process": "queued",
            "sent": "sent",
            "received": "sent",
            "exception": "error",
            "cancel": "error",
            "error": "error",
            "canceled": "error",
        }
        for decision in self:
            message = decision.mail_id or decision.sms_id
            if message:
                decision.delivery_state = states.get(message.state, "queued")
            elif decision.outcome == suppression.DEFER:
                decision.delivery_state = "waiting"
            elif decision.outcome == suppression.SEND:
                # the queue deletes what it sent
                decision.delivery_state = "sent"
            else:
                decision.delivery_state = "none"
