import logging
from collections import defaultdict

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval

from ..lib import eligibility
from .service_account import STAGES

_logger = logging.getLogger(__name__)

# Accounts evaluated per cron call (one transaction each).
OFFER_BATCH_SIZE = 10000
# The crons evaluate one at a time (pg_try_advisory_xact_lock key, "sm_offer").
EVALUATION_LOCK = 0x736D5F6F66666572
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
NIGHTLY_CRON = "service_model.service_offer_cron_nightly"


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
        help="End of the last run that evaluated every account for this offer.",
    )
    needs_evaluation = fields.Boolean(
        readonly=True,
        copy=False,
        default=True,
        help="Its accounts wait for an evaluation: its criteria changed, or the nightly run.",
    )
    evaluation_cursor = fields.Integer(
        readonly=True,
        copy=False,
        help="While it waits: its accounts up to this id are already evaluated.",
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
        """How many accounts the criteria on screen make eligible, before saving.

        Counted from the same evaluation as the nightly run, one verdict per
        set of equal facts; only the sample's accounts are read as records.
        """
        Account = self.env["service.account"]
        for offer in self:
            # every account of the company (read in one query, not searched into an id list)
            classes = offer._evaluate_scope(Account._offer_scope(company_id=offer.company_id.id))[0]
            eligible, others = [], []
            for account_ids, verdicts in classes:
                (eligible if verdicts[offer.id].eligible else others).append(account_ids)
            offer.preview_account_count = sum(len(ids) for ids, _verdicts in classes)
            offer.preview_eligible_count = sum(len(ids) for ids in eligible)
            offer.preview_sample = offer._preview_html(classes, eligible + others)

    def _preview_html(self, classes, ordered_ids):
        """A sample of the verdicts, eligible accounts first, each with its reasons."""
        verdict_of = {}
        for account_ids, verdicts in classes:
            for account_id in account_ids:
                verdict_of[account_id] = verdicts[self.id]
        sample = []
        for account_ids in ordered_ids:
            sample.extend(sorted(account_ids)[: PREVIEW_SAMPLE_SIZE - len(sample)])
            if len(sample) >= PREVIEW_SAMPLE_SIZE:
                break
        rows = Markup()
        for account in self.env["service.account"].browse(sample):
            evaluation = verdict_of[account.id]
            rows += Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>") % (
                account.display_name,
                self.env._("Eligible") if evaluation.eligible else self.env._("Not eligible"),
                Markup("<br/>").join(
                    escape(check.reason) for check in evaluation.checks if not check.passed
                ),
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
            # an evaluation under way starts again with the new criteria
            vals = dict(vals, needs_evaluation=True, evaluation_cursor=0)
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

    # -- evaluation ----------------------------------------------------------------------

    def _labels(self):
        Account = self.env["service.account"]
        return {
            "stage": dict(Account._fields["stage"]._description_selection(self.env)),
            "property_type": dict(
                Account._fields["property_type"]._description_selection(self.env)
            ),
        }

    def _evaluate_classes(self, accounts, today=None):
        """:meth:`_evaluate_scope` for the accounts of a recordset."""
        if not accounts:
            return [], {}, {}
        return self._evaluate_scope(accounts._offer_scope(ids=accounts.ids), today)

    def _domain_matchers(self, scope_domain, criteria):
        """The extra domains of these offers as queries of account ids, within the scope.

        :param criteria: ``{offer id: eligibility.Criteria}``
        :return: ``({offer id: SQL of the matching account ids}, {offer id:
            why its domain cannot be evaluated})``; offers without a domain
            are in neither
        """
        Account = self.env["service.account"].sudo().with_context(active_test=False)
        matchers, errors = {}, {}
        for offer in self:
            if not criteria[offer.id].has_domain:
                continue
            try:
                domain = offer._parsed_domain()
                query = Account._search(
                    [*scope_domain, ("company_id", "=", offer.company_id.id), *domain]
                )
                matchers[offer.id] = query.subselect()
            except Exception as error:  # a bad domain is the offer's error, not the caller's
                _logger.info("offer %s: extra conditions cannot be evaluated: %s", offer.id, error)
                errors[offer.id] = str(error) or error.__class__.__name__
        return matchers, errors

    def _read_facts_and_matches(self, scope, today, criteria):
        """The facts of the scope's accounts, with their answers to each offer's domain.

        :return: ``(groups, {offer id: its answer's index in a group's
            answers}, {offer id: error})``, ``groups`` as
            ``service.account._read_offer_facts`` gives them

        The domains are read with the facts in one query; when the database
        refuses it (a value of the wrong type in a domain), each domain is
        tried alone, and the facts read again with those that work: only the
        broken one records its error.
        """
        Account = self.env["service.account"].sudo()
        matchers, errors = self._domain_matchers(scope[1], criteria)
        try:
            with self.env.cr.savepoint():
                groups = Account._read_offer_facts(scope, today, list(matchers.values()))
            return groups, {offer_id: i for i, offer_id in enumerate(matchers)}, errors
        except Exception as error:  # one of the domains: found below, offer by offer
            _logger.info("offer extra conditions refused together, searched one by one: %s", error)
        for offer_id, matcher in list(matchers.items()):
            try:
                with self.env.cr.savepoint():
                    self.env.cr.execute(SQL("SELECT count(*) FROM (%s) matches", matcher))
            except Exception as error:  # this offer's domain: its error, not the caller's
                _logger.info("offer %s: extra conditions cannot be evaluated: %s", offer_id, error)
                errors[offer_id] = str(error) or error.__class__.__name__
                del matchers[offer_id]
        groups = Account._read_offer_facts(scope, today, list(matchers.values()))
        return groups, {offer_id: i for i, offer_id in enumerate(matchers)}, errors

    def _evaluate_scope(self, scope, today=None):
        """The verdicts of these offers for the accounts of ``scope``, once per set of equal facts.

        ``scope`` is given by ``service.account._offer_scope`` (ids, or a
        company's id range). Accounts of one company with the same facts (and
        the same answers to the offers' extra domains) get the same verdicts:
        each offer is evaluated once per such class, whatever the number of
        accounts in it.

        :return: ``(classes, errors, digests)``: ``classes`` a list of
            ``(account ids, {offer id: Evaluation})``, each offer of the
            accounts' company in the dict; ``errors`` ``{offer id: why its
            domain cannot be evaluated, or ""}``; ``digests`` ``{account id:
            digest of its stored results}``
        """
        criteria = {offer.id: offer._criteria() for offer in self}
        groups, answer_of, domain_errors = self._read_facts_and_matches(scope, today, criteria)
        labels = self._labels()
        translate = self._reason_translator()
        companies = {group[1] for group in groups}
        by_company = defaultdict(list)  # company id: [(offer id, evaluator, answer index)]
        errors = {}
        for offer in self:
            company_id = offer.company_id.id
            if company_id not in companies:
                continue
            error = domain_errors.get(offer.id, "")
            errors[offer.id] = error
            by_company[company_id].append(
                (
                    offer.id,
                    eligibility.Evaluator(
                        criteria[offer.id],
                        today or offer.company_id._service_today(),
                        labels=labels,
                        domain_error=error,
                        _=translate,
                    ),
                    answer_of.get(offer.id) if criteria[offer.id].has_domain else None,
                )
            )
        classes, digests = defaultdict(list), {}
        for account_ids, company_id, account_facts, stored, answers in groups:
            # the company's offers' answers only (None: a broken domain, never asked)
            bits = tuple(
                answers[index] if index is not None else None
                for _offer_id, _evaluator, index in by_company[company_id]
            )
            classes[(company_id, account_facts, bits)].extend(account_ids)
            digests.update(dict.fromkeys(account_ids, stored))
        evaluated = []
        for (company_id, account_facts, bits), account_ids in classes.items():
            verdicts = {}
            for (offer_id, evaluator, _index), answer in zip(
                by_company[company_id], bits, strict=True
            ):
                verdicts[offer_id] = evaluator(
                    account_facts._replace(domain_match=bool(answer))
                    if criteria[offer_id].has_domain
                    else account_facts
                )
            evaluated.append((account_ids, verdicts))
        return evaluated, errors, digests

    def _evaluate(self, accounts, today=None):
        """The verdict of each offer for each account of its company, written nowhere.

        :return: ``{(offer id, account id): (Evaluation, domain error)}``
        """
        classes, errors, _digests = self._evaluate_classes(accounts, today)
        return {
            (offer_id, account_id): (evaluation, errors[offer_id])
            for account_ids, verdicts in classes
            for offer_id, evaluation in verdicts.items()
            for account_id in account_ids
        }

    def _reason_translator(self):
        """``env._`` for the rules, each sentence looked up once per evaluation run."""
        templates = {}

        def translate(template, **params):
            if template not in templates:
                templates[template] = self.env._(template)  # pylint: disable=translation-required
            return templates[template] % params if params else templates[template]

        return translate

    def _evaluate_and_store(self, scope, today=None, now=None):
        """Evaluate the accounts of ``scope`` for these offers, store what changed; record errors.

        ``self`` holds every offer of the accounts' companies (the digest of
        an account covers all of its results). An account whose new results
        give the digest stored on it has nothing to write, and is not looked
        at further: every night, most results stay the same. The others go
        through :meth:`service.offer.result._store`, result by result.
        ``scope`` is given by ``service.account._offer_scope``, ``now`` is the
        time of evaluation. Returns the number of accounts evaluated.
        """
        classes, errors, stored = self._evaluate_scope(scope, today)
        self._record_errors(errors)
        names = self.env["service.offer.result"]._value_names()
        to_store, new_digests = {}, defaultdict(list)
        for account_ids, verdicts in classes:
            new_digest = eligibility.account_digest(
                (
                    offer_id,
                    evaluation.eligible,
                    eligibility.reasons_text(evaluation),
                    eligibility.values_text(evaluation, names),
                    errors[offer_id],
                )
                for offer_id, evaluation in verdicts.items()
            )
            stale = [account_id for account_id in account_ids if stored[account_id] != new_digest]
            if not stale:
                continue
            new_digests[new_digest].extend(stale)
            for offer_id, evaluation in verdicts.items():
                verdict = (evaluation, errors[offer_id])
                to_store.update(((offer_id, account_id), verdict) for account_id in stale)
        self.env["service.offer.result"]._store(to_store, now)
        Account = self.env["service.account"].sudo().with_context(active_test=False)
        changed = Account.browse([i for account_ids in new_digests.values() for i in account_ids])
        # the digest is the evaluation's bookkeeping, not the account's data: written
        # in one multi-row UPDATE (the ORM's flush statement), past the account's
        # write() and its workflow overrides, tracking and automations
        changed._write_multi(
            [{"offer_digest": d} for d, account_ids in new_digests.items() for _i in account_ids]
        )
        changed.invalidate_recordset(["offer_digest"])
        return len(stored)

    def _record_errors(self, errors):
        """Record on each offer why its domain cannot be evaluated (or clear it)."""
        for offer in self.sudo():
            error = errors.get(offer.id, offer.error_message or "")
            if (offer.error_message or "") != error:
                offer.error_message = error or False

    def _offers_of(self, companies):
        """The offers (not archived) that apply to accounts of ``companies``."""
        return self.search([("company_id", "in", companies.ids)])

    # -- the crons -----------------------------------------------------------------------

    @api.model
    def _evaluate_batch(self, batch_size=None, today=None):
        """Evaluate one batch of what waits: ``(accounts evaluated, accounts remaining)``.

        What waits, in this order: accounts marked after a change of theirs
        (``offer_dirty``), then the accounts of offers waiting for an
        evaluation (criteria changed, or the nightly run), from where it
        stopped (``evaluation_cursor``). Each call evaluates one batch and
        never commits: the cron framework commits and calls again while
        accounts remain. One evaluation at a time: a call that finds another
        under way does nothing (the other goes on).
        """
        # a transaction-level advisory lock: the ORM has no lock that is not a row's
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s)", EVALUATION_LOCK))
        if not self.env.cr.fetchone()[0]:
            return 0, self._evaluation_remaining()
        batch_size = batch_size or OFFER_BATCH_SIZE
        Offer = self.sudo()
        Account = self.env["service.account"].sudo().with_context(active_test=False)
        now = fields.Datetime.now()
        accounts = Account.search([("offer_dirty", "=", True)], order="id", limit=batch_size)
        if accounts:
            Offer._offers_of(accounts.company_id)._evaluate_and_store(
                Account._offer_scope(ids=accounts.ids), today, now
            )
            accounts.write({"offer_dirty": False, "offer_evaluated_at": now})
            done = len(accounts)
        else:
            done = Offer._evaluate_waiting_offers(batch_size, today, now)
        remaining = self._evaluation_remaining()
        self.env.invalidate_all()  # flat memory whatever the number of batches in a worker
        return done, remaining

    @api.model
    def _evaluate_waiting_offers(self, batch_size, today, now):
        """The next batch of accounts of the offers waiting for an evaluation, company by company.

        The batch is evaluated against every offer of the company (the
        account's digest covers them all): the accounts past the cursor up to
        the ``batch_size``-th, read as an id range. The waiting offers
        remember where they are, and are done with the batch that reaches the
        company's last account (no empty call after it).
        """
        Account = self.env["service.account"].with_context(active_test=False)
        while waiting := self.search([("needs_evaluation", "=", True)], order="company_id, id"):
            company = waiting[0].company_id
            waiting = waiting.filtered(lambda offer, c=company: offer.company_id == c)
            cursor = min(waiting.mapped("evaluation_cursor"))
            past = [("company_id", "=", company.id), ("id", ">", cursor)]
            # the batch's last account and the one after it, if any (keyset, no id list)
            bounds = Account.search(past, order="id", offset=batch_size - 1, limit=2).ids
            upto = bounds[0] if bounds else None
            done = self._offers_of(company)._evaluate_and_store(
                Account._offer_scope(company_id=company.id, after=cursor, upto=upto), today, now
            )
            if len(bounds) == 2:
                waiting.write({"evaluation_cursor": upto})
                return batch_size
            waiting.write({"needs_evaluation": False, "evaluation_cursor": 0, "last_run_at": now})
            if done:
                return done
        return 0

    @api.model
    def _evaluation_remaining(self):
        """Accounts still waiting: marked ones, and those of waiting offers past their cursor."""
        Account = self.env["service.account"].sudo().with_context(active_test=False)
        remaining = Account.search_count([("offer_dirty", "=", True)])
        for company, cursor in self.sudo()._read_group(
            [("needs_evaluation", "=", True)], ["company_id"], ["evaluation_cursor:min"]
        ):
            remaining += Account.search_count(
                [("company_id", "=", company.id), ("id", ">", cursor or 0)]
            )
        return remaining

    @api.model
    def _start_nightly_run(self):
        """Make every offer not evaluated since this night's run started wait for its evaluation.

        The run starts at the nightly cron's scheduled time (the framework
        keeps it while calls of the run remain), or now when the run is asked
        for out of schedule: successive calls of one run continue it, offers
        already evaluated in it are not evaluated again.
        """
        now = fields.Datetime.now()
        cron = self.env.ref(NIGHTLY_CRON, raise_if_not_found=False)
        started = min(cron.sudo().nextcall, now) if cron else now
        offers = self.sudo().search(
            [
                ("needs_evaluation", "=", False),
                "|",
                ("last_run_at", "=", False),
                ("last_run_at", "<", started),
            ]
        )
        if offers:
            offers.write({"needs_evaluation": True, "evaluation_cursor": 0})
            self._trigger_evaluation()
        return offers

    @api.model
    def _evaluate_marked(self, batch_size=None, today=None):
        """Everything that waits, batch by batch, in this transaction: the accounts evaluated.

        What successive calls of the crons do, without their commits (tests, scripts).
        """
        total = 0
        while True:
            done, remaining = self._evaluate_batch(batch_size, today)
            total += done
            if not (done and remaining):
                return total

    @api.model
    def _evaluate_all(self, batch_size=None, today=None):
        """The nightly run in this transaction (tests, scripts, demo data): the accounts evaluated."""
        self.sudo().search([]).write({"needs_evaluation": True, "evaluation_cursor": 0})
        return self._evaluate_marked(batch_size, today)

    @api.model
    def _cron_evaluate_marked(self):
        """The triggered cron: one batch of what waits, after the workflow's commit."""
        done, remaining = self._evaluate_batch()
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)

    @api.model
    def _cron_evaluate_all(self):
        """The nightly cron: subscription years and overdue invoices move with the date.

        Starts the night's run if it has not started, then one batch per call.
        """
        self._start_nightly_run()
        done, remaining = self._evaluate_batch()
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)

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
