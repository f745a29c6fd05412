from datetime import timedelta

from odoo import fields, models

from ..lib import due_date as engine

TEAM_USER_FIELDS = {
    "sales": "service_sales_user_id",
    "finance": "service_finance_user_id",
    "ops": "service_ops_user_id",
    "cx": "service_cx_user_id",
    "systems": "service_systems_user_id",
}


class ResCompany(models.Model):
    _inherit = "res.company"

    # Date policy (the due-date engine)
    service_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Service Working Calendar",
        help="Working days and public holidays used to move due dates. "
        "Empty: the company's working hours.",
    )
    service_grace_days = fields.Integer(
        string="Grace Days",
        default=7,
        help="A job that is already due when it is created gets this many days.",
    )
    service_short_notice_days = fields.Integer(
        string="Short-Notice Days",
        default=14,
        help="A due date this close to today (or closer) flags the job short-notice.",
    )
    service_nonworking_rule = fields.Selection(
        [
            ("previous", "Previous working day"),
            ("next", "Next working day"),
            ("none", "Keep the date"),
        ],
        string="Due Date on a Non-Working Day",
        default="previous",
        required=True,
    )
    service_plausibility_years = fields.Integer(
        string="Plausibility Limit (Years)",
        default=5,
        help="A service date older than this is rejected as implausible.",
    )
    # Automation switches: off means the step waits for a person
    service_auto_create_jobs = fields.Boolean(string="Create Jobs Automatically", default=True)
    service_auto_accept = fields.Boolean(string="Accept Jobs Automatically", default=True)
    service_subscription_on_completion = fields.Boolean(
        string="Create Subscription on First Completion", default=True
    )
    service_billing_trigger = fields.Boolean(string="Invoice Year 1 on Activation", default=True)
    service_billing_polling = fields.Boolean(
        string="Invoice Later Years Automatically", default=True
    )
    # Billing policy
    service_billing_journal_id = fields.Many2one(
        "account.journal",
        string="Service Billing Journal",
        domain="[('type', '=', 'sale'), ('company_id', '=', id)]",
    )
    service_billing_post_invoices = fields.Boolean(string="Post Service Invoices", default=True)
    # Owners of the hand-offs, per team
    service_sales_user_id = fields.Many2one("res.users", string="Sales / AM Owner")
    service_finance_user_id = fields.Many2one("res.users", string="Finance Owner")
    service_ops_user_id = fields.Many2one("res.users", string="Operations Owner")
    service_cx_user_id = fields.Many2one("res.users", string="CX Owner")
    service_systems_user_id = fields.Many2one("res.users", string="Systems Owner")

    def _service_team_user(self, team):
        """The user who owns ``team``'s hand-offs in this company, if set."""
        self.ensure_one()
        fname = TEAM_USER_FIELDS.get(team)
        return self[fname] if fname else self.env["res.users"]

    def _service_working_calendar(self, date_from, date_to):
        """The company's working days and public holidays as a pure calendar.

        Global leaves of the calendar (those without a resource) are the
        public holidays; only the days between ``date_from`` and ``date_to``
        are loaded, in one query.
        """
        self.ensure_one()
        cal = self.service_calendar_id or self.resource_calendar_id
        if not cal:
            return engine.WorkingCalendar()
        weekdays = frozenset(
            int(att.dayofweek)
            for att in cal.attendance_ids
            if att.day_period != "lunch" and not att.display_type
        )
        leaves = self.env["resource.calendar.leaves"].search_fetch(
            [
                ("resource_id", "=", False),
                ("calendar_id", "in", [cal.id, False]),
                ("company_id", "in", [self.id, False]),
                (
                    "date_from",
                    "<=",
                    fields.Datetime.to_datetime(date_to).replace(hour=23, minute=59),
                ),
                ("date_to", ">=", fields.Datetime.to_datetime(date_from)),
            ],
            ["date_from", "date_to"],
        )
        local = self.with_context(tz=cal.tz)
        holidays = set()
        for leave in leaves:
            day = fields.Datetime.context_timestamp(local, leave.date_from).date()
            last = fields.Datetime.context_timestamp(local, leave.date_to).date()
            while day <= last:
                holidays.add(day)
                day += timedelta(days=1)
        return engine.WorkingCalendar(weekdays or frozenset(range(5)), frozenset(holidays))

    def _service_today(self):
        """Today in the company's timezone (its working calendar's): the engine's T.

        Called on no company, it answers for the current one.
        """
        company = self or self.env.company
        company.ensure_one()
        cal = company.service_calendar_id or company.resource_calendar_id
        return fields.Date.context_today(
            self.with_context(tz=cal.tz or self.env.context.get("tz") or "UTC")
        )
