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
# Machine-readable result of a row: the engine's outcome, or why it was
# merged or rejected (the portal and integrations read these, people read
# the translated message beside it).
RESULT_CODES = [
    ("created", "Job created"),
    ("updated", "Job updated"),
    ("unchanged", "Unchanged"),
    ("stored", "Date stored"),
    ("conflict", "Job in progress"),
    ("duplicate_merged", "Identical duplicate"),
    ("duplicate", "Duplicate with another date"),
    ("missing_reference", "No reference"),
    ("missing_date", "No date"),
    ("invalid_date", "Invalid date"),
    ("unknown_reference", "Unknown reference"),
    ("other_contractor", "Another contractor's account"),
    ("future", "Date in the future"),
    ("implausible", "Implausible date"),
    ("regression", "Date regression"),
    ("apply_failed", "Failed when applied"),
    ("rejected", "Rejected"),
]


class ServiceImportLine(models.Model):
    """One row of a contractor file and what it does (preview) or did.

    A system log: read-only to users, written by the import engine with
    ``sudo()`` after it checked the user's right on the import.
    """

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
    result_code = fields.Selection(
        RESULT_CODES,
        string="Result Code",
        index=True,
        help="Machine-readable result: the outcome, or why the row was merged or rejected.",
    )
    message = fields.Char(string="Details")
    phone_invalid = fields.Boolean(
        string="Invalid Phone",
        help="The phone number could not be normalised: the row is imported, the number is not.",
    )
    warning = fields.Char(help="A value of an optional column that was flagged, not rejected.")
    job_id = fields.Many2one("service.job", string="Job", index="btree_not_null")
    is_applied = fields.Boolean(string="Applied", readonly=True)
    raw_values = fields.Json(string="Cells", help="The row as read, for the rejected-rows file.")
