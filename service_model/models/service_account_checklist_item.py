from collections import defaultdict

from markupsafe import Markup

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
        items = super().create(vals_list)
        items.account_id._sync_checklist_activities()
        return items

    def write(self, vals):
        if "done" not in vals:
            return super().write(vals)
        done = bool(vals["done"])
        changed = self.filtered(lambda item: item.done != done)
        vals = dict(
            vals,
            done_user_id=self.env.uid if done else False,
            done_date=fields.Datetime.now() if done else False,
        )
        result = super().write(vals)
        changed._log_tick(done)
        changed.account_id._sync_checklist_activities()
        return result

    def unlink(self):
        accounts = self.account_id
        result = super().unlink()
        accounts._sync_checklist_activities()
        return result

    @api.model
    def _team_labels(self):
        """``{team: label}`` in the user's language."""
        return dict(self._fields["team"]._description_selection(self.env))

    def _log_tick(self, done):
        """Tell each account's chatter which items were ticked (or unticked); the author says who."""
        team_labels = self._team_labels()
        lines = defaultdict(list)
        for item in self:
            lines[item.account_id.id].append(
                self.env._(
                    "Checklist item ticked: %(item)s (%(team)s)",
                    item=item.name,
                    team=team_labels[item.team],
                )
                if done
                else self.env._(
                    "Checklist item unticked: %(item)s (%(team)s)",
                    item=item.name,
                    team=team_labels[item.team],
                )
            )
        self.account_id._message_log_batch(
            bodies={account_id: Markup("<br/>").join(texts) for account_id, texts in lines.items()}
        )
