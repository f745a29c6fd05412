from odoo import api, fields, models

from .service_checklist_template import TEAMS


class ServiceAccountChecklistItem(models.Model):
    _name = "service.account.checklist.item"
    _description = "Service Account Checklist Item"
    _order = "sequence, id"

    account_id = fields.Many2one("service.account", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    template_id = fields.Many2one("service.checklist.template", ondelete="set null")
    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    team = fields.Selection(TEAMS, string="Owning Team", required=True, default="cs")
    description = fields.Text(related="template_id.description")
    done = fields.Boolean()
    done_user_id = fields.Many2one("res.users", string="Done By", readonly=True)
    done_date = fields.Datetime(string="Done On", readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("done"):
                vals.update(done_user_id=self.env.uid, done_date=fields.Datetime.now())
        return super().create(vals_list)

    def write(self, vals):
        if "done" in vals:
            vals = dict(
                vals,
                done_user_id=self.env.uid if vals["done"] else False,
                done_date=fields.Datetime.now() if vals["done"] else False,
            )
        return super().write(vals)
