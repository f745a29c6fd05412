from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression

from ..lib import due_date as engine
from .service_account import ENGINE_WRITE, changing_records

JOB_STATES = [
    ("pending", "Pending"),
    ("accepted", "Accepted"),
    ("in_progress", "In Progress"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]
OPEN_STATES = ("pending", "accepted", "in_progress")
# Set by the due-date engine only (or by the explicit due-date override).
ENGINE_FIELDS = (
    "anchor_date",
    "nominal_due_date",
    "due_date",
    "due_rule",
    "is_overdue_at_creation",
    "is_short_notice",
    "is_due_overridden",
)
# Context key of the completion itself, so that its own write is not routed again.
COMPLETING = "service_job_completing"
DUE_SOON_DAYS = 7
DUE_RULES = [
    ("nominal", "Nominal date"),
    ("moved_previous", "Moved to the previous working day"),
    ("moved_next", "Moved to the next working day"),
    ("after_today", "Moved after today"),
    ("grace", "Overdue at creation: grace period"),
    ("manual", "Set by hand"),
]


class ServiceJob(models.Model):
    """One cycle of recurring service work on a service account."""

    _name = "service.job"
    _description = "Service Job"
    _inherit = [
        "service.batch.tracking.mixin",
        "mail.thread",
        "mail.activity.mixin",
        "service.glossary.mixin",
    ]
    _order = "due_date, id"
    _check_company_auto = True
    _rec_names_search = ["account_id.property_reference", "account_id.name"]

    account_id = fields.Many2one(
        "service.account",
        check_company=True,
        string="Service Account",
        required=True,
        index=True,
        ondelete="restrict",
    )
    contractor_id = fields.Many2one(
        "res.partner",
        string="Contractor",
        index=True,
        tracking=True,
        domain="[('is_service_contractor', '=', True)]",
    )
    service_type_id = fields.Many2one("service.type", string="Service Type", check_company=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    cs_user_id = fields.Many2one(related="account_id.cs_user_id", string="CS Owner")
    property_reference = fields.Char(related="account_id.property_reference")
    state = fields.Selection(
        JOB_STATES, default="pending", required=True, tracking=True, index=True, group_expand=True
    )
    anchor_date = fields.Date(string="Last Service", help="The date this cycle counts from.")
    nominal_due_date = fields.Date(
        string="Nominal Due Date", help="Last service plus the interval, before any move."
    )
    due_date = fields.Date(string="Due Date", index=True, tracking=True)
    due_rule = fields.Selection(DUE_RULES, string="Due Date Rule")
    completion_date = fields.Date(string="Completed On", tracking=True, copy=False)
    is_overdue_at_creation = fields.Boolean(string="Overdue at Creation", readonly=True, copy=False)
    is_short_notice = fields.Boolean(string="Short Notice", readonly=True, copy=False)
    is_auto_accepted = fields.Boolean(string="Auto-Accepted", readonly=True, copy=False)
    is_due_overridden = fields.Boolean(
        string="Due Date Set by Hand",
        readonly=True,
        copy=False,
        help="A CS manager set the due date; new service dates keep it (see the chatter).",
    )
    has_conflict = fields.Boolean(string="Conflict", copy=False, tracking=True)
    conflict_note = fields.Text(copy=False)
    is_overdue = fields.Boolean(
        string="Overdue", compute="_compute_is_overdue", search="_search_is_overdue"
    )
    is_due_this_week = fields.Boolean(
        string="Due This Week",
        compute="_compute_is_overdue",
        search="_search_is_due_this_week",
        help="Open and due within the next seven days, counted from the company's today.",
    )
    color = fields.Integer()
    notes = fields.Html()

    def init(self):
        # Never a second open job for one account (matrix row 7), enforced by
        # the database so that concurrent imports cannot break it either.
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS service_job_one_open_per_account
                   ON service_job (account_id)
                WHERE state IN ('pending', 'accepted', 'in_progress')"""
        )

    @api.depends("account_id", "due_date")
    def _compute_display_name(self):
        for job in self:
            parts = [
                job.account_id.property_reference,
                job.due_date and fields.Date.to_string(job.due_date),
            ]
            job.display_name = " · ".join(filter(None, parts)) or self.env._("New job")

    @api.depends("due_date", "state", "company_id")
    def _compute_is_overdue(self):
        todays = {company: company._service_today() for company in self.company_id}
        for job in self:
            today = todays.get(job.company_id) or job.company_id._service_today()
            is_open = bool(job.due_date) and job.state in OPEN_STATES
            job.is_overdue = is_open and job.due_date < today
            job.is_due_this_week = is_open and today <= job.due_date <= today + timedelta(
                days=DUE_SOON_DAYS
            )

    def _company_today_domain(self, operator, value, due_domain):
        """Search a date flag with each company's today: ``due_domain(today)``
        gives the due-date condition of one company."""
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Search on this flag with = or != and true/false only."))
        companies = self.env["res.company"].sudo().search([])
        domain = expression.AND(
            [
                [("state", "in", OPEN_STATES)],
                expression.OR(
                    [
                        [("company_id", "=", company.id), *due_domain(company._service_today())]
                        for company in companies
                    ]
                ),
            ]
        )
        positive = (operator == "=") == value
        return domain if positive else ["!", *domain]

    def _search_is_overdue(self, operator, value):
        return self._company_today_domain(operator, value, lambda today: [("due_date", "<", today)])

    def _search_is_due_this_week(self, operator, value):
        return self._company_today_domain(
            operator,
            value,
            lambda today: [
                ("due_date", ">=", today),
                ("due_date", "<=", today + timedelta(days=DUE_SOON_DAYS)),
            ],
        )

    @api.onchange("account_id")
    def _onchange_account_id(self):
        if self.account_id:
            self.contractor_id = self.account_id.contractor_id
            self.service_type_id = self.account_id.service_type_id
            self.company_id = self.account_id.company_id

    # -- creation from the engine (batch) ----------------------------------------------

    @api.model
    def _create_from_engine(self, anchors, policies):
        """Create one job per ``(account, anchor)`` with the engine's due date.

        ``policies`` maps (company, service type) to (DuePolicy, today), as
        :meth:`service.account._engine_policies` returns it. One ORM ``create``
        for the whole batch (rights, tracking, automated actions and overrides
        apply); the number of queries does not grow with the number of jobs
        beyond the ORM's INSERT batches. Jobs that are overdue at creation get
        an activity for the account's CS owner.
        """
        if not anchors:
            return self.browse()
        contractors = self.env["res.partner"].browse(
            {account.contractor_id.id for account, _a in anchors}
        )
        contractors.fetch(["service_auto_accept"])
        vals_list = []
        for account, anchor in anchors:
            policy, today = policies[(account.company_id, account.service_type_id)]
            due = engine.compute_due_date(anchor, today, policy)
            contractor = account.contractor_id
            auto = bool(contractor) and contractor._service_auto_accepts(account.company_id)
            vals_list.append(
                {
                    "account_id": account.id,
                    "contractor_id": contractor.id,
                    "company_id": account.company_id.id,
                    "service_type_id": account.service_type_id.id,
                    "state": "accepted" if auto else "pending",
                    "anchor_date": anchor,
                    "nominal_due_date": due.nominal_date,
                    "due_date": due.due_date,
                    "due_rule": due.rule,
                    "is_overdue_at_creation": due.overdue_at_creation,
                    "is_short_notice": due.short_notice,
                    "is_auto_accepted": auto,
                }
            )
        # the system creates them: whoever triggered it (an import, a completion)
        # is not made a follower of every job
        creating = self.with_context(**{ENGINE_WRITE: True}, mail_create_nosubscribe=True)
        jobs = creating.create(vals_list).with_env(self.env)
        # hand-offs, from the values just created (no need to read the jobs back)
        jobs.filtered(lambda job: job.is_overdue_at_creation)._hand_off_overdue()
        jobs.filtered(
            lambda job: job.state == "pending" and job.contractor_id
        )._hand_off_acceptance()
        return jobs

    def _hand_off_overdue(self):
        """Row 3: CS gets an activity for each job that was due when created."""
        for job in self:
            job.account_id._schedule_team_activity(
                "cs",
                self.env._("Overdue at creation"),
                self.env._(
                    "The service was already due on %(nominal)s; the job is due on %(due)s (grace period).",
                    nominal=job.nominal_due_date,
                    due=job.due_date,
                ),
            )

    def _hand_off_acceptance(self):
        """Auto-acceptance off: the acceptance waits for a person."""
        if self:
            self.account_id._schedule_manual_step(
                "job_acceptance",
                self.env._("Job waits for acceptance"),
                self.env._(
                    "Automatic acceptance is off for this contractor: have the job accepted."
                ),
            )

    def _reschedule_from_engine(self, updates):
        """Row 8: ``[(job, new_anchor, DueDate)]``; logs old and new due dates.

        A due date set by hand (:meth:`action_override_due_date`) stays: the
        new anchor is recorded and the chatter says which date the engine
        would have given.
        """
        if not updates:
            return
        messages = {}
        for job, anchor, due in updates:
            vals = {"anchor_date": anchor, "nominal_due_date": due.nominal_date}
            if job.is_due_overridden:
                messages[job.id] = self.env._(
                    "New service date %(anchor)s: the due date %(due)s set by hand is kept "
                    "(the engine would give %(engine)s).",
                    anchor=anchor,
                    due=job.due_date or "-",
                    engine=due.due_date,
                )
            else:
                messages[job.id] = self.env._(
                    "New service date %(anchor)s: due date %(old)s → %(new)s.",
                    anchor=anchor,
                    old=job.due_date or "-",
                    new=due.due_date,
                )
                vals.update(
                    due_date=due.due_date,
                    due_rule=due.rule,
                    is_short_notice=due.short_notice,
                    is_overdue_at_creation=due.overdue_at_creation,
                )
            job.with_context(tracking_disable=True, **{ENGINE_WRITE: True}).write(vals)
        self.browse(messages)._message_log_batch(bodies=messages)

    def _flag_conflicts(self, conflicts):
        """Row 8, job in progress: keep the job, flag it for CS."""
        for job, anchor in conflicts:
            note = self.env._(
                "A new service date %(anchor)s arrived while the job is in progress (last service %(current)s).",
                anchor=anchor,
                current=job.anchor_date or "-",
            )
            job.write({"has_conflict": True, "conflict_note": note})
            job.message_post(body=note)
            job.account_id._schedule_manual_step(
                "date_conflict", self.env._("Service date conflict"), note
            )

    @api.model_create_multi
    def create(self, vals_list):
        # who may not create jobs at all hears that first
        self.check_access("create")
        if not self.env.su and not self.env.context.get(ENGINE_WRITE):
            for vals in vals_list:
                if vals.get("state") == "done" or any(vals.get(f) for f in ENGINE_FIELDS):
                    raise UserError(self._engine_only_message())
        return super().create(vals_list)

    def write(self, vals):
        engine_only = not self.env.su and not self.env.context.get(ENGINE_WRITE)
        if engine_only and changing_records(self, vals, ENGINE_FIELDS):
            raise UserError(self._engine_only_message())
        if "state" in vals and not self.env.context.get(COMPLETING):
            if self.filtered(lambda j: j.state == "done" and vals["state"] != "done"):
                raise UserError(
                    self.env._("A completed job stays done: record a new service date instead.")
                )
            if vals["state"] in OPEN_STATES:
                self._check_reopen()
            if vals["state"] == "done":
                # a kanban drag or an RPC write completes like the button does
                vals = dict(vals)
                vals.pop("state")
                completion_date = vals.pop("completion_date", None)
                if vals:
                    self.write(vals)
                self.filtered(lambda j: j.state != "done")._complete(completion_date)
                return True
        result = super().write(vals)
        # hand-offs that this change settles
        if vals.get("state", "pending") != "pending":
            self.account_id._close_manual_step("job_acceptance")
        if "has_conflict" in vals and not vals["has_conflict"]:
            self.account_id._close_manual_step("date_conflict")
        return result

    def _service_comm_link(self, partner):
        """Hook: the absolute URL of this job for ``partner``, the recipient
        of a message about it (here the backend form; the portal gives its
        contractor the portal page)."""
        self.ensure_one()
        return f"{self.get_base_url()}/odoo/{self._name}/{self.id}"

    def _engine_only_message(self):
        return self.env._(
            "A job's last service and due dates come from the due-date engine: record a "
            "service date on the account, or let a CS manager override the due date."
        )

    # -- workflow -----------------------------------------------------------------------

    def action_accept(self):
        for job in self:
            if job.state != "pending":
                raise UserError(
                    self.env._(
                        "Only a pending job can be accepted (%(job)s).", job=job.display_name
                    )
                )
        self.write({"state": "accepted"})
        return True

    def action_start(self):
        for job in self:
            if job.state not in ("pending", "accepted"):
                raise UserError(
                    self.env._(
                        "Only a pending or accepted job can start (%(job)s).", job=job.display_name
                    )
                )
        self.write({"state": "in_progress"})
        return True

    def action_complete(self):
        """Ask for the completion date (the completion wizard)."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Complete the Job"),
            "res_model": "service.job.completion.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_job_ids": self.ids},
        }

    def action_done(self):
        """Complete the jobs on their completion date (today when empty)."""
        self._complete()
        return True

    def _complete(self, completion_date=None):
        """Complete the jobs: the completion date (``completion_date``, else
        the job's own, else the company's today) becomes the account's anchor
        and, with automatic job creation on, the next cycle's job is created.
        It can be neither in the future nor before the job's last service."""
        completion_date = fields.Date.to_date(completion_date)
        for job in self:
            today = job.company_id._service_today()
            if job.state not in OPEN_STATES:
                raise UserError(
                    self.env._("%(job)s is not open: it cannot be completed.", job=job.display_name)
                )
            completion = completion_date or job.completion_date or today
            if completion > today:
                raise UserError(
                    self.env._(
                        "The completion date of %(job)s (%(date)s) is in the future: "
                        "enter today (%(today)s) or an earlier date.",
                        job=job.display_name,
                        date=completion,
                        today=today,
                    )
                )
            if job.anchor_date and completion < job.anchor_date:
                raise UserError(
                    self.env._(
                        "%(job)s cannot be completed before its last service date (%(anchor)s).",
                        job=job.display_name,
                        anchor=job.anchor_date,
                    )
                )
            job.with_context(**{COMPLETING: True}).write(
                {"state": "done", "completion_date": completion, "has_conflict": False}
            )
        accounts = self.account_id
        anchors = {job.account_id.id: job.completion_date for job in self}
        self.env["service.account"]._set_anchors(anchors)
        for job in self:
            job.account_id.message_post(
                body=self.env._(
                    "Job completed on %(date)s: it is the new last service date.",
                    date=job.completion_date,
                )
            )
            job.account_id._on_job_completed(job)
        accounts._create_jobs_from_anchors()

    def action_override_due_date(self):
        """Open the due-date override (CS manager)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Override the Due Date"),
            "res_model": "service.job.due.override.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_job_id": self.id, "default_due_date": self.due_date},
        }

    def _override_due_date(self, due_date, reason):
        """Set the due date by hand (CS manager): logged on the job, kept by
        later service dates until the job is done."""
        if not self.env.su and not self.env.user.has_group("service_model.group_cs_manager"):
            raise AccessError(self.env._("Only a CS manager may override a job's due date."))
        for job in self:
            if job.state not in OPEN_STATES:
                raise UserError(
                    self.env._(
                        "%(job)s is not open: its due date cannot change.", job=job.display_name
                    )
                )
            old = job.due_date
            job.with_context(**{ENGINE_WRITE: True}).write(
                {"due_date": due_date, "due_rule": "manual", "is_due_overridden": True}
            )
            job.message_post(
                body=self.env._(
                    "Due date set by hand: %(old)s → %(new)s. Reason: %(reason)s",
                    old=old or "-",
                    new=due_date,
                    reason=reason,
                )
            )

    def action_cancel(self):
        self.filtered(lambda j: j.state != "done").write({"state": "cancelled"})
        return True

    def action_reset_to_pending(self):
        self.filtered(lambda j: j.state == "cancelled").write({"state": "pending"})
        return True

    def _check_reopen(self):
        """Cancelled jobs reopened (button or kanban drag): one open job per account."""
        busy = self.filtered(lambda j: j.state == "cancelled" and j.account_id.open_job_id)
        if busy:
            raise UserError(
                self.env._(
                    "%(account)s already has an open job: complete or cancel it first.",
                    account=busy[0].account_id.display_name,
                )
            )

    def action_resolve_conflict(self):
        self.write({"has_conflict": False})
        return True
