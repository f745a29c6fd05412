from odoo import fields, models

from .service_comm_rule import EVENTS


class IrActionsServer(models.Model):
    """Adds "Send through the communication matrix" to server actions, so that
    any automated action routes its records through the same rules and log."""

    _inherit = "ir.actions.server"

    state = fields.Selection(
        selection_add=[("service_comm", "Send through the communication matrix")],
        ondelete={"service_comm": "cascade"},
    )
    service_comm_event = fields.Selection(
        EVENTS, string="Communication Event", help="The row of the matrix the records go through."
    )

    def _run_action_service_comm_multi(self, eval_context=None):
        records = eval_context.get("records") or eval_context.get("record")
        if records and self.service_comm_event:
            self.env["service.comm.event"]._queue(self.service_comm_event, records)
        return False
