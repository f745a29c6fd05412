from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    is_service_contractor = fields.Boolean(
        string="Contractor", help="Carries out service jobs on properties."
    )
    is_service_agency = fields.Boolean(
        string="Agency", help="Manages properties on behalf of their owners."
    )
    service_auto_accept = fields.Selection(
        [
            ("company", "Company default"),
            ("always", "Always"),
            ("never", "Never"),
        ],
        string="Auto-Accept Jobs",
        default="company",
        help="Whether this contractor's new jobs are accepted without action. "
        "Company default follows the Settings switch.",
    )
    service_contractor_account_ids = fields.One2many(
        "service.account", "contractor_id", string="Serviced Accounts"
    )
    service_contractor_account_count = fields.Integer(compute="_compute_service_counts")
    service_job_count = fields.Integer(compute="_compute_service_counts")

    @api.depends("service_contractor_account_ids")
    def _compute_service_counts(self):
        accounts = dict(
            self.env["service.account"]._read_group(
                [("contractor_id", "in", self.ids)], ["contractor_id"], ["__count"]
            )
        )
        jobs = dict(
            self.env["service.job"]._read_group(
                [("contractor_id", "in", self.ids)], ["contractor_id"], ["__count"]
            )
        )
        for partner in self:
            partner.service_contractor_account_count = accounts.get(partner, 0)
            partner.service_job_count = jobs.get(partner, 0)

    def _service_auto_accepts(self, company):
        """Whether this contractor's new jobs in ``company`` skip acceptance."""
        self.ensure_one()
        if self.service_auto_accept in (False, "company"):
            return company.service_auto_accept
        return self.service_auto_accept == "always"

    def action_view_service_jobs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("service_model.service_job_action")
        action["domain"] = [("contractor_id", "=", self.id)]
        action["context"] = {"default_contractor_id": self.id}
        return action

    def action_view_service_accounts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_model.service_account_action"
        )
        action["domain"] = [("contractor_id", "=", self.id)]
        return action
