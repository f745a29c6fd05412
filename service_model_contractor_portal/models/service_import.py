from odoo import models


class ServiceImport(models.Model):
    _inherit = "service.import"

    def _match_accounts(self, lines):
        """An import uploaded on the portal reaches only the accounts assigned
        to its contractor: a row naming any other property is unknown to them.
        Decided by who uploaded it (a portal user), so that the background
        job, which works without the portal's request, decides the same."""
        entries, line_by_number = super()._match_accounts(lines)
        if not self.user_id.share:
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
