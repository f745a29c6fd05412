from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib import due_date as engine

JOB_STATES = [
    ("pending", "Pending"),
    ("accepted", "Accepted"),
    ("in_progress", "In Progress"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]
OPEN_STATES = ("pending", "accepted", "in_progress")
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
    _inherit = ["mail.thread", "mail.activity.mixin", "service.glossary.mixin"]
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
    due_rule = fields.Selection(DUE_RULES, string="Due Date Rule", default="manual")
    completion_date = fields.Date(string="Completed On", tracking=True, copy=False)
    is_overdue_at_creation = fields.Boolean(string="Overdue at Creation", readonly=True, copy=False)
    is_short_notice = fields.Boolean(string="Short Notice", readonly=True, copy=False)
    is_auto_accepted = fields.Boolean(string="Auto-Accepted", readonly=True, copy=False)
    has_conflict = fields.Boolean(string="Conflict", copy=False, tracking=True)
    conflict_note = fields.Text(copy=False)
    is_overdue = fields.Boolean(
        string="Overdue", compute="_compute_is_overdue", search="_search_is_overdue"
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

    @api.depends_context("tz")
    @api.depends("due_date", "state")
    def _compute_is_overdue(self):
        today = fields.Date.context_today(self)
        for job in self:
            job.is_overdue = bool(
                job.due_date and job.due_date < today and job.state in OPEN_STATES
            )

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Search on Overdue with = or != and true/false only."))
        domain = [("due_date", "<", fields.Date.context_today(self)), ("state", "in", OPEN_STATES)]
        positive = (operator == "=") == value
        return domain if positive else ["!", "&", *domain]

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
        :meth:`service.account._engine_policies` returns it. One INSERT for the whole batch, so that the cost does not grow with
        the number of jobs; rights are checked as for ``create``. Jobs that
        are overdue at creation get an activity for the account's CS owner.
        """
        self.check_access("create")
        if not anchors:
            return self.browse()
        contractors = self.env["res.partner"].browse(
            {account.contractor_id.id for account, _a in anchors}
        )
        contractors.fetch(["service_auto_accept"])
        rows = {
            key: []
            for key in (
                "account",
                "contractor",
                "company",
                "type",
                "state",
                "anchor",
                "nominal",
                "due",
                "rule",
                "overdue",
                "short",
                "auto",
            )
        }
        for account, anchor in anchors:
            policy, today = policies[(account.company_id, account.service_type_id)]
            due = engine.compute_due_date(anchor, today, policy)
            contractor = account.contractor_id
            auto = bool(contractor) and contractor._service_auto_accepts(account.company_id)
            for key, value in (
                ("account", account.id),
                ("contractor", contractor.id or None),
                ("company", account.company_id.id),
                ("type", account.service_type_id.id or None),
                ("state", "accepted" if auto else "pending"),
                ("anchor", anchor),
                ("nominal", due.nominal_date),
                ("due", due.due_date),
                ("rule", due.rule),
                ("overdue", due.overdue_at_creation),
                ("short", due.short_notice),
                ("auto", auto),
            ):
                rows[key].append(value)
        self.flush_model()
        now = self.env.cr.now()
        self.env.cr.execute(
            SQL(
                """INSERT INTO service_job (
                        account_id, contractor_id, company_id, service_type_id, state, anchor_date,
                        nominal_due_date, due_date, due_rule, is_overdue_at_creation, is_short_notice,
                        is_auto_accepted, has_conflict, create_uid, write_uid, create_date, write_date)
                   SELECT t.*, FALSE, %(uid)s, %(uid)s, %(now)s, %(now)s
                     FROM unnest(%(account)s::int4[], %(contractor)s::int4[], %(company)s::int4[],
                                 %(type)s::int4[], %(state)s::varchar[], %(anchor)s::date[],
                                 %(nominal)s::date[], %(due)s::date[], %(rule)s::varchar[],
                                 %(overdue)s::bool[], %(short)s::bool[], %(auto)s::bool[]) AS t
                RETURNING id""",
                uid=self.env.uid,
                now=now,
                **rows,
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        jobs = self.browse(ids)
        jobs.check_access("create")
        # the INSERT bypassed the ORM: drop what the cache knows of these accounts' jobs
        self.env["service.account"].browse(rows["account"]).invalidate_recordset(
            ["job_ids", "job_count", "open_job_id", "next_due_date"]
        )
        # hand-offs, from the values just inserted (no need to read the jobs back)
        self.browse(
            job_id for job_id, overdue in zip(ids, rows["overdue"], strict=True) if overdue
        )._hand_off_overdue()
        waiting = zip(ids, rows["state"], rows["contractor"], strict=True)
        self.browse(
            job_id for job_id, state, contractor in waiting if state == "pending" and contractor
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
        """Row 8: ``[(job, new_anchor, DueDate)]``; logs old and new due dates."""
        if not updates:
            return
        messages = {}
        for job, anchor, due in updates:
            messages[job.id] = self.env._(
                "New service date %(anchor)s: due date %(old)s → %(new)s.",
                anchor=anchor,
                old=job.due_date or "-",
                new=due.due_date,
            )
            job.with_context(tracking_disable=True).write(
                {
                    "anchor_date": anchor,
                    "nominal_due_date": due.nominal_date,
                    "due_date": due.due_date,
                    "due_rule": due.rule,
                    "is_short_notice": due.short_notice,
                    "is_overdue_at_creation": due.overdue_at_creation,
                }
            )
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

    def write(self, vals):
        result = super().write(vals)
        # hand-offs that this change settles
        if vals.get("state", "pending") != "pending":
            self.account_id._close_manual_step("job_acceptance")
        if "has_conflict" in vals and not vals["has_conflict"]:
            self.account_id._close_manual_step("date_conflict")
        return result

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

    def action_done(self):
        """Complete the jobs: the completion date becomes the account's anchor
        and, with automatic job creation on, the next cycle's job is created."""
        for job in self:
            today = job.company_id._service_today()
            if job.state not in OPEN_STATES:
                raise UserError(
                    self.env._("%(job)s is not open: it cannot be completed.", job=job.display_name)
                )
            completion = job.completion_date or today
            if completion > today:
                raise UserError(
                    self.env._(
                        "The completion date of %(job)s is in the future.", job=job.display_name
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
            job.write({"state": "done", "completion_date": completion, "has_conflict": False})
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
        return True

    def action_cancel(self):
        self.filtered(lambda j: j.state != "done").write({"state": "cancelled"})
        return True

    def action_reset_to_pending(self):
        for job in self.filtered(lambda j: j.state == "cancelled"):
            if job.account_id.open_job_id:
                raise UserError(
                    self.env._(
                        "%(account)s already has an open job.", account=job.account_id.display_name
                    )
                )
            job.state = "pending"
        return True

    def action_resolve_conflict(self):
        self.write({"has_conflict": False})
        return True
