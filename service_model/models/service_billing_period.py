from odoo import api, fields, models
from odoo.addons.account.models.account_move import PAYMENT_STATE_SELECTION
from odoo.exceptions import UserError

PERIOD_STATES = [
    ("planned", "Planned"),
    ("draft", "Draft Invoice"),
    ("posted", "Invoiced"),
    ("cancel", "Invoice Cancelled"),
]


class ServiceBillingPeriod(models.Model):
    """The billing ledger: one row per (subscription, yearly period).

    Rows are planned ahead (the whole term, or a rolling horizon for a term
    that runs until cancelled) so that Finance sees past and future periods
    and forecasts by year. A period is invoiced at most once at a time: the
    row is unique per (subscription, sequence), and the database refuses a
    second invoice that is not cancelled for the same row (see
    ``account.move``). A cancelled invoice leaves the row cancelled until
    someone re-bills it explicitly.
    """

    _name = "service.billing.period"
    _description = "Billing Period"
    _order = "subscription_id, sequence"
    _rec_name = "sequence"

    subscription_id = fields.Many2one(
        "service.subscription", required=True, index=True, ondelete="cascade"
    )
    account_id = fields.Many2one(related="subscription_id.account_id", store=True, index=True)
    partner_id = fields.Many2one(related="subscription_id.partner_id", string="Bill To")
    company_id = fields.Many2one(related="subscription_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="subscription_id.currency_id")
    sequence = fields.Integer(string="Year", required=True, readonly=True)
    date_start = fields.Date(string="Period Start", required=True, readonly=True, index=True)
    date_end = fields.Date(string="Period End", required=True, readonly=True)
    amount = fields.Monetary(required=True, readonly=True)
    move_ids = fields.One2many(
        "account.move", "service_billing_period_id", string="Invoices", readonly=True
    )
    move_id = fields.Many2one(
        "account.move",
        string="Invoice",
        compute="_compute_move_id",
        store=True,
        help="The invoice of the period: the one that is not cancelled, else the latest.",
    )
    state = fields.Selection(
        PERIOD_STATES, compute="_compute_move_id", store=True, default="planned", index=True
    )
    # The invoice's status for everyone who sees the schedule, accounting rights or not
    invoice_name = fields.Char(string="Invoice Number", compute="_compute_invoice_status")
    invoice_date = fields.Date(compute="_compute_invoice_status")
    invoice_amount_total = fields.Monetary(
        string="Invoiced Amount", compute="_compute_invoice_status"
    )
    invoice_payment_state = fields.Selection(
        PAYMENT_STATE_SELECTION, string="Payment", compute="_compute_invoice_status"
    )

    _sql_constraints = [
        (
            "subscription_sequence_unique",
            "UNIQUE(subscription_id, sequence)",
            "A subscription has one billing period per year.",
        ),
        ("sequence_positive", "CHECK(sequence >= 1)", "Billing periods are numbered from 1."),
        ("dates_ordered", "CHECK(date_end >= date_start)", "A period cannot end before it starts."),
    ]

    @api.depends("subscription_id.display_name", "sequence")
    def _compute_display_name(self):
        for period in self:
            period.display_name = self.env._(
                "%(subscription)s - year %(year)s",
                subscription=period.subscription_id.display_name,
                year=period.sequence,
            )

    @api.depends("move_ids.state")
    def _compute_move_id(self):
        for period in self:
            moves = period.move_ids.sorted("id")
            current = moves.filtered(lambda m: m.state != "cancel")[-1:] or moves[-1:]
            period.move_id = current
            period.state = current.state if current else "planned"

    @api.depends(
        "move_id.name", "move_id.invoice_date", "move_id.amount_total", "move_id.payment_state"
    )
    def _compute_invoice_status(self):
        # read as superuser: CS users have no accounting rights
        for period in self:
            move = period.sudo().move_id
            period.update(
                {
                    "invoice_name": move.name,
                    "invoice_date": move.invoice_date,
                    "invoice_amount_total": move.amount_total,
                    "invoice_payment_state": move.payment_state,
                }
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_invoiced(self):
        if any(period.move_ids for period in self):
            raise UserError(
                self.env._(
                    "A billing period with an invoice stays in the ledger: cancel the invoice instead."
                )
            )

    def _period_label(self):
        """The period as invoices and their messages name it: "year n, start to end"."""
        self.ensure_one()
        return self.env._(
            "year %(year)s, %(start)s to %(end)s",
            year=self.sequence,
            start=fields.Date.to_string(self.date_start),
            end=fields.Date.to_string(self.date_end),
        )

    def _invoice_line_label(self):
        """The invoice line of the period: "Plan - year n, start to end" and the property."""
        self.ensure_one()
        return self.env._(
            "%(plan)s - %(period)s\nProperty: %(property)s",
            plan=self.subscription_id.product_id.display_name,
            period=self._period_label(),
            property=self.account_id._invoice_property_label(),
        )

    def action_rebill(self):
        """Invoice a period again after its invoice was cancelled: the explicit re-bill."""
        self.ensure_one()
        self.check_access("write")
        if self.state != "cancel":
            raise UserError(
                self.env._(
                    "Only a period whose invoice was cancelled can be re-billed; "
                    "year %(year)s is %(state)s.",
                    year=self.sequence,
                    state=dict(self._fields["state"]._description_selection(self.env))[self.state],
                )
            )
        moves = self.subscription_id._invoice_periods(self)
        self.subscription_id.message_post(
            body=self.env._(
                "Year %(year)s re-billed: %(invoice)s.",
                year=self.sequence,
                invoice=moves.display_name,
            )
        )
        return moves._service_form_action()

    def action_view_invoice(self):
        self.ensure_one()
        return self.move_id._service_form_action()
