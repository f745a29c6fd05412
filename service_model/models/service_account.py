import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..lib import due_date as engine

_logger = logging.getLogger(__name__)

STAGES = [
    ("draft", "Draft"),
    ("onboarding", "Onboarding"),
    ("active", "Active"),
    ("suspended", "Suspended"),
    ("cancelled", "Cancelled"),
]
OPEN_JOB_STATES = ("pending", "accepted", "in_progress")
# Stage moves a write may make, the same as the buttons offer.
STAGE_MOVES = {
    "draft": ("onboarding", "active", "cancelled"),
    "onboarding": ("active", "cancelled"),
    "active": ("suspended", "cancelled"),
    "suspended": ("active", "cancelled"),
    "cancelled": ("draft",),
}
# Context key set by the due-date engine when it writes anchors and jobs
# itself; any other write of these fields is routed through the engine.
ENGINE_WRITE = "service_engine_write"
# Field-level rules (superuser and sudo() bypass them):
# only CS moves stages and records service dates ...
CS_FIELDS = ("stage", "last_service_date")
# ... and only Finance changes the plan of an account that is billed.
PLAN_FIELDS = ("plan_product_id", "plan_yearly_price", "plan_term_years", "bill_to")
PLAN_LOCKED_STAGES = ("active", "suspended")

# Key data each stage needs, cumulative: what onboarding needs, activation needs too.
ONBOARDING_FIELDS = ("property_reference", "street", "city", "end_user_id", "service_type_id")
ACTIVATION_FIELDS = (
    "contractor_id",
    "cs_user_id",
    "plan_product_id",
    "plan_yearly_price",
    "bill_to_partner_id",
)


def changing_records(records, vals, fnames):
    """The records on which ``vals`` changes one of ``fnames``.

    Imports write every column of a row: a value that stays the same is no
    change, so the field-level rules judge real changes only.
    """
    fnames = [fname for fname in fnames if fname in vals]
    changing = records.browse()
    for record in records if fnames else ():
        for fname in fnames:
            field = records._fields[fname]
            new = field.convert_to_record(field.convert_to_cache(vals[fname], record), record)
            if new != record[fname]:
                changing |= record
                break
    return changing


class ServiceAccount(models.Model):
    """A property under a service plan: the unit CS, Finance and contractors share.

    Hooks other modules build on:

    - :meth:`_apply_service_dates`: every new service date (import, portal,
      manual entry) goes through the due-date engine here.
    - :meth:`_on_job_completed`: called when one of its jobs is done.
    - :meth:`_schedule_team_activity`: the hand-off to a team when an
      automation switch is off.
    """

    _name = "service.account"
    _description = "Service Account"
    _inherit = [
        "service.batch.tracking.mixin",
        "mail.thread",
        "mail.activity.mixin",
        "service.glossary.mixin",
        "service.handoff.mixin",
    ]
    _order = "property_reference"
    _check_company_auto = True
    _rec_names_search = ["property_reference", "name", "street", "city"]

    name = fields.Char(string="Property Name", tracking=True)
    property_reference = fields.Char(
        string="Property Reference", required=True, index=True, copy=False, tracking=True
    )
    property_type = fields.Selection(
        [
            ("house", "House"),
            ("flat", "Flat"),
            ("commercial", "Commercial"),
            ("other", "Other"),
        ],
        default="house",
        required=True,
    )
    street = fields.Char()
    street2 = fields.Char()
    zip = fields.Char()
    city = fields.Char()
    state_id = fields.Many2one(
        "res.country.state", string="State", domain="[('country_id', '=?', country_id)]"
    )
    country_id = fields.Many2one("res.country", string="Country")
    end_user_id = fields.Many2one("res.partner", string="End User", tracking=True, index=True)
    agency_id = fields.Many2one(
        "res.partner",
        string="Agency",
        tracking=True,
        index=True,
        domain="[('is_service_agency', '=', True)]",
    )
    contractor_id = fields.Many2one(
        "res.partner",
        string="Contractor",
        tracking=True,
        index=True,
        domain="[('is_service_contractor', '=', True)]",
    )
    service_type_id = fields.Many2one(
        "service.type", string="Service Type", tracking=True, check_company=True
    )
    plan_product_id = fields.Many2one(
        "product.product",
        string="Plan Product",
        compute="_compute_plan_product_id",
        store=True,
        readonly=False,
        tracking=True,
    )
    plan_yearly_price = fields.Monetary(string="Yearly Price", tracking=True)
    plan_term_years = fields.Integer(
        string="Term (Years)", default=5, tracking=True, help="0 bills every year until cancelled."
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    bill_to = fields.Selection(
        [("end_user", "End user"), ("agency", "Agency")],
        string="Bill To",
        default="end_user",
        required=True,
        tracking=True,
    )
    bill_to_partner_id = fields.Many2one(
        "res.partner", string="Bill-To Party", compute="_compute_bill_to_partner_id", store=True
    )
    cs_user_id = fields.Many2one(
        "res.users",
        string="CS Owner",
        default=lambda self: self.env.user,
        tracking=True,
        index=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    stage = fields.Selection(
        STAGES,
        default="draft",
        required=True,
        tracking=True,
        index=True,
        copy=False,
        group_expand=True,
    )
    stage_date = fields.Datetime(string="In Stage Since", default=fields.Datetime.now, copy=False)
    last_service_date = fields.Date(
        string="Last Service",
        tracking=True,
        copy=False,
        help="The anchor of the current cycle. A new date goes through the due-date engine.",
    )
    plan_locked = fields.Boolean(
        compute="_compute_plan_locked",
        help="The plan (product, price, term, bill-to) can only be changed by Finance now.",
    )
    job_ids = fields.One2many("service.job", "account_id", string="Jobs")
    job_count = fields.Integer(compute="_compute_job_stats")
    open_job_id = fields.Many2one("service.job", string="Open Job", compute="_compute_job_stats")
    next_due_date = fields.Date(string="Next Due", compute="_compute_job_stats")
    checklist_item_ids = fields.One2many(
        "service.account.checklist.item", "account_id", string="Checklist"
    )
    stage_log_ids = fields.One2many(
        "service.account.stage.log", "account_id", string="Stage History"
    )
    completeness = fields.Float(
        compute="_compute_completeness", help="Share of the key data and checklist done."
    )
    missing_items = fields.Text(compute="_compute_completeness", string="Missing")
    notes = fields.Html()
    active = fields.Boolean(default=True)
    color = fields.Integer()

    _sql_constraints = [
        (
            "property_reference_company_unique",
            "UNIQUE(property_reference, company_id)",
            "Another service account already has this property reference.",
        ),
        ("plan_term_not_negative", "CHECK(plan_term_years >= 0)", "The term cannot be negative."),
        (
            "plan_price_not_negative",
            "CHECK(plan_yearly_price >= 0)",
            "The yearly price cannot be negative.",
        ),
    ]

    # -- computes ------------------------------------------------------------------

    @api.depends("property_reference", "name", "street", "city")
    def _compute_display_name(self):
        for account in self:
            place = account.name or ", ".join(filter(None, [account.street, account.city]))
            account.display_name = " · ".join(filter(None, [account.property_reference, place]))

    @api.depends("service_type_id")
    def _compute_plan_product_id(self):
        for account in self:
            if account.service_type_id.product_id and not account.plan_product_id:
                account.plan_product_id = account.service_type_id.product_id

    @api.depends("bill_to", "end_user_id", "agency_id")
    def _compute_bill_to_partner_id(self):
        for account in self:
            account.bill_to_partner_id = (
                account.agency_id if account.bill_to == "agency" else account.end_user_id
            )

    @api.depends("stage")
    @api.depends_context("uid")
    def _compute_plan_locked(self):
        is_finance = self.env.user.has_group("service_model.group_finance")
        for account in self:
            account.plan_locked = account.stage in PLAN_LOCKED_STAGES and not is_finance

    @api.depends("job_ids.state", "job_ids.due_date")
    def _compute_job_stats(self):
        counts = dict(
            self.env["service.job"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        open_jobs = self.env["service.job"].search_fetch(
            [("account_id", "in", self.ids), ("state", "in", OPEN_JOB_STATES)],
            ["account_id", "due_date"],
        )
        open_by_account = {job.account_id: job for job in open_jobs}
        for account in self:
            job = open_by_account.get(account, self.env["service.job"])
            account.job_count = counts.get(account, 0)
            account.open_job_id = job
            account.next_due_date = job.due_date

    @api.depends(
        *ONBOARDING_FIELDS,
        *ACTIVATION_FIELDS,
        "end_user_id.email",
        "end_user_id.phone",
        "checklist_item_ids.done",
    )
    def _compute_completeness(self):
        for account in self:
            missing = account._missing_for_stage("active")
            total = (
                len(ONBOARDING_FIELDS)
                + len(ACTIVATION_FIELDS)
                + 1
                + len(account.checklist_item_ids)
            )
            account.completeness = 100.0 * (total - len(missing)) / total
            account.missing_items = "\n".join(missing)

    # -- activation gate -----------------------------------------------------------

    def _missing_for_stage(self, stage):
        """Names of what ``stage`` still needs on this account, in the user's language."""
        self.ensure_one()
        fnames = list(ONBOARDING_FIELDS)
        if stage == "active":
            fnames += ACTIVATION_FIELDS
        missing = []
        for fname in fnames:
            if not self[fname]:
                if fname == "bill_to_partner_id" and self.bill_to == "agency":
                    missing.append(self.env._("Bill-to party (the agency)"))
                else:
                    missing.append(self._fields[fname]._description_string(self.env))
        if stage == "active":
            if not (self.end_user_id.email or self.end_user_id.phone):
                missing.append(self.env._("End user email or phone"))
            team_labels = dict(
                self.env["service.checklist.template"]
                ._fields["team"]
                ._description_selection(self.env)
            )
            for item in self.checklist_item_ids.filtered(lambda i: not i.done):
                missing.append(
                    self.env._(
                        "Checklist (%(team)s): %(item)s",
                        team=team_labels.get(item.team),
                        item=item.name,
                    )
                )
        return missing

    def _check_stage_gate(self, stage):
        problems = []
        for account in self:
            missing = account._missing_for_stage(stage)
            if missing:
                problems.append(
                    self.env._(
                        "%(account)s cannot move to %(stage)s; missing:\n%(missing)s",
                        account=account.display_name,
                        stage=dict(self._fields["stage"]._description_selection(self.env))[stage],
                        missing="\n".join(f"- {item}" for item in missing),
                    )
                )
        if problems:
            raise UserError("\n\n".join(problems))

    # -- CRUD ----------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("stage", "draft") not in ("draft", "onboarding"):
                raise UserError(
                    self.env._("A new service account starts as a draft or in onboarding.")
                )
        service_dates = []
        if not self.env.context.get(ENGINE_WRITE):
            # the engine stores the dates once the accounts exist (row 10)
            vals_list = [dict(vals) for vals in vals_list]
            service_dates = [vals.pop("last_service_date", False) for vals in vals_list]
        accounts = super().create(vals_list)
        # new accounts have no date yet: any date given is a change
        accounts._check_field_rights({"last_service_date": next(filter(None, service_dates), None)})
        accounts.filtered(lambda a: a.stage == "onboarding")._check_stage_gate("onboarding")
        accounts._log_stage_change()
        accounts.filtered(lambda a: a.stage == "onboarding")._copy_checklist()
        entries = [
            {"account": account, "service_date": fields.Date.to_date(service_date)}
            for account, service_date in zip(accounts, service_dates, strict=False)
            if service_date
        ]
        accounts._apply_or_refuse(entries)
        return accounts

    def write(self, vals):
        self._check_field_rights(vals)
        service_date = None
        routed = "last_service_date" in vals and not self.env.context.get(ENGINE_WRITE)
        if routed:
            vals = dict(vals)
            service_date = fields.Date.to_date(vals.pop("last_service_date"))
        new_stage = vals.get("stage")
        if new_stage:
            moving = self.filtered(lambda a: a.stage != new_stage)
            moving._check_stage_move(new_stage)
            if new_stage in ("onboarding", "active"):
                # the checklist must exist before the gate can judge it
                moving._copy_checklist()
                moving._check_stage_gate(new_stage)
            vals = dict(vals, stage_date=fields.Datetime.now())
            moving._close_stage_log()
        result = super().write(vals) if vals else True
        if new_stage:
            moving._log_stage_change()
            # buttons, statusbar, imports and RPC share these consequences
            if new_stage == "active":
                moving._on_activated()
            elif new_stage == "cancelled":
                moving.job_ids.filtered(lambda j: j.state in OPEN_JOB_STATES).write(
                    {"state": "cancelled"}
                )
        active = self.filtered(lambda a: a.stage == "active")
        if active and {"property_reference", "street", "city"} & set(vals):
            # key data may never be emptied on an active account
            active._check_stage_gate("onboarding")
        if routed:
            self._write_service_date(service_date)
        return result

    def _check_field_rights(self, vals):
        """Field-level rules of the roles: Finance does not move stages or record
        service dates; only Finance changes the plan of an active or suspended
        account. ``sudo()`` (the system) is not bound by them."""
        if self.env.su or not vals:
            return
        user = self.env.user
        if not user.has_group("service_model.group_cs_user") and changing_records(
            self, vals, CS_FIELDS
        ):
            raise AccessError(
                self.env._(
                    "Only Customer Success moves service accounts between stages and records "
                    "service dates. Ask the account's CS owner to do it."
                )
            )
        if not user.has_group("service_model.group_finance"):
            locked = self.filtered(lambda a: a.stage in PLAN_LOCKED_STAGES)
            changing = changing_records(locked, vals, PLAN_FIELDS)
            if changing:
                raise AccessError(
                    self.env._(
                        "The plan (product, yearly price, term, bill-to) of %(accounts)s is "
                        "billed: only Finance can change it. Ask Finance to make the change.",
                        accounts=", ".join(changing.mapped("display_name")),
                    )
                )

    def _check_stage_move(self, new_stage):
        labels = dict(self._fields["stage"]._description_selection(self.env))
        for account in self:
            if new_stage not in STAGE_MOVES[account.stage]:
                raise UserError(
                    self.env._(
                        "%(account)s cannot move from %(old)s to %(new)s. "
                        "Allowed from %(old)s: %(allowed)s.",
                        account=account.display_name,
                        old=labels[account.stage],
                        new=labels[new_stage],
                        allowed=", ".join(labels[s] for s in STAGE_MOVES[account.stage]),
                    )
                )

    def _write_service_date(self, service_date):
        """A last-service date written on these accounts (form, import, RPC,
        automated action): the engine decides, or the write is refused."""
        if not service_date:
            if self.filtered("last_service_date"):
                raise UserError(
                    self.env._(
                        "A last service date cannot be removed. Record the correct date "
                        "instead (a CS manager may allow backdating)."
                    )
                )
            return
        self._apply_or_refuse(
            [{"account": account, "service_date": service_date} for account in self]
        )

    def _apply_or_refuse(self, entries):
        """Run ``entries`` through the engine; any rejection refuses them all."""
        if not entries:
            return []
        results = self._apply_service_dates(entries)
        refused = [result for result in results if result["outcome"] == engine.REJECTED]
        if refused:
            lines = [
                self.env._(
                    "%(account)s: the service date %(date)s is refused (%(reason)s).",
                    account=result["account"].display_name,
                    date=result["new_date"],
                    reason=result["reason"],
                )
                for result in refused
            ]
            lines.append(
                self.env._(
                    "Nothing was saved. Enter the date of the last service actually done: not "
                    "after today, within the plausibility limit, and not older than the current "
                    "last service date unless a CS manager allows backdating."
                )
            )
            raise UserError("\n".join(lines))
        return results

    def _log_stage_change(self):
        self.env["service.account.stage.log"].sudo().create(
            [
                {
                    "account_id": account.id,
                    "stage": account.stage,
                    "date_start": fields.Datetime.now(),
                }
                for account in self
            ]
        )

    def _close_stage_log(self):
        open_logs = (
            self.env["service.account.stage.log"]
            .sudo()
            .search([("account_id", "in", self.ids), ("date_end", "=", False)])
        )
        open_logs.date_end = fields.Datetime.now()

    def _copy_checklist(self):
        """Copy the active checklist templates onto accounts that have none yet."""
        templates = self.env["service.checklist.template"].search([])
        vals_list = []
        for account in self.filtered(lambda a: not a.checklist_item_ids):
            vals_list += [
                {
                    "account_id": account.id,
                    "template_id": t.id,
                    "name": t.name,
                    "team": t.team,
                    "sequence": t.sequence,
                }
                for t in templates
                if not t.company_id or t.company_id == account.company_id
            ]
        # the checklist is copied by the system; CS users only tick it
        self.env["service.account.checklist.item"].sudo().create(vals_list)

    # -- stage actions ---------------------------------------------------------------

    def action_start_onboarding(self):
        self.filtered(lambda a: a.stage == "draft").write({"stage": "onboarding"})
        self._copy_checklist()
        return True

    def action_activate(self):
        self.filtered(lambda a: a.stage in ("draft", "onboarding", "suspended")).write(
            {"stage": "active"}
        )
        return True

    def action_suspend(self):
        self.filtered(lambda a: a.stage == "active").write({"stage": "suspended"})
        return True

    def action_cancel(self):
        """Cancel the accounts; their open jobs are cancelled with them (in write)."""
        self.filtered(lambda a: a.stage != "cancelled").write({"stage": "cancelled"})
        return True

    def action_reset_to_draft(self):
        self.filtered(lambda a: a.stage == "cancelled").write({"stage": "draft"})
        return True

    def _on_activated(self):
        """Row 10: a service date stored while inactive becomes a job now."""
        waiting = self.filtered(lambda a: a.last_service_date and not a.open_job_id)
        waiting._create_jobs_from_anchors()

    def action_create_job(self):
        """The manual step when automatic job creation is off."""
        self.ensure_one()
        if self.stage != "active":
            raise UserError(self.env._("Activate the account before creating its job."))
        if not self.last_service_date:
            raise UserError(
                self.env._("Record the last service date first: the due date follows from it.")
            )
        if self.open_job_id:
            raise UserError(
                self.env._(
                    "This account already has an open job: %(job)s.",
                    job=self.open_job_id.display_name,
                )
            )
        self._create_jobs_from_anchors(force=True)
        self._close_manual_step("job_creation", self.env._("Job created."))
        return self.action_view_jobs()

    def action_view_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("service_model.service_job_action")
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"default_account_id": self.id}
        return action

    def action_record_service_date(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Record a Service Date"),
            "res_model": "service.date.entry.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_id": self.id},
        }

    # -- the due-date engine, orchestrated ----------------------------------------------

    def _engine_policies(self):
        """The engine's policy and today, per (company, service type) of these accounts.

        :return: ``{(company, service_type): (DuePolicy, today)}``, today in
            each company's timezone; each company's calendar is read once
        """
        longest = max((a.service_type_id.interval_months or 12 for a in self), default=12)
        calendars, policies = {}, {}
        for account in self:
            company, service_type = key = (account.company_id, account.service_type_id)
            if key in policies:
                continue
            if company not in calendars:
                today = company._service_today()
                horizon = 12 * (company.service_plausibility_years or 5)
                calendars[company] = (
                    today,
                    company._service_working_calendar(
                        engine.add_months(today, -horizon), engine.add_months(today, longest + 12)
                    ),
                )
            today, calendar = calendars[company]
            policies[key] = (service_type._service_policy(company, calendar), today)
        return policies

    def _create_jobs_from_anchors(self, force=False):
        """Create the open job of each account from its anchor, in one batch.

        Accounts that are not active, have no anchor or already have an open
        job are left alone. With automatic job creation off (and not
        ``force``), an activity asks CS to create the job instead.
        The number of queries does not grow with the number of accounts.
        """
        self.fetch(
            [
                "company_id",
                "service_type_id",
                "contractor_id",
                "last_service_date",
                "stage",
                "cs_user_id",
            ]
        )
        candidates = self.filtered(lambda a: a.stage == "active" and a.last_service_date)
        if not candidates:
            return self.env["service.job"]
        has_open = {
            account
            for [account] in self.env["service.job"]._read_group(
                [("account_id", "in", candidates.ids), ("state", "in", OPEN_JOB_STATES)],
                ["account_id"],
            )
        }
        candidates = candidates.filtered(lambda a: a not in has_open)
        if not force:
            manual = candidates.filtered(lambda a: not a.company_id.service_auto_create_jobs)
            manual._schedule_manual_step(
                "job_creation",
                self.env._("Create the job"),
                self.env._(
                    "A service date is recorded and automatic job creation is off: create the job."
                ),
            )
            candidates -= manual
        if not candidates:
            return self.env["service.job"]
        return self.env["service.job"]._create_from_engine(
            [(account, account.last_service_date) for account in candidates],
            candidates._engine_policies(),
        )

    @api.model
    def _apply_service_dates(self, entries, allow_backdating=False, dry_run=False):
        """Apply new last-service dates through the due-date engine (rows 5-10).

        :param entries: list of dicts ``{"account": record, "service_date": date,
            "line": int or None}``; an account appears at most once (the import
            merges duplicates, row 11, before calling this).
        :param allow_backdating: accept dates older than the current anchor
            (row 9); only a CS manager may (AccessError otherwise)
        :param dry_run: decide and report, write nothing (previews)
        :return: one dict per entry, same order: ``line``, ``account``,
            ``old_date``, ``new_date``, ``outcome`` (created, updated,
            unchanged, stored, conflict, rejected), ``reason`` (translated
            sentence), ``reason_code`` (``future``, ``implausible``,
            ``regression`` or False), ``job`` (the created or affected job, if
            any) and ``due_date``
        """
        if (
            allow_backdating
            and not self.env.su
            and not self.env.user.has_group("service_model.group_cs_manager")
        ):
            raise AccessError(
                self.env._(
                    "Only a CS manager may allow backdating (a date older than the last "
                    "service date). Ask a CS manager to record this date."
                )
            )
        Job = self.env["service.job"]
        account_ids = [entry["account"].id for entry in entries]
        if len(set(account_ids)) != len(account_ids):
            raise ValueError("_apply_service_dates takes each account once: merge duplicates first")
        accounts = self.browse(account_ids)
        if not accounts:
            return []
        accounts.fetch(
            ["company_id", "service_type_id", "contractor_id", "last_service_date", "stage"]
        )
        policies = accounts._engine_policies()
        open_jobs = Job.search_fetch(
            [("account_id", "in", accounts.ids), ("state", "in", OPEN_JOB_STATES)],
            ["account_id", "state", "due_date", "anchor_date"],
        )
        open_by_account = {job.account_id.id: job for job in open_jobs}
        reasons = {
            engine.FUTURE: self.env._("service date in the future"),
            engine.IMPLAUSIBLE: self.env._("implausible date: older than the plausibility limit"),
            engine.REGRESSION: self.env._("date regression: older than the last service date"),
        }
        results, new_anchors, to_create, to_update, conflicts = [], {}, [], [], []
        for entry in entries:
            account, service_date = entry["account"], entry["service_date"]
            account = accounts.browse(account.id)
            job = open_by_account.get(account.id, Job)
            policy, today = policies[(account.company_id, account.service_type_id)]
            decision = engine.decide_anchor(
                service_date,
                today,
                policy,
                current_anchor=account.last_service_date or None,
                account_active=account.stage == "active",
                open_job_state=job.state or None,
                allow_backdating=allow_backdating,
                create_jobs=account.company_id.service_auto_create_jobs,
            )
            result = {
                "line": entry.get("line"),
                "account": account,
                "old_date": account.last_service_date or False,
                "new_date": service_date,
                "outcome": decision.outcome,
                "reason": reasons.get(decision.reason, ""),
                "reason_code": decision.reason or False,
                "job": job,
                "due_date": decision.due.due_date if decision.due else False,
            }
            if decision.outcome == engine.STORED:
                result["reason"] = (
                    self.env._(
                        "account not active: the date is kept, the job follows on activation"
                    )
                    if account.stage != "active"
                    else self.env._("automatic job creation is off: CS creates the job")
                )
            elif decision.outcome == engine.CONFLICT:
                result["reason"] = self.env._("the open job is in progress: flagged for CS")
            results.append(result)
            if decision.changes_anchor:
                new_anchors[account.id] = service_date
            if decision.outcome == engine.CREATED:
                to_create.append((account, service_date, result))
            elif decision.outcome == engine.UPDATED:
                to_update.append((job, service_date, decision.due))
            elif decision.outcome == engine.CONFLICT:
                conflicts.append((job, service_date))
        if dry_run:
            return results
        self._set_anchors(new_anchors)
        if to_create:
            jobs = Job._create_from_engine([(acc, date) for acc, date, _r in to_create], policies)
            for (_acc, _date, result), job in zip(to_create, jobs, strict=True):
                result["job"] = job
        Job._reschedule_from_engine(to_update)
        Job._flag_conflicts(conflicts)
        stored_manual = accounts.browse(
            [
                r["account"].id
                for r in results
                if r["outcome"] == engine.STORED and r["account"].stage == "active"
            ]
        )
        stored_manual._schedule_manual_step(
            "job_creation",
            self.env._("Create the job"),
            self.env._(
                "A service date is recorded and automatic job creation is off: create the job."
            ),
        )
        return results

    def _set_anchors(self, anchors):
        """Write new last-service dates ``{account_id: date}`` through the ORM
        (tracking, automated actions and overrides see them), one write per
        distinct date."""
        by_date = defaultdict(list)
        for account_id, service_date in anchors.items():
            by_date[service_date].append(account_id)
        accounts = self.env["service.account"].with_context(**{ENGINE_WRITE: True})
        for service_date, account_ids in by_date.items():
            accounts.browse(account_ids).write({"last_service_date": service_date})

    # -- hooks ---------------------------------------------------------------------------

    def _on_job_completed(self, job):
        """Hook: ``job`` of this account is done (billing builds on it)."""
        self.ensure_one()
        return job

    def _service_comm_link(self, partner):
        """Hook: the absolute URL of this account for ``partner``, the
        recipient of a message about it (here the backend form; the portal
        gives its stakeholders their portal page)."""
        self.ensure_one()
        return f"{self.get_base_url()}/odoo/{self._name}/{self.id}"

    # -- reporting ------------------------------------------------------------------------

    def _stage_durations(self):
        """Days spent in each stage: ``{stage: days}`` (the open stage counts until now)."""
        self.ensure_one()
        now = fields.Datetime.now()
        durations = dict.fromkeys(dict(STAGES), 0.0)
        for log in self.stage_log_ids:
            end = log.date_end or now
            durations[log.stage] += (end - log.date_start) / timedelta(days=1)
        return durations
