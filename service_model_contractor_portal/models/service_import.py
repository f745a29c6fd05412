from odoo import models

# Context key of the portal's import steps (run sudo for the contractor).
PORTAL_IMPORT = "service_import_portal"


class ServiceImport(models.Model):
    _inherit = "service.import"

    def _match_accounts(self, lines):
        """On the portal, a contractor reaches only the accounts assigned to
        them: a row naming any other property is unknown to them (the
        portal's steps run sudo, so the rules do not hide those accounts)."""
        entries, line_by_number = super()._match_accounts(lines)
        if not self.env.context.get(PORTAL_IMPORT):
            return entries, line_by_number
        foreign = {
            entry["line"]
            for entry in entries
            if entry["account"].contractor_id != self.contractor_id
        }
        for line in lines.filtered(
            lambda line: line.line_number in foreign or line.result_code == "other_contractor"
        ):
            line.sudo().write(
                {
                    "result": "rejected",
                    "result_code": "unknown_reference",
                    "message": self._row_error_message(
                        "unknown_reference", {"reference": line.reference}
                    ),
                    "account_id": False,
                }
            )
        entries = [entry for entry in entries if entry["line"] not in foreign]
        return entries, {n: line for n, line in line_by_number.items() if n not in foreign}
