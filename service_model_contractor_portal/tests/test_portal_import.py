from datetime import date, timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ContractorPortalCommon


@tagged("post_install", "-at_install")
class TestContractorPortalImport(ContractorPortalCommon):
    """The self-serve date import over HTTP: the contractor's own file, the
    same engine as the backend, and nobody else's imports."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.new_date = cls.today - timedelta(days=10)

    def _csv(self, *rows):
        return "\r\n".join(["Ref,Date", *(",".join(row) for row in rows)]).encode()

    def _upload(self, data, name="dates.csv", with_token=True):
        form = {"csrf_token": self._csrf_token()} if with_token else {}
        return self._get(
            "/my/imports/upload",
            data=form or {"upload": "1"},
            files={"import_file": (name, data, "text/csv")},
            allow_redirects=False,
        )

    def _imports(self):
        return self.env["service.import"].search([("contractor_id", "=", self.contractor.id)])

    def _upload_own_file(self):
        self.authenticate(self.portal_a.login, self.portal_a.login)
        day = fields.Date.to_string(self.new_date)
        response = self._upload(self._csv(["PA-LATER", day], ["PB-OTHER", day], ["NOPE-1", day]))
        self.assertEqual(response.status_code, 303, response.text[-2000:])
        return self._imports()

    def test_upload_preview_apply_download(self):
        record = self._upload_own_file()
        self.assertEqual(record.state, "previewed")
        self.assertEqual(record.user_id, self.portal_a)
        results = {line.reference: line for line in record.line_ids}
        self.assertEqual(results["PA-LATER"].result, "updated")
        # another contractor's property is unknown to this contractor
        self.assertEqual(results["PB-OTHER"].result_code, "unknown_reference")
        self.assertEqual(results["NOPE-1"].result_code, "unknown_reference")
        page = self._get(f"/my/imports/{record.id}")
        self.assertEqual(page.status_code, 200)
        self.assertIn('id="import_apply"', page.text)
        self.assertFalse(self.job_later.account_id.last_service_date == self.new_date)

        response = self._get(
            f"/my/imports/{record.id}/apply",
            data={"csrf_token": self._csrf_token()},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(record.state, "done")
        self.assertEqual(self.job_later.account_id.last_service_date, self.new_date)
        self.assertEqual(self.job_other.account_id.last_service_date, self.job_other.anchor_date)

        rejected = self._get(f"/my/imports/{record.id}/rejected")
        self.assertEqual(rejected.status_code, 200)
        self.assertIn("text/csv", rejected.headers["Content-Type"])
        self.assertIn("PB-OTHER", rejected.text)
        self.assertIn("NOPE-1", rejected.text)
        self.assertNotIn("PA-LATER", rejected.text)

    def test_portal_import_reaches_own_accounts_outside_a_request(self):
        """The background job decides as the portal does: by the uploader."""
        day = fields.Date.to_string(self.new_date)
        data = self._csv(["PA-LATER", day], ["PB-OTHER", day])
        Import = self.env["service.import"]
        by_portal = (
            Import.with_user(self.portal_a)
            .sudo()
            ._create_from_file(self.contractor, data, "portal.csv")
        )
        by_cs = Import.with_user(self.cs_user)._create_from_file(self.contractor, data, "cs.csv")
        for record in by_portal | by_cs:
            record._run("validate")
        codes = {
            (record, line.reference): line.result_code
            for record in by_portal | by_cs
            for line in record.line_ids
        }
        self.assertEqual(codes[(by_portal, "PB-OTHER")], "unknown_reference")
        self.assertEqual(codes[(by_cs, "PB-OTHER")], "other_contractor")
        self.assertEqual(codes[(by_portal, "PA-LATER")], "updated")

    def test_ambiguous_dates_ask_the_date_order(self):
        self.authenticate(self.portal_a.login, self.portal_a.login)
        self._upload(self._csv(["PA-LATER", "03/04/2025"], ["PA-SOON", "05/06/2025"]))
        record = self._imports()
        self.assertEqual(record.state, "needs_choice")
        page = self._get(f"/my/imports/{record.id}")
        self.assertIn("day first or month first", page.text)
        response = self._get(
            f"/my/imports/{record.id}/read",
            data={
                "csrf_token": self._csrf_token(),
                "column_reference": "Ref",
                "column_service_date": "Date",
                "date_order": "dmy",
            },
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303, response.text[-2000:])
        self.assertEqual(record.state, "previewed")
        line = record.line_ids.filtered(lambda line: line.reference == "PA-LATER")
        self.assertEqual(line.service_date, date(2025, 4, 3))

    def test_bad_file_shows_the_reason_and_keeps_nothing(self):
        self.authenticate(self.portal_a.login, self.portal_a.login)
        response = self._upload(b"", name="empty.csv")
        self.assertEqual(response.status_code, 422)
        self.assertIn('id="import_error"', response.text)
        self.assertFalse(self._imports())

    def test_others_cannot_reach_an_import(self):
        record = self._upload_own_file()
        token_free = {"column_reference": "Ref", "date_order": "mdy"}
        for user in (self.portal_b, self.portal_agency, self.portal_outsider):
            self.authenticate(user.login, user.login)
            token = self._csrf_token()
            with mute_logger("odoo.http"):
                self.assertEqual(self._get(f"/my/imports/{record.id}").status_code, 403)
                self.assertEqual(self._get(f"/my/imports/{record.id}/rejected").status_code, 403)
                for step in ("read", "apply"):
                    response = self._get(
                        f"/my/imports/{record.id}/{step}",
                        data={"csrf_token": token, **token_free},
                        allow_redirects=False,
                    )
                    self.assertEqual(response.status_code, 403, (user.login, step))
        self.assertEqual(record.state, "previewed")
        self.assertNotEqual(self.job_later.account_id.last_service_date, self.new_date)
        # only contractors upload
        self.authenticate(self.portal_agency.login, self.portal_agency.login)
        with mute_logger("odoo.http"):
            self.assertEqual(self._get("/my/imports").status_code, 403)
            response = self._upload(self._csv(["PA-SOON", "2025-01-01"]))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self._imports(), record)

    def test_upload_needs_the_csrf_token(self):
        self.authenticate(self.portal_a.login, self.portal_a.login)
        with mute_logger("odoo.http"):
            response = self._upload(self._csv(["PA-LATER", "2025-01-01"]), with_token=False)
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self._imports())
