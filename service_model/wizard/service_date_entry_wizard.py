from odoo import api, fields, models
from odoo.exceptions import UserError


class ServiceDateEntryWizard(models.TransientModel):
    """Record a service date by hand: the same engine as the import."""

    _name = "service.date.entry.wizard"
    _description = "Record a Service Date"

    account_id = fields.Many2one("service.account", required=True)
    current_date = fields.Date(
        related="account_id.last_service_date", string="Current Last Service"
    )
    service_date = fields.Date(required=True)
    allow_backdating = fields.Boolean(
        help="Accept a date older than the current last service date (a correction)."
    )
    preview = fields.Text(compute="_compute_preview")

    @api.depends("account_id", "service_date", "allow_backdating")
    def _compute_preview(self):
        for wizard in self:
            wizard.preview = (
                wizard._describe(wizard._run(dry_run=True))
                if wizard.account_id and wizard.service_date
                else ""
            )

    def _run(self, dry_run):
        self.ensure_one()
        return self.env["service.account"]._apply_service_dates(
            [{"account": self.account_id, "service_date": self.service_date}],
            allow_backdating=self.allow_backdating,
            dry_run=dry_run,
        )[0]

    def _describe(self, result):
        due, reason = result.get("due_date") or "", result["reason"]
        outcome = result["outcome"]
        if outcome == "created":
            return self.env._("A job will be created, due %(due)s.", due=due)
        if outcome == "updated":
            return self.env._("The open job's due date becomes %(due)s.", due=due)
        if outcome == "unchanged":
            return self.env._("Same date as now: nothing changes.")
        if outcome == "rejected":
            return self.env._("Rejected: %(reason)s.", reason=reason)
        return self.env._("The date is stored: %(reason)s.", reason=reason)

    def action_apply(self):
        self.ensure_one()
        result = self._run(dry_run=False)
        if result["outcome"] == "rejected":
            raise UserError(self._describe(result))
        self.account_id.message_post(body=self._describe(result))
        return {"type": "ir.actions.act_window_close"}
