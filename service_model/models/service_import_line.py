from odoo import fields, models

RESULTS = [
    ("created", "Job created"),
    ("updated", "Job updated"),
    ("unchanged", "Unchanged"),
    ("stored", "Date stored, no job yet"),
    ("conflict", "Conflict: job in progress"),
    ("merged", "Merged into an identical row"),
    ("rejected", "Rejected"),
]
# Outcomes that change nothing when applied.
NO_CHANGE_RESULTS = ("unchanged", "merged", "rejected")


class ServiceImportLine(models.Model):
    """One row of a contractor file and what it does (preview) or did."""

    _name = "service.import.line"
    _description = "Contractor Import Row"
    _order = "import_id, line_number"

    import_id = fields.Many2one(
        "service.import", string="Import", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="import_id.company_id", store=True, index=True)
    line_number = fields.Integer(string="Line", required=True, help="Line of the row in the file.")
    reference = fields.Char(string="Reference")
    account_id = fields.Many2one(
        "service.account", string="Service Account", index="btree_not_null"
    )
    raw_date = fields.Char(string="Date in File")
    service_date = fields.Date(string="New Service Date")
    old_date = fields.Date(string="Previous Service Date")
    due_date = fields.Date(string="New Due Date")
    phone = fields.Char(string="Phone", help="The file's phone number, normalised to E.164.")
    note = fields.Char(string="Contractor Note")
    result = fields.Selection(RESULTS, string="Result", index=True)
    reason = fields.Char(string="Reason Code", help="Technical code of the rejection reason.")
    message = fields.Char(string="Details")
    job_id = fields.Many2one("service.job", string="Job", index="btree_not_null")
    is_applied = fields.Boolean(string="Applied", readonly=True)
    raw_values = fields.Json(string="Cells", help="The row as read, for the rejected-rows file.")
