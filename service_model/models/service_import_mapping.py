from odoo import api, fields, models

from ..lib import import_parser


class ServiceImportMapping(models.Model):
    """The columns and date order of a contractor's file, remembered per
    company for their next import."""

    _name = "service.import.mapping"
    _description = "Contractor File Column Mapping"
    _rec_name = "contractor_id"

    contractor_id = fields.Many2one(
        "res.partner", string="Contractor", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    column_reference = fields.Char(string="Reference Column", required=True)
    column_service_date = fields.Char(string="Service Date Column", required=True)
    column_phone = fields.Char(string="Phone Column")
    column_note = fields.Char(string="Note Column")
    date_order = fields.Selection(
        [
            (import_parser.DATE_ORDER_DMY, "Day first (31/12/2024)"),
            (import_parser.DATE_ORDER_MDY, "Month first (12/31/2024)"),
        ],
        string="Date Order",
        help="The order this contractor's ambiguous dates were last read in.",
    )

    _sql_constraints = [
        (
            "contractor_company_uniq",
            "unique(contractor_id, company_id)",
            "A contractor has one remembered column mapping per company.",
        ),
    ]

    def _as_parser_mapping(self):
        """{canonical column: header text} for ``import_parser.match_columns``."""
        if not self:
            return {}
        self.ensure_one()
        return {
            column: self[f"column_{column}"]
            for column in import_parser.COLUMNS
            if self[f"column_{column}"]
        }

    @api.model
    def _for_contractor(self, contractor, company=None):
        """The mapping remembered for ``contractor`` in ``company`` (default:
        the current one), or an empty recordset."""
        if not contractor:
            return self.browse()
        return self.search(
            [
                ("contractor_id", "=", contractor.id),
                ("company_id", "=", (company or self.env.company).id),
            ],
            limit=1,
        )

    @api.model
    def _remember(self, contractor, headers, date_order=False, company=None):
        """Store ``headers`` ({canonical column: header text}) and the date
        order for ``contractor`` in ``company`` (default: the current one)."""
        if not contractor or not headers.get(import_parser.COL_REFERENCE):
            return self.browse()
        company = company or self.env.company
        values = {
            f"column_{column}": headers.get(column) or False for column in import_parser.COLUMNS
        }
        if date_order:
            values["date_order"] = date_order
        mapping = self._for_contractor(contractor, company)
        if mapping:
            mapping.write(values)
            return mapping
        return self.create({"contractor_id": contractor.id, "company_id": company.id, **values})
