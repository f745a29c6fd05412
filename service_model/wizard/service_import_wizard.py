import base64

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..lib import import_parser as parser


class ServiceImportWizard(models.TransientModel):
    """Screens over the import engine (:class:`service.import`): upload, the
    columns and date-order question when needed, the preview, apply."""

    _name = "service.import.wizard"
    _description = "Import Contractor Service Dates"

    step = fields.Selection(
        [("upload", "Upload"), ("choose", "Columns and Dates"), ("preview", "Preview")],
        default="upload",
        required=True,
    )
    contractor_id = fields.Many2one(
        "res.partner", string="Contractor", domain="[('is_service_contractor', '=', True)]"
    )
    file = fields.Binary(string="File", attachment=False)
    file_name = fields.Char()
    allow_backdating = fields.Boolean(
        help="Accept service dates older than the account's current one (otherwise rejected)."
    )
    import_id = fields.Many2one("service.import", readonly=True)
    date_order = fields.Selection(related="import_id.date_order", readonly=False)
    detected_date_order = fields.Selection(related="import_id.detected_date_order")
    column_reference = fields.Char(
        string="Reference Column",
        help="Header of the property reference column, when no usual name fits.",
    )
    column_service_date = fields.Char(
        string="Service Date Column",
        help="Header of the service date column, when no usual name fits.",
    )
    column_phone = fields.Char(string="Phone Column")
    column_note = fields.Char(string="Note Column")
    # Once the file is read, its columns are offered in dropdowns.
    file_column_ids = fields.One2many("service.import.wizard.column", "wizard_id")
    reference_column_id = fields.Many2one(
        "service.import.wizard.column",
        string="Property Reference",
        domain="[('wizard_id', '=', id)]",
    )
    service_date_column_id = fields.Many2one(
        "service.import.wizard.column", string="Service Date", domain="[('wizard_id', '=', id)]"
    )
    phone_column_id = fields.Many2one(
        "service.import.wizard.column", string="Phone", domain="[('wizard_id', '=', id)]"
    )
    note_column_id = fields.Many2one(
        "service.import.wizard.column", string="Note", domain="[('wizard_id', '=', id)]"
    )
    file_columns = fields.Char(compute="_compute_file_columns", string="Columns in the File")
    line_ids = fields.One2many(related="import_id.line_ids")
    line_count = fields.Integer(related="import_id.line_count")
    created_count = fields.Integer(related="import_id.created_count")
    updated_count = fields.Integer(related="import_id.updated_count")
    unchanged_count = fields.Integer(related="import_id.unchanged_count")
    stored_count = fields.Integer(related="import_id.stored_count")
    conflict_count = fields.Integer(related="import_id.conflict_count")
    merged_count = fields.Integer(related="import_id.merged_count")
    rejected_count = fields.Integer(related="import_id.rejected_count")

    @api.depends("import_id.header")
    def _compute_file_columns(self):
        for wizard in self:
            wizard.file_columns = ", ".join(wizard.import_id.header or [])

    def _import_values(self):
        values = {"allow_backdating": self.allow_backdating}
        for column in parser.COLUMNS:
            if self[f"column_{column}"] or self.import_id:
                values[f"column_{column}"] = self[f"column_{column}"]
        return values

    def _sync_from_import(self):
        """Show the import's columns and its current mapping in the dropdowns."""
        self.file_column_ids.unlink()
        columns = self.env["service.import.wizard.column"].create(
            [
                {"wizard_id": self.id, "name": str(name), "sequence": index}
                for index, name in enumerate(self.import_id.header or [])
                if str(name).strip()
            ]
        )
        by_name = {column.name: column for column in columns}
        values = {}
        for column in parser.COLUMNS:
            name = self.import_id[f"column_{column}"]
            values[f"column_{column}"] = name
            values[f"{column}_column_id"] = by_name.get(name or "", columns.browse()).id
        self.write(values)

    def _columns_from_dropdowns(self):
        """The dropdowns, once the file is read, say which column is which."""
        if self.file_column_ids:
            self.write(
                {f"column_{column}": self[f"{column}_column_id"].name for column in parser.COLUMNS}
            )

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Import Service Dates"),
        }

    def _preview_or_queue(self):
        """Preview now, or leave the import to the background job and show it."""
        if self.import_id.state == "needs_choice":
            self.step = "choose"
            return self._reopen()
        if self.import_id.state == "queued" or not self.import_id._run("validate"):
            return self.import_id._get_records_action()
        self.step = "preview"
        return self._reopen()

    def action_upload(self):
        self.ensure_one()
        if not self.file or not self.contractor_id:
            raise UserError(self.env._("Choose the contractor and the file to import."))
        self.import_id = self.env["service.import"]._create_from_file(
            self.contractor_id,
            base64.b64decode(self.file),
            self.file_name,
            **self._import_values(),
        )
        self._sync_from_import()
        return self._preview_or_queue()

    def action_choose(self):
        """Back from the preview to the columns and the date order."""
        self.ensure_one()
        self.step = "choose"
        return self._reopen()

    def action_confirm_choice(self):
        self.ensure_one()
        if (
            self.detected_date_order in (parser.DATE_ORDER_AMBIGUOUS, parser.DATE_ORDER_MIXED)
            and not self.date_order
        ):
            raise UserError(
                self.env._(
                    "The dates in this file can be read day-first or month-first: choose one."
                )
            )
        self._columns_from_dropdowns()
        self.import_id.write(self._import_values())
        self.import_id._parse()
        self._sync_from_import()
        return self._preview_or_queue()

    def action_apply(self):
        self.ensure_one()
        self.import_id._run("apply")
        return self.import_id._get_records_action()
