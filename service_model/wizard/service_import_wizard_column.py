from odoo import fields, models


class ServiceImportWizardColumn(models.TransientModel):
    """A column of the file being imported, offered in the wizard's dropdowns."""

    _name = "service.import.wizard.column"
    _description = "Column of an Imported File"
    _order = "sequence, id"

    wizard_id = fields.Many2one("service.import.wizard", required=True, ondelete="cascade")
    name = fields.Char(string="Column", required=True)
    sequence = fields.Integer()
