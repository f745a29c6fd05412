import logging

import psycopg2
from dateutil.relativedelta import relativedelta

from odoo import Command, api, fields, models
from odoo.exceptions import RedirectWarning, UserError
from odoo.osv import expression
from odoo.tools import SQL

from ..lib import billing_schedule as schedule
from .account_move import BILLING_BATCH_CONTEXT

_logger = logging.getLogger(__name__)

# Periods planned ahead of the last invoiced one when the term runs until
# cancelled, so that the schedule and the forecast show the coming years.
FORECAST_YEARS = 5
# Subscriptions billed per cron call: one transaction, committed by the cron
# framework, well within a cron worker's time limit (120 s by default).
BILLING_BATCH_SIZE = 100
# Errors that belong to a subscription (its data, its configuration): they
# are recorded on it and take it out of the queue until Finance retries.
SUBSCRIPTION_ERRORS = (UserError, RedirectWarning)
# Deadlocks, serialization failures, lock timeouts, lost connections: the
# subscription is healthy and is billed again by a later call.
TRANSIENT_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
# Tries of the queue lock on a fresh snapshot after a serialization failure.
LOCK_TRIES = 5
# The scheduled actions that run the polling queue (one per cron worker).
BILLING_CRONS = (
    "service_model.service_billing_cron",
    "service_model.service_billing_cron_worker_2",
)


class ServiceSubscription(models.Model):
    """A multi-year service plan being billed, one invoice per yearly period.

    The billing rule lives in :mod:`..lib.billing_schedule`; this model
    orchestrates it: it plans the ledger (``service.billing.period``), issues
    invoices for the periods that are due, and runs the polling queue.

    Entry points other modules call:

    - :meth:`_create_from_jobs`: the subscriptions of newly completed accounts.
    - :meth:`_invoice_periods`: invoice given ledger rows (year 1, re-bills).
    - :meth:`_bill_due_batch`: one batch of the polling queue (the cron's callback).

    "Today" is always the subscription's company date (``company._service_today()``).
    """

    _name = "service.subscription"
    _description = "Service Subscription"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date_start desc, id desc"

    name = fields.Char(
        compute="_compute_name", store=True, readonly=False, required=True, precompute=True
    )
    account_id = fields.Many2one(
        "service.account", string="Service Account", required=True, index=True, ondelete="restrict"
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one("res.partner", string="Bill To", required=True, tracking=True)
    product_id = fields.Many2one("product.product", string="Plan", required=True, tracking=True)
    amount = fields.Monetary(string="Yearly Price", tracking=True)
    term_years = fields.Integer(
        string="Term (Years)", default=5, tracking=True, help="0 bills every year until cancelled."
    )
    date_start = fields.Date(string="Start", required=True, tracking=True)
    date_cancel = fields.Date(string="Cancelled On", readonly=True, copy=False, tracking=True)
    state = fields.Selection(
        [("draft", "Draft"), ("active", "Active"), ("cancelled", "Cancelled")],
        default="draft",
        required=True,
        tracking=True,
        index=True,
        copy=False,
    )
    billing_period_ids = fields.One2many(
        "service.billing.period", "subscription_id", string="Billing Schedule"
    )
    next_billing_date = fields.Date(
        compute="_compute_next_billing_date",
        store=True,
        help="Start of the next period the polling cron invoices (year 2 onwards).",
    )
    billing_error = fields.Text(readonly=True, copy=False, tracking=True)
    billing_error_date = fields.Datetime(
        readonly=True, copy=False, help="Set when billing failed: the cron skips it until retried."
    )
    invoice_count = fields.Integer(compute="_compute_invoice_count")

    _sql_constraints = [
        ("term_not_negative", "CHECK(term_years >= 0)", "The term cannot be negative."),
        ("amount_not_negative", "CHECK(amount >= 0)", "The yearly price cannot be negative."),
    ]

    def init(self):
        # The polling queue: only active, error-free subscriptions, by date.
        self.env.cr.execute(
            SQL(
                """CREATE INDEX IF NOT EXISTS service_subscription_billing_queue_idx
                   ON service_subscription (next_billing_date, id)
                   WHERE state = 'active' AND billing_error_date IS NULL"""
            )
        )

    # -- computes ------------------------------------------------------------------------

    @api.depends("account_id.property_reference", "product_id")
    def _compute_name(self):
        for sub in self:
            sub.name = " - ".join(
                filter(None, [sub.account_id.property_reference, sub.product_id.name])
            )

    @api.depends("state", "billing_period_ids.state", "billing_period_ids.date_start")
    def _compute_next_billing_date(self):
        for sub in self:
            planned = sub.billing_period_ids.filtered(
                lambda p: p.state == "planned" and p.sequence >= 2
            )
            sub.next_billing_date = (
                min(planned.mapped("date_start")) if sub.state == "active" and planned else False
            )

    def _compute_invoice_count(self):
        counts = self.env["account.move"]._service_invoice_counts(
            [("service_billing_period_id.subscription_id", "in", self.ids)], "subscription_id"
        )
        for sub in self:
            sub.invoice_count = counts[sub]

    # -- company dates -------------------------------------------------------------------

    def _company_todays(self):
        """``{company: its today}`` for the companies of these subscriptions."""
        return {company: company._service_today() for company in self.company_id}

    # -- the ledger --------------------------------------------------------------------

    def _plan_periods(self):
        """Create the missing ledger rows of these subscriptions, in one batch.

        The whole term is planned; a term that runs until cancelled is planned
        FORECAST_YEARS ahead of the company's today (or of its start).
        Cancelled subscriptions plan nothing past their cancellation date.
        """
        todays = self._company_todays()
        last_planned = self._last_sequences()
        vals_list = []
        for sub in self:
            horizon = max(todays[sub.company_id], sub.date_start) + relativedelta(
                years=FORECAST_YEARS
            )
            vals_list += [
                {
                    "subscription_id": sub.id,
                    "sequence": period.sequence,
                    "date_start": period.date_start,
                    "date_end": period.date_end,
                    "amount": sub.amount,
                }
                for period in schedule.due_periods(
                    sub.date_start,
                    sub.term_years,
                    horizon,
                    billed_up_to=last_planned.get(sub.id, 0),
                    date_cancel=sub.date_cancel or None,
                )
            ]
        return self.env["service.billing.period"].create(vals_list)

    def _last_sequences(self):
        """``{subscription id: highest planned sequence}``, in one query."""
        if not self.ids:
            return {}
        groups = self.env["service.billing.period"]._read_group(
            [("subscription_id", "in", self.ids)], ["subscription_id"], ["sequence:max"]
        )
        return {sub.id: last for sub, last in groups}

    def _due_periods(self, first_sequence=1):
        """Ledger rows of these subscriptions that have started on their company's today
        and are not invoiced."""
        if not self:
            return self.env["service.billing.period"]
        started = expression.OR(
            [
                [("company_id", "=", company.id), ("date_start", "<=", today)]
                for company, today in self._company_todays().items()
            ]
        )
        return self.env["service.billing.period"].search(
            expression.AND(
                [
                    [
                        ("subscription_id", "in", self.ids),
                        ("state", "=", "planned"),
                        ("sequence", ">=", first_sequence),
                    ],
                    started,
                ]
            ),
            order="subscription_id, sequence",
        )

    # -- invoicing ---------------------------------------------------------------------

    def _billing_journal(self, company):
        journal = company.service_billing_journal_id
        if not journal:
            journal = self.env["account.journal"].search(
                [
                    ("type", "=", "sale"),
                    *self.env["account.journal"]._check_company_domain(company),
                ],
                limit=1,
            )
        if not journal:
            raise UserError(
                self.env._(
                    "%(company)s has no sales journal: set the service billing journal in Settings.",
                    company=company.name,
                )
            )
        return journal

    def _check_journal_currency(self, journal):
        """An invoice is in the subscription's currency: never relabel a price in another one."""
        for sub in self:
            if journal.currency_id and journal.currency_id != sub.currency_id:
                raise UserError(
                    self.env._(
                        "The billing journal %(journal)s invoices in %(journal_currency)s, but "
                        "%(subscription)s is priced in %(currency)s: set a billing journal in "
                        "%(currency)s (Settings, Service Billing Journal), then retry billing.",
                        journal=journal.display_name,
                        journal_currency=journal.currency_id.name,
                        subscription=sub.display_name,
                        currency=sub.currency_id.name,
                    )
                )

    def _invoice_periods(self, periods):
        """Issue one customer invoice per ledger row in ``periods``, in one batch.

        Each invoice is in the subscription's currency, names the subscription
        (origin) and the property (reference), has one line ("Plan - year n,
        start to end" and the property), is dated at the period start (or the
        first open day after the lock date) and is posted when Settings say
        so. Its creation message links the subscription and the period; the
        messages, the customers' followers and the posting are each done once
        for the batch. Returns the invoices.
        """
        if not periods:
            return self.env["account.move"]
        vals_list = []
        journals, lock_dates = {}, {}
        for period in periods:
            sub = period.subscription_id
            company = sub.company_id
            if company not in journals:
                journals[company] = self._billing_journal(company)
                lock_dates[company] = company._get_user_fiscal_lock_date(
                    journals[company], ignore_exceptions=True
                )
            sub._check_journal_currency(journals[company])
            vals_list.append(
                {
                    "move_type": "out_invoice",
                    "company_id": company.id,
                    "journal_id": journals[company].id,
                    "currency_id": sub.currency_id.id,
                    "partner_id": sub.partner_id.id,
                    "invoice_date": schedule.first_open_date(
                        period.date_start, lock_dates[company]
                    ),
                    "invoice_origin": sub.name,
                    "ref": sub.account_id._invoice_property_label(),
                    "service_billing_period_id": period.id,
                    # posted in this batch: checked as posting checks it (see _service_post)
                    "checked": company.service_billing_post_invoices
                    and journals[company].autocheck_on_post,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": sub.product_id.id,
                                "name": period._invoice_line_label(),
                                "quantity": 1.0,
                                "price_unit": period.amount,
                            }
                        )
                    ],
                }
            )
        moves = (
            self.env["account.move"]
            .with_context(
                mail_create_nolog=True,
                mail_create_nosubscribe=True,
                **{BILLING_BATCH_CONTEXT: True},
            )
            .create(vals_list)
            .with_env(self.env)
        )
        moves._service_log_creation()
        to_post = moves.filtered(lambda m: m.company_id.service_billing_post_invoices)
        if to_post:
            to_post._service_subscribe_customers()
            to_post._service_post()
        return moves

    def _bill_due_periods(self, first_sequence=1):
        """Plan and invoice every due period of these subscriptions (a catch-up bills several)."""
        self._plan_periods()
        return self._invoice_periods(self._due_periods(first_sequence))

    def _bill_isolated(self, first_sequence=2):
        """Bill these subscriptions; one that fails on its own data is recorded, the others bill.

        The batch is tried at once in a savepoint; on failure, each
        subscription is tried in its own savepoint. Returns ``(invoices,
        postponed)``:

        - an error of the subscription (``SUBSCRIPTION_ERRORS``) is written on
          it with its date, which takes it out of the queue until retried;
        - a transient database error (deadlock, serialization failure, lost
          connection) or an unexpected one leaves it untouched and due: it is
          ``postponed`` to a later call, never marked as failed.
        """
        try:
            with self.env.cr.savepoint():
                return self._bill_due_periods(first_sequence), self.browse()
        except Exception as error:  # isolated below, one subscription at a time
            _logger.info("billing batch failed (%s), billing %s one by one", error, len(self))
        moves = self.env["account.move"]
        failed, postponed = {}, self.browse()
        for sub in self:
            try:
                with self.env.cr.savepoint():
                    moves |= sub._bill_due_periods(first_sequence)
            except SUBSCRIPTION_ERRORS as error:
                _logger.info("billing subscription %s failed: %s", sub.id, error)
                failed[sub] = str(error) or error.__class__.__name__
            except TRANSIENT_ERRORS as error:
                _logger.info("billing subscription %s postponed: %s", sub.id, error)
                postponed |= sub
            except Exception:  # a defect, not the subscription's data: logged, retried later
                _logger.exception("billing subscription %s postponed", sub.id)
                postponed |= sub
        for sub, message in failed.items():
            sub.write({"billing_error": message, "billing_error_date": fields.Datetime.now()})
        return moves, postponed

    # -- the polling queue -----------------------------------------------------------------

    @api.model
    def _billing_queue_domain(self, polling=True):
        """Active, error-free subscriptions whose next period has started on their company's today.

        ``polling``: of the companies where the cron bills (True) or where
        Finance bills by hand (False).
        """
        companies = (
            self.env["res.company"].sudo().search([("service_billing_polling", "=", polling)])
        )
        return expression.AND(
            [
                [("state", "=", "active"), ("billing_error_date", "=", False)],
                expression.OR(
                    [
                        [
                            ("company_id", "=", company.id),
                            ("next_billing_date", "<=", company._service_today()),
                        ]
                        for company in companies
                    ]
                    or [expression.FALSE_DOMAIN]
                ),
            ]
        )

    @api.model
    def _lock_due_batch(self, domain, batch_size, tries=1):
        """Up to ``batch_size`` subscriptions of ``domain``, locked for this transaction.

        SKIP LOCKED lets several cron workers share the queue: each takes rows
        the others have not locked. Under REPEATABLE READ, a row another
        worker billed and committed since this transaction's snapshot raises a
        serialization failure. With ``tries`` > 1 the caller states that its
        transaction holds nothing yet: it is rolled back and the lock taken
        again on a fresh snapshot.
        """
        # the system reads the whole queue, whoever runs the cron
        query = self.sudo()._search(domain, order="next_billing_date, id", limit=batch_size)
        statement = SQL(
            "%s FOR UPDATE OF %s SKIP LOCKED", query.select(), SQL.identifier(self._table)
        )
        self.env.flush_all()
        for attempt in range(1, tries + 1):
            try:
                # an expected race between workers, answered here: not an error to log
                self.env.cr.execute(statement, log_exceptions=False)
                return self.browse([row[0] for row in self.env.cr.fetchall()])
            except psycopg2.errors.SerializationFailure:
                if attempt == tries:
                    raise
                # only reads happened in this transaction: start a fresh snapshot
                self.env.cr.rollback()
        return self.browse()

    @api.model
    def _bill_due_batch(self, batch_size=None):
        """Bill one batch of the polling queue (years 2..N): ``(done, remaining)``.

        Locks up to ``batch_size`` due subscriptions (SKIP LOCKED), bills them
        with failures isolated, and counts what is left. Starts its
        transaction (the cron framework calls it right after a commit) and
        never commits: the framework does, and calls again while work remains.
        Postponed subscriptions (transient errors) are not counted as done and
        the billing crons are woken to take them again.
        """
        domain = self._billing_queue_domain()
        subs = self._lock_due_batch(domain, batch_size or BILLING_BATCH_SIZE, tries=LOCK_TRIES)
        postponed = subs._bill_isolated()[1] if subs else subs
        if postponed:
            self._trigger_billing_crons()
        remaining = self.sudo().search_count(domain)
        return len(subs - postponed), remaining

    @api.model
    def _bill_due_queue(self, batch_size=None):
        """Bill the whole polling queue in this transaction, batch by batch: the subscriptions done.

        What successive cron calls do, without their commits (tests, scripts).
        """
        done = 0
        seen = self.browse()
        while True:
            subs = self._lock_due_batch(
                self._billing_queue_domain(), batch_size or BILLING_BATCH_SIZE
            )
            if not subs or subs <= seen:
                return done
            seen |= subs
            done += len(subs - subs._bill_isolated()[1])

    @api.model
    def _trigger_billing_crons(self):
        """Wake every billing worker: they share the queue."""
        # whoever asks (Finance retrying), waking the scheduled actions is the system's step
        for xmlid in BILLING_CRONS:
            cron = self.sudo().env.ref(xmlid, raise_if_not_found=False)
            if cron and cron.active:
                cron._trigger()

    @api.model
    def _cron_bill_due_periods(self):
        """The polling cron: one batch per call, progress reported to the cron framework.

        The framework commits after each call and calls again while the
        progress says work remains (then reschedules the cron at once).
        """
        done, remaining = self._bill_due_batch()
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        self._schedule_manual_billing()

    @api.model
    def _schedule_manual_billing(self):
        """Where automatic polling is off, Finance gets one activity per account with periods due."""
        due = self.search(self._billing_queue_domain(polling=False))
        if not due:
            return self.env["mail.activity"]
        return due.account_id._schedule_manual_step(
            "yearly_invoices",
            self.env._("Invoice the due subscription periods"),
            self.env._(
                "Automatic invoicing of later years is off: open the subscription and use "
                "Bill Due Periods."
            ),
        )

    @api.model
    def _prepare_from_account(self, account, date_start):
        return {
            "account_id": account.id,
            "partner_id": account.bill_to_partner_id.id,
            "product_id": account.plan_product_id.id,
            "amount": account.plan_yearly_price,
            "term_years": account.plan_term_years,
            "date_start": date_start,
        }

    # -- actions ----------------------------------------------------------------------------

    def action_activate(self):
        """Activate: plan the schedule and, with the billing trigger on, invoice year 1 now."""
        self.check_access("write")
        drafts = self.filtered(lambda s: s.state == "draft")
        todays = drafts._company_todays()
        for sub in drafts:
            if sub.date_start > todays[sub.company_id]:
                raise UserError(
                    self.env._(
                        "%(subscription)s starts on %(date)s: activate it on or after that day, "
                        "when its year-1 invoice is due.",
                        subscription=sub.display_name,
                        date=fields.Date.to_string(sub.date_start),
                    )
                )
            if not (sub.partner_id and sub.product_id and sub.amount > 0):
                raise UserError(
                    self.env._(
                        "%(subscription)s needs a bill-to party, a plan and a yearly price above zero "
                        "before it can be activated.",
                        subscription=sub.display_name,
                    )
                )
        drafts.write({"state": "active"})
        drafts._plan_periods()
        automatic = drafts.filtered(lambda s: s.company_id.service_billing_trigger)
        if automatic:
            automatic._invoice_periods(automatic._due_periods())
        drafts.account_id._close_manual_step("subscription_creation")
        (drafts - automatic).account_id._schedule_manual_step(
            "first_invoice",
            self.env._("Issue the year-1 invoice"),
            self.env._(
                "The subscription is active and automatic year-1 invoicing is off: "
                "issue its first invoice with Bill Due Periods."
            ),
        )
        return True

    def action_bill_due_periods(self):
        """Finance's manual step: invoice every due period now, year 1 included."""
        self.check_access("write")
        active = self.filtered(lambda s: s.state == "active")
        if not active:
            raise UserError(self.env._("Only active subscriptions are billed."))
        moves = active._bill_due_periods()
        if not moves:
            raise UserError(
                self.env._("Nothing is due: every period that has started is invoiced.")
            )
        active.account_id._close_manual_step("first_invoice", self.env._("Invoiced."))
        active.account_id._close_manual_step("yearly_invoices", self.env._("Invoiced."))
        return moves._service_form_action()

    def action_cancel(self):
        """Cancel: periods starting after the company's today are never billed; issued invoices stay."""
        self.check_access("write")
        subs = self.filtered(lambda s: s.state != "cancelled")
        todays = subs._company_todays()
        for company, company_subs in subs.grouped("company_id").items():
            company_subs.write({"state": "cancelled", "date_cancel": todays[company]})
        # the ledger forgets the periods that will never be billed
        subs.sudo().billing_period_ids.filtered(
            lambda p: p.state == "planned" and p.date_start > p.subscription_id.date_cancel
        ).unlink()
        return True

    def action_retry_billing(self):
        """Finance: clear a billing error once its cause is fixed; the subscription is due again."""
        self.check_access("write")
        failed = self.filtered("billing_error_date")
        failed.write({"billing_error": False, "billing_error_date": False})
        for sub in failed:
            sub.message_post(
                body=self.env._("Billing retried by %(user)s.", user=self.env.user.name)
            )
        self._trigger_billing_crons()
        return True

    def action_view_invoices(self):
        self.ensure_one()
        return self.billing_period_ids.move_ids._service_form_action()

    def write(self, vals):
        result = super().write(vals)
        if "amount" in vals:
            # future periods follow the price; invoiced ones keep theirs
            self.billing_period_ids.filtered(lambda p: p.state == "planned").sudo().write(
                {"amount": vals["amount"]}
            )
        return result

    def _service_comm_link(self, partner):
        """The link a message about this subscription gives ``partner``: by default its
        backend form; the portal addon links its portal users to their own pages."""
        self.ensure_one()
        return f"{self.get_base_url()}/odoo/{self._name}/{self.id}"


class ServiceAccount(models.Model):
    _inherit = "service.account"

    subscription_ids = fields.One2many("service.subscription", "account_id", string="Subscriptions")
    subscription_count = fields.Integer(compute="_compute_subscription_count")
    service_invoice_count = fields.Integer(
        string="Invoices", compute="_compute_service_invoice_count"
    )

    def _compute_subscription_count(self):
        counts = dict(
            self.env["service.subscription"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.subscription_count = counts.get(account, 0)

    def _compute_service_invoice_count(self):
        counts = self.env["account.move"]._service_invoice_counts(
            [("service_billing_period_id.account_id", "in", self.ids)], "account_id"
        )
        for account in self:
            account.service_invoice_count = counts[account]

    def _invoice_property_label(self):
        """The property as invoices name it: "REF, street, zip city"."""
        self.ensure_one()
        town = " ".join(filter(None, [self.zip, self.city]))
        return ", ".join(filter(None, [self.property_reference, self.street, self.street2, town]))

    def action_view_service_invoices(self):
        self.ensure_one()
        return (
            self.env["account.move"]
            .search([("service_billing_period_id.account_id", "=", self.id)])
            ._service_form_action()
        )

    def _on_job_completed(self, job):
        """The first completed job starts the subscription (step 5 of the workflow)."""
        result = super()._on_job_completed(job)
        if self.sudo().subscription_ids:
            return result
        if not self.company_id.service_subscription_on_completion:
            self._schedule_manual_step(
                "subscription_creation",
                self.env._("Create the subscription"),
                self.env._(
                    "The first job of %(account)s was completed on %(date)s and automatic "
                    "subscriptions are off: create and activate its subscription.",
                    account=self.display_name,
                    date=fields.Date.to_string(job.completion_date),
                ),
            )
            return result
        if not (self.bill_to_partner_id and self.plan_product_id):
            # the workflow goes on; Finance completes the plan and starts billing
            self._schedule_manual_step(
                "subscription_creation",
                self.env._("Create the subscription"),
                self.env._(
                    "The first job of %(account)s is done but its plan product or bill-to party "
                    "is missing: complete the account, then create its subscription.",
                    account=self.display_name,
                ),
            )
            return result
        # A system step: whoever completes the job (CS, a contractor on the
        # portal) starts the subscription and its year-1 invoice.
        Subscription = self.env["service.subscription"].sudo()
        subscription = Subscription.create(
            Subscription._prepare_from_account(
                self, job.completion_date or self.company_id._service_today()
            )
        )
        try:
            with self.env.cr.savepoint():
                subscription.action_activate()
        except UserError as error:
            # billing must never block the job: the subscription waits for Finance
            subscription.write(
                {"billing_error": str(error), "billing_error_date": fields.Datetime.now()}
            )
            self._schedule_manual_step(
                "subscription_creation",
                self.env._("Activate the subscription"),
                self.env._(
                    "Subscription %(subscription)s could not be activated: %(error)s",
                    subscription=subscription.display_name,
                    error=str(error),
                ),
            )
        return result

    def action_view_subscriptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_model.service_subscription_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"default_account_id": self.id}
        if len(self.subscription_ids) == 1:
            action.update(
                res_id=self.subscription_ids.id, view_mode="form", views=[(False, "form")]
            )
        return action
