from odoo import fields, models


class ServiceJobCompletionWizard(models.TransientModel):
    """Complete jobs on a date CS enters: today in the company's timezone by
    default, never in the future, never before the job's last service."""

    _name = "service.job.completion.wizard"
    _description = "Complete a Job"

    def _default_completion_date(self):
        # the job's company decides what "today" is (``action_complete`` passes the ids)
        jobs = self.env["service.job"].browse(self.env.context.get("default_job_ids") or [])
        return (jobs[:1].company_id or self.env.company)._service_today()

    job_ids = fields.Many2many("service.job", string="Jobs", required=True)
    completion_date = fields.Date(
        string="Completed On", required=True, default=_default_completion_date
    )

    def action_apply(self):
        self.ensure_one()
        self.job_ids._complete(self.completion_date)
        return {"type": "ir.actions.act_window_close"}
