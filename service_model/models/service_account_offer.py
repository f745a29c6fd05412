from odoo import api, fields, models

from ..lib import billing_schedule, eligibility

# Changes of these fields can change an account's offers: they mark it for re-evaluation.
OFFER_WATCHED_FIELDS = ("stage", "agency_id", "contractor_id", "property_type")


class ServiceAccount(models.Model):
    """The offers of a service account: its results, and the marks that re-evaluate them.

    A change of a watched field (:data:`OFFER_WATCHED_FIELDS`) or of the
    payment state of one of its invoices marks the account (``offer_dirty``)
    and wakes the re-evaluation cron, which runs after the commit: the
    workflow never waits on eligibility and never fails because of it.
    """

    _inherit = "service.account"

    offer_dirty = fields.Boolean(
        string="Offers to Re-evaluate",
        default=True,
        copy=False,
        index=True,
        readonly=True,
        help="Something that decides its offers changed since their last evaluation.",
    )
    offer_evaluated_at = fields.Datetime(
        string="Offers Evaluated On",
        readonly=True,
        copy=False,
        help="Start of the last re-evaluation of its offers after a change.",
    )
    offer_result_ids = fields.One2many(
        "service.offer.result", "account_id", string="Offers", readonly=True
    )
    offer_eligible_count = fields.Integer(
        compute="_compute_offer_eligible_count", string="Eligible Offers"
    )

    def _compute_offer_eligible_count(self):
        counts = dict(
            self.env["service.offer.result"]._read_group(
                [("account_id", "in", self.ids), ("eligible", "=", True)],
                ["account_id"],
                ["__count"],
            )
        )
        for account in self:
            account.offer_eligible_count = counts.get(account, 0)

    @api.model_create_multi
    def create(self, vals_list):
        accounts = super().create(vals_list)
        self.env["service.offer"]._trigger_evaluation()
        return accounts

    def write(self, vals):
        if set(vals) & set(OFFER_WATCHED_FIELDS):
            # marked in the same statement; evaluated by the cron after the commit
            vals = dict(vals, offer_dirty=True)
            self.env["service.offer"]._trigger_evaluation()
        return super().write(vals)

    def _mark_offer_dirty(self):
        """Mark these accounts for re-evaluation after the transaction (any user may)."""
        to_mark = self.sudo().filtered(lambda a: not a.offer_dirty)
        if to_mark:
            to_mark.write({"offer_dirty": True})
        if self:
            self.env["service.offer"]._trigger_evaluation()

    def _offer_facts(self, today=None):
        """What the offer criteria look at, per account: ``{id: eligibility.Facts}``.

        Three queries whatever the number of accounts: the accounts, their
        active subscriptions, their oldest unpaid posted invoice. Read as
        superuser: CS users have no accounting rights, and the facts are
        only used to decide the results.
        """
        accounts = self.sudo().with_context(active_test=False)
        accounts.fetch(["stage", "property_type", "agency_id", "contractor_id", "company_id"])
        todays = {company: today or company._service_today() for company in accounts.company_id}
        subscriptions = (
            self.env["service.subscription"]
            .sudo()
            .search_fetch(
                [("account_id", "in", accounts.ids), ("state", "=", "active")],
                ["account_id", "date_start"],
            )
        )
        years = {}
        for sub in subscriptions:
            account = sub.account_id
            year = billing_schedule.periods_started_by(sub.date_start, todays[account.company_id])
            years[account.id] = max(years.get(account.id, 0), year) or None
        oldest_due = {}
        for period, due in (
            self.env["account.move"]
            .sudo()
            ._read_group(
                [
                    ("service_billing_period_id.account_id", "in", accounts.ids),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("invoice_date_due", "!=", False),
                ],
                ["service_billing_period_id"],
                ["invoice_date_due:min"],
            )
        ):
            account_id = period.account_id.id
            oldest_due[account_id] = min(due, oldest_due.get(account_id, due))
        partners = (accounts.agency_id | accounts.contractor_id).with_context(active_test=False)
        names = dict(zip(partners.ids, partners.mapped("display_name"), strict=True))
        facts = {}
        for account in accounts:
            due = oldest_due.get(account.id)
            agency, contractor = account.agency_id.id, account.contractor_id.id
            facts[account.id] = eligibility.Facts(
                stage=account.stage,
                subscription_year=years.get(account.id),
                overdue_days=max((todays[account.company_id] - due).days, 0) if due else 0,
                overdue_since=due or None,
                property_type=account.property_type,
                agency_id=agency or None,
                agency_name=names.get(agency, ""),
                contractor_id=contractor or None,
                contractor_name=names.get(contractor, ""),
            )
        return facts

    def action_view_offers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_model.service_offer_result_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {}
        return action
