from odoo import fields, models


class ServiceJob(models.Model):
    _inherit = "service.job"

    comm_decision_ids = fields.One2many("service.comm.decision", "job_id", string="Communications")
