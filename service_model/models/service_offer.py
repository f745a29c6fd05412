import logging
import time
from collections import defaultdict

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval

from ..lib import eligibility
from .service_account import STAGES

_logger = logging.getLogger(__name__)

# Accounts evaluated per transaction by the crons.
OFFER_BATCH_SIZE = 1000
# Seconds one cron call may evaluate before handing over to the next call.
OFFER_TIME_BUDGET = 240
# Accounts shown in the preview of an offer.
PREVIEW_SAMPLE_SIZE = 10
PROPERTY_TYPES = ("house", "flat", "commercial", "other")
# Fields whose change re-evaluates the offer's accounts.
CRITERIA_FIELDS = (
    "active",
    "company_id",
    "date_start",
    "date_end",
    *(f"stage_{code}" for code, _label in STAGES),
    "subscription_year_from",
    "subscription_year_to",
    "no_overdue_invoice",
    "overdue_days",
    *(f"property_type_{code}" for code in PROPERTY_TYPES),
    "agency_include_ids",
    "agency_exclude_ids",
    "contractor_include_ids",
    "contractor_exclude_ids",
    "domain",
)
REEVALUATION_CRON = "service_model.service_offer_cron_reevaluate"


class ServiceOffer(models.Model):
    """A downstream offer and the criteria a service account must meet for it.

    The rule lives in :mod:`..lib.eligibility`; this model gathers the facts
    of accounts in batches (:meth:`_evaluate`), stores the verdicts as
    ``service.offer.result`` rows (:meth:`_evaluate_and_store`) and runs the
    two crons: the re-evaluation of what was marked (accounts whose watched
    fields changed, offers whose criteria changed) and the nightly run.
    Evaluation never happens inside the workflow's transaction, and an offer
    that cannot be evaluated (a bad domain) records its error and stops nothing.
    """

    _name = "service.offer"
    _description = "Offer"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    description = fields.Text(translate=True, help="What CS tells the customer about the offer.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    date_start = fields.Date(string="From", help="First day of the offer; empty: already runs.")
    date_end = fields.Date(string="Until", help="Last day of the offer; empty: no end.")
    stage_draft = fields.Boolean(string="Draft Accounts")
    stage_onboarding = fields.Boolean(string="Onboarding Accounts")
    stage_active = fields.Boolean(string="Active Accounts", default=True)
    stage_suspended = fields.Boolean(string="Suspended Accounts")
    stage_cancelled = fields.Boolean(string="Cancelled Accounts")
    subscription_year_from = fields.Integer(
        string="Subscription Year From", help="0: from the first year."
    )
    subscription_year_to = fields.Integer(string="Subscription Year To", help="0: no last year.")
    no_overdue_invoice = fields.Boolean(
        string="No Overdue Invoice", help="Accounts with an invoice overdue are not eligible."
    )
    overdue_days = fields.Integer(
        string="Days Allowed Past Due",
        help="An invoice counts as overdue this many days after its due date.",
    )
    property_type_house = fields.Boolean(string="Houses")
    property_type_flat = fields.Boolean(string="Flats")
    property_type_commercial = fields.Boolean(string="Commercial Properties")
    property_type_other = fields.Boolean(string="Other Properties")
    agency_include_ids = fields.Many2many(
        "res.partner",
        "service_offer_agency_include_rel",
        "offer_id",
        "partner_id",
        string="Only These Agencies",
        domain="[('is_service_agency', '=', True)]",
    )
    agency_exclude_ids = fields.Many2many(
        "res.partner",
        "service_offer_agency_exclude_rel",
        "offer_id",
        "partner_id",
        string="Not These Agencies",
        domain="[('is_service_agency', '=', True)]",
    )
    contractor_include_ids = fields.Many2many(
        "res.partner",
        "service_offer_contractor_include_rel",
        "offer_id",
        "partner_id",
        string="Only These Contractors",
        domain="[('is_service_contractor', '=', True)]",
    )
    contractor_exclude_ids = fields.Many2many(
        "res.partner",
        "service_offer_contractor_exclude_rel",
        "offer_id",
        "partner_id",
        string="Not These Contractors",
        domain="[('is_service_contractor', '=', True)]",
    )
    domain = fields.Char(
        string="Extra Conditions", default="[]", help="Further conditions on the service account."
    )
    error_message = fields.Text(
        readonly=True, copy=False, help="Why the offer could not be evaluated at its last run."
    )
    last_run_at = fields.Datetime(
        string="Last Evaluated On",
        readonly=True,
        copy=False,
        help="Start of the last run that evaluated every account for this offer.",
    )
    needs_evaluation = fields.Boolean(
        readonly=True, copy=False, default=True, help="Its criteria changed since its last run."
    )
    result_ids = fields.One2many("service.offer.result", "offer_id", string="Results")
    eligible_count = fields.Integer(compute="_compute_eligible_count", string="Eligible Accounts")
    preview_eligible_count = fields.Integer(compute="_compute_preview", string="Would Be Eligible")
    preview_account_count = fields.Integer(compute="_compute_preview", string="Accounts Evaluated")
    preview_sample = fields.Html(compute="_compute_preview", string="Sample", sanitize=False)

    _sql_constraints = [
        (
            "subscription_years_ordered",
            "CHECK(subscription_year_to = 0 OR subscription_year_to >= subscription_year_from)",
            "The last subscription year cannot come before the first.",
        ),
        (
            "overdue_days_not_negative",
            "CHECK(overdue_days >= 0)",
            "Days past due cannot be negative.",
        ),
    ]

    # -- computes ------------------------------------------------------------------------

    def _compute_eligible_count(self):
        counts = dict(
            self.env["service.offer.result"]._read_group(
                [("offer_id", "in", self.ids), ("eligible", "=", True)], ["offer_id"], ["__count"]
            )
        )
        for offer in self:
            offer.eligible_count = counts.get(offer, 0)

    @api.depends(*CRITERIA_FIELDS)
    def _compute_preview(self):
        """How many accounts the criteria on screen make eligible, before saving."""
        for offer in self:
            accounts = self.env["service.account"].search(offer._account_domain())
            verdicts = offer._evaluate(accounts) if accounts else {}
            eligible = [
                key for key, (evaluation, _error) in verdicts.items() if evaluation.eligible
            ]
            offer.preview_account_count = len(accounts)
            offer.preview_eligible_count = len(eligible)
            offer.preview_sample = offer._preview_html(accounts, verdicts)

    def _preview_html(self, accounts, verdicts):
        """A sample of the verdicts, eligible accounts first, each with its reasons."""
        ordered = sorted(accounts, key=lambda a: not verdicts[(self.id, a.id)][0].eligible)
        rows = Markup()
        for account in ordered[:PREVIEW_SAMPLE_SIZE]:
            evaluation = verdicts[(self.id, account.id)][0]
            reasons = [check.reason for check in evaluation.checks if not check.passed]
            rows += Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>") % (
                account.display_name,
                self.env._("Eligible") if evaluation.eligible else self.env._("Not eligible"),
                Markup("<br/>").join(escape(reason) for reason in reasons),
            )
        if not rows:
            return Markup("<p>%s</p>") % self.env._("No service account to evaluate.")
        return Markup(
            '<table class="table table-sm o_service_offer_preview"><thead><tr>'
            "<th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (self.env._("Account"), self.env._("Verdict"), self.env._("Why not"), rows)

    # -- CRUD ----------------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        offers = super().create(vals_list)
        self._trigger_evaluation()
        return offers

    def write(self, vals):
        if set(vals) & set(CRITERIA_FIELDS):
            vals = dict(vals, needs_evaluation=True)
            self._trigger_evaluation()
        return super().write(vals)

    @api.model
    def _trigger_evaluation(self):
        """Wake the re-evaluation cron once per transaction: it runs after the commit."""
        data = self.env.cr.precommit.data
        if data.get("service_offer.triggered"):
            return
        data["service_offer.triggered"] = True
        cron = self.env.ref(REEVALUATION_CRON, raise_if_not_found=False)
        if cron and cron.sudo().active:
            cron.sudo()._trigger()

    # -- criteria ------------------------------------------------------------------------

    def _account_domain(self):
        """The accounts an offer looks at: those of its company."""
        self.ensure_one()
        return [("company_id", "=", self.company_id.id)]

    def _criteria(self):
        """The offer's criteria as plain values (works on unsaved records too)."""
        self.ensure_one()
        return eligibility.Criteria(
            date_start=self.date_start or None,
            date_end=self.date_end or None,
            stages=frozenset(code for code, _label in STAGES if self[f"stage_{code}"]),
            year_from=self.subscription_year_from,
            year_to=self.subscription_year_to,
            no_overdue=self.no_overdue_invoice,
            overdue_days=self.overdue_days,
            property_types=frozenset(
                code for code in PROPERTY_TYPES if self[f"property_type_{code}"]
            ),
            agency_in=frozenset(self.agency_include_ids._origin.ids),
            agency_out=frozenset(self.agency_exclude_ids._origin.ids),
            contractor_in=frozenset(self.contractor_include_ids._origin.ids),
            contractor_out=frozenset(self.contractor_exclude_ids._origin.ids),
            has_domain=(self.domain or "").strip() not in ("", "[]"),
        )

    def _parsed_domain(self):
        """The extra domain as a list; a text that is not a domain raises ValueError."""
        self.ensure_one()
        try:
            domain = safe_eval(
                self.domain or "[]",
                {
                    "uid": self.env.uid,
                    "user": self.env.user,
                    "datetime": safe_datetime,
                    "context_today": lambda: fields.Date.context_today(self),
                },
            )
            if not isinstance(domain, list | tuple):
                raise ValueError(self.env._("the extra conditions are not a list"))
        except Exception as error:  # any text can be typed: report, never crash
            raise ValueError(str(error)) from error
        return list(domain)

    def _domain_matches(self, accounts):
        """(ids of ``accounts`` matching the extra domain, error): one query, never raises.

        A domain naming a field that does not exist, or a value the database
        refuses, gives the error instead of the ids; the savepoint keeps the
        transaction usable for the other offers.
        """
        self.ensure_one()
        try:
            domain = self._parsed_domain()
            with self.env.cr.savepoint():
                matches = (
                    accounts.sudo()
                    .with_context(active_test=False)
                    .search([("id", "in", accounts.ids), *domain])
                )
        except Exception as error:  # a bad domain is the offer's error, not the caller's
            _logger.info("offer %s: extra conditions cannot be evaluated: %s", self.id, error)
            return set(), str(error) or error.__class__.__name__
        return set(matches.ids), ""

    # -- evaluation ----------------------------------------------------------------------

    def _labels(self):
        Account = self.env["service.account"]
        return {
            "stage": dict(Account._fields["stage"]._description_selection(self.env)),
            "property_type": dict(
                Account._fields["property_type"]._description_selection(self.env)
            ),
        }

    def _evaluate(self, accounts, today=None):
        """The verdict of each offer for each account of its company, written nowhere.

        :return: ``{(offer id, account id): (Evaluation, domain error)}``; the
            facts of ``accounts`` are gathered once, in a few queries
        """
        facts = accounts._offer_facts(today)
        labels = self._labels()
        translate = self._reason_translator()
        by_company = defaultdict(list)
        for account_id, (company_id, _facts) in facts.items():
            by_company[company_id].append(account_id)
        verdicts = {}
        for offer in self:
            criteria = offer._criteria()
            account_ids = by_company.get(offer.company_id.id, [])
            matches, error = (
                offer._domain_matches(accounts.browse(account_ids))
                if criteria.has_domain and account_ids
                else ((), "")
            )
            evaluator = eligibility.Evaluator(
                criteria,
                today or offer.company_id._service_today(),
                labels=labels,
                domain_error=error,
                _=translate,
            )
            # accounts with the same facts share one evaluation (and its texts)
            seen = {}
            for account_id in account_ids:
                account_facts = facts[account_id][1]
                if criteria.has_domain:
                    account_facts = account_facts._replace(domain_match=account_id in matches)
                evaluation = seen.get(account_facts)
                if evaluation is None:
                    evaluation = seen[account_facts] = evaluator(account_facts)
                verdicts[(offer.id, account_id)] = (evaluation, error)
        return verdicts

    def _reason_translator(self):
        """``env._`` for the rules, each sentence looked up once per evaluation run."""
        templates = {}

        def translate(template, **params):
            if template not in templates:
                templates[template] = self.env._(template)  # pylint: disable=translation-required
            return templates[template] % params if params else templates[template]

        return translate

    def _evaluate_and_store(self, accounts, today=None, now=None):
        """Evaluate ``accounts`` for these offers and store the results; record domain errors.

        ``now`` is the start of the run (the results' time of evaluation).
        """
        verdicts = self._evaluate(accounts, today)
        errors = {offer_id: error for (offer_id, _account_id), (_e, error) in verdicts.items()}
        for offer in self.sudo():
            error = errors.get(offer.id, offer.error_message or "")
            if (offer.error_message or "") != error:
                offer.error_message = error or False
        self.env["service.offer.result"]._store(verdicts, now)
        return verdicts

    def _offers_of(self, companies):
        """The offers (not archived) that apply to accounts of ``companies``."""
        return self.search([("company_id", "in", companies.ids)])

    @api.model
    def _evaluate_marked(self, batch_size=OFFER_BATCH_SIZE, commit=True, time_budget=None):
        """Evaluate what was marked: offers whose criteria changed, then accounts.

        Batch by batch, reporting progress to the cron and committing after
        each batch (with ``commit``). Stops when nothing is marked or after
        ``time_budget`` seconds, and then re-triggers itself if work remains.
        Returns the number of accounts evaluated.
        """
        Account = self.env["service.account"].sudo().with_context(active_test=False)
        started = time.monotonic()
        done = 0
        for offer in self.sudo().search([("needs_evaluation", "=", True)]):
            now = fields.Datetime.now()
            last_id = 0
            while True:
                accounts = Account.search(
                    [*offer._account_domain(), ("id", ">", last_id)], order="id", limit=batch_size
                )
                if not accounts:
                    break
                offer._evaluate_and_store(accounts, now=now)
                last_id = accounts[-1].id
                done += len(accounts)
                self._batch_done(done, Account, commit)
            offer.write({"needs_evaluation": False, "last_run_at": now})
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        while not time_budget or time.monotonic() - started < time_budget:
            accounts = Account.search([("offer_dirty", "=", True)], order="id", limit=batch_size)
            if not accounts:
                break
            now = fields.Datetime.now()
            self.sudo()._offers_of(accounts.company_id)._evaluate_and_store(accounts, now=now)
            accounts.write({"offer_dirty": False, "offer_evaluated_at": now})
            done += len(accounts)
            self._batch_done(done, Account, commit)
        if Account.search_count([("offer_dirty", "=", True)], limit=1):
            self._trigger_evaluation()
        return done

    def _batch_done(self, done, Account, commit):
        remaining = Account.search_count([("offer_dirty", "=", True)])
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        if commit:
            # one transaction per batch: stored results survive a later failure
            self.env.cr.commit()  # pylint: disable=invalid-commit
            self.env.invalidate_all()  # keeps memory flat whatever the number of accounts

    @api.model
    def _evaluate_all(self, batch_size=OFFER_BATCH_SIZE, commit=True, today=None):
        """The nightly run: every account against every offer of its company, in batches."""
        Account = self.env["service.account"].sudo().with_context(active_test=False)
        total = Account.search_count([])
        now = fields.Datetime.now()
        offers = self.sudo().search([])
        last_id = done = 0
        while True:
            accounts = Account.search([("id", ">", last_id)], order="id", limit=batch_size)
            if not accounts:
                break
            last_id = accounts[-1].id
            offers._offers_of(accounts.company_id)._evaluate_and_store(accounts, today, now)
            done += len(accounts)
            self.env["ir.cron"]._notify_progress(done=done, remaining=max(total - done, 0))
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
                self.env.invalidate_all()
        # the run's time for every result it did not need to rewrite
        offers.write({"last_run_at": now, "needs_evaluation": False})
        return done

    @api.model
    def _cron_evaluate_marked(self):
        """The triggered cron: evaluate marked accounts and changed offers, after their commit."""
        self._evaluate_marked(time_budget=OFFER_TIME_BUDGET)

    @api.model
    def _cron_evaluate_all(self):
        """The nightly cron: subscription years and overdue invoices move with the date."""
        self._evaluate_all()

    # -- actions -------------------------------------------------------------------------

    def action_view_eligible_accounts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_model.service_offer_result_action"
        )
        action["domain"] = [("offer_id", "=", self.id)]
        action["context"] = {"search_default_filter_eligible": 1}
        return action

    def action_evaluate_now(self):
        """Ask for an evaluation after this transaction (the cron runs it at once)."""
        self.write({"needs_evaluation": True})
        self._trigger_evaluation()
        return True
