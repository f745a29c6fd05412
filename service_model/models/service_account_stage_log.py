from datetime import timedelta

from odoo import api, fields, models

from .service_account import STAGES


class ServiceAccountStageLog(models.Model):
    """When an account entered and left each stage: the time spent in it.

    A log the system keeps: users read it, :class:`ServiceAccount` writes it
    with sudo() when an account they may write changes stage.
    """

    _name = "service.account.stage.log"
    _description = "Service Account Stage History"
    _order = "date_start, id"

    account_id = fields.Many2one(
        "service.account", required=True, ondelete="cascade", index=True, readonly=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    stage = fields.Selection(STAGES, required=True, readonly=True)
    date_start = fields.Datetime(string="Entered", required=True, readonly=True)
    date_end = fields.Datetime(string="Left", readonly=True)
    duration_days = fields.Float(string="Days", compute="_compute_duration_days", digits=(16, 1))

    @api.depends("date_start", "date_end")
    def _compute_duration_days(self):
        now = fields.Datetime.now()
        for log in self:
            log.duration_days = ((log.date_end or now) - log.date_start) / timedelta(days=1)
