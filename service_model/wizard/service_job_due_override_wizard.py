from odoo import fields, models


class ServiceJobDueOverrideWizard(models.TransientModel):
    """Set a job's due date by hand (CS manager), with the reason: logged on
    the job and kept when a later service date arrives."""

    _name = "service.job.due.override.wizard"
    _description = "Override a Job's Due Date"

    job_id = fields.Many2one("service.job", required=True, readonly=True)
    current_due_date = fields.Date(related="job_id.due_date", string="Current Due Date")
    due_date = fields.Date(string="New Due Date", required=True)
    reason = fields.Char(required=True, help="Why the engine's due date does not fit.")

    def action_apply(self):
        self.ensure_one()
        self.job_id._override_due_date(self.due_date, self.reason)
        return {"type": "ir.actions.act_window_close"}
