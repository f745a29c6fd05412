from odoo import api, fields, models

from ..models.service_comm_rule import EVENTS


class ServiceCommPreview(models.TransientModel):
    """Who would get what for an event of an account or its job, and why the
    others would not: the dispatcher's own decisions, neither logged nor sent."""

    _name = "service.comm.preview"
    _description = "Communication Preview"

    account_id = fields.Many2one("service.account", string="Service Account", required=True)
    job_id = fields.Many2one(
        "service.job",
        string="Job",
        domain="[('account_id', '=', account_id)]",
        help="The job a job event is about; the account's open job by default.",
    )
    event = fields.Selection(EVENTS, required=True, default="account_activated")
    is_job_event = fields.Boolean(compute="_compute_is_job_event")
    preview_html = fields.Html(compute="_compute_preview_html", sanitize=False)

    @api.onchange("account_id")
    def _onchange_account_id(self):
        self.job_id = self.account_id.open_job_id or self.account_id.job_ids[:1]

    @api.depends("event")
    def _compute_is_job_event(self):
        for wizard in self:
            wizard.is_job_event = bool(wizard.event) and wizard.event.startswith("job_")

    def _record(self):
        """The record the event is about: the job, or the account's latest
        subscription, invoice or eligible offer (read as system: CS sees an
        invoice's status without accounting rights); an import belongs to no account."""
        self.ensure_one()
        if self.is_job_event:
            return self.job_id
        account = self.account_id.sudo()
        if self.event == "subscription_created":
            return account.subscription_ids[:1]
        if self.event == "invoice_issued":
            return (
                self.env["account.move"]
                .sudo()
                .search(
                    [
                        ("service_billing_period_id.account_id", "=", account.id),
                        ("state", "=", "posted"),
                    ],
                    order="invoice_date desc, id desc",
                    limit=1,
                )
            )
        if self.event == "offer_eligible":
            return account.offer_result_ids.filtered("eligible")[:1]
        if self.event == "import_finished":
            return self.env["service.import"]
        return self.account_id

    def _preview_rows(self):
        """The rows a dispatch would log now, as create values."""
        # the user must be able to read what they preview; the facts are then gathered as system
        (self.job_id if self.is_job_event else self.account_id).check_access("read")
        record = self._record()
        if not record:
            return []
        return self.env["service.comm.dispatcher"]._decide(self.event, record, preview=True)

    @api.depends("account_id", "job_id", "event")
    def _compute_preview_html(self):
        Decision = self.env["service.comm.decision"]
        labels = {
            name: dict(Decision._fields[name]._description_selection(self.env))
            for name in ("stakeholder", "channel", "outcome")
        }
        partners = self.env["res.partner"].sudo()
        for wizard in self:
            rows = wizard._preview_rows() if wizard.account_id and wizard.event else []
            wizard.preview_html = self.env["ir.qweb"]._render(
                "service_model_comms.service_comm_preview_table",
                {
                    "rows": [
                        {
                            "stakeholder": labels["stakeholder"][row["stakeholder"]],
                            "recipient": partners.browse(row["recipient_id"]).display_name or "",
                            "channel": labels["channel"][row["channel"]],
                            "outcome": labels["outcome"][row["outcome"]],
                            "sent": row["outcome"] == "send",
                            "reason": row["reason"],
                        }
                        for row in rows
                    ],
                },
            )
