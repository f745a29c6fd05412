import base64
import csv
import io
import time
import zipfile
from datetime import date
from unittest.mock import patch

import openpyxl
from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import ServiceModelCommon

TODAY = "2025-06-16"


def csv_bytes(rows, delimiter=",", encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestServiceImport(ServiceModelCommon):
    """The import engine on real accounts: preview, apply, re-import, files."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contractor.service_auto_accept = "always"
        cls.other_contractor = cls.env["res.partner"].create(
            {"name": "Other Gas", "is_service_contractor": True}
        )
        cls.company.country_id = cls.env.ref("base.uk")
        cls.cs_manager = new_test_user(
            cls.env, login="sm_import_cs_manager", groups="service_model.group_cs_manager"
        )

    @classmethod
    def _account(cls, reference, last=None, stage="active", contractor=None):
        """An account of the contractor (or ``contractor``) with anchor ``last``
        and no job yet."""
        account = cls._create_account(reference, contractor_id=(contractor or cls.contractor).id)
        if stage == "active":
            cls._activate(account)
        if last:
            # the anchor alone, as the engine's own write stores it (no job yet)
            account.with_context(service_engine_write=True).last_service_date = last
        return account

    def _job(self, account, state="accepted"):
        return self.env["service.job"].create(
            {
                "account_id": account.id,
                "contractor_id": account.contractor_id.id,
                "state": state,
                "anchor_date": account.last_service_date,
                "due_date": date(2025, 12, 1),
            }
        )

    def _import(self, data, file_name="dates.csv", user=None, **values):
        Import = self.env["service.import"].with_user(user or self.cs_user)
        return Import._create_from_file(
            self.contractor.with_user(user or self.cs_user), data, file_name, **values
        )

    def _results(self, record):
        return {line.line_number: (line.result, line.message) for line in record.line_ids}

    def _matrix_accounts(self):
        accounts = {
            "new": self._account("PR-NEW"),
            "open": self._account("PR-OPEN", last=date(2024, 5, 1)),
            "same": self._account("PR-SAME", last=date(2025, 5, 1)),
            "busy": self._account("PR-BUSY", last=date(2024, 5, 1)),
            "future": self._account("PR-FUT"),
            "old": self._account("PR-OLD"),
            "back": self._account("PR-BACK", last=date(2025, 5, 1)),
            "draft": self._account("PR-DRAFT", stage="draft"),
            "dup": self._account("PR-DUP"),
            "clash": self._account("PR-CLASH"),
            "theirs": self._account("PR-THEIRS", contractor=self.other_contractor),
        }
        self._job(accounts["open"], "accepted")
        self._job(accounts["busy"], "in_progress")
        return accounts

    MATRIX_FILE = [
        ["Property ID", "Last service", "Phone", "Notes"],
        ["PR-NEW", "13/06/2025", "020 7946 0958", "ok"],  # 2: day-first, tells the order
        ["PR-OPEN", "2025-06-01", "", ""],  # 3: newer, open job not started
        ["PR-SAME", "01/05/2025", "", ""],  # 4: unchanged
        ["PR-BUSY", "2025-06-01", "", ""],  # 5: in progress -> conflict
        ["PR-FUT", "2025-07-01", "", ""],  # 6: future
        ["PR-OLD", "2019-01-01", "", ""],  # 7: implausible
        ["PR-BACK", "2025-01-01", "", ""],  # 8: regression
        ["PR-DRAFT", "2025-06-01", "", ""],  # 9: inactive: stored
        ["PR-DUP", "2025-06-01", "", ""],  # 10
        ["pr-dup", "01/06/2025", "", ""],  # 11: identical: merged
        ["PR-CLASH", "2025-06-01", "", ""],  # 12
        ["PR-CLASH", "2025-06-02", "", ""],  # 13: different: both rejected
        ["PR-NOPE", "2025-06-01", "", ""],  # 14: unknown reference
        ["PR-THEIRS", "2025-06-01", "", ""],  # 15: another contractor's account
        ["PR-X", "someday", "", ""],  # 16: not a date
        ["=cmd|' /C calc'!A0", "2025-06-01", "", ""],  # 17: formula, unknown
    ]

    def test_preview_changes_nothing_and_reports_each_row(self):
        accounts = self._matrix_accounts()
        jobs_before = self.env["service.job"].search_count([])
        record = self._import(csv_bytes(self.MATRIX_FILE, ";"))
        self.assertEqual(record.state, "parsed")
        record._validate()
        self.assertEqual(record.state, "previewed")
        results = self._results(record)
        self.assertEqual(results[2][0], "created")
        self.assertEqual(results[3][0], "updated")
        self.assertEqual(results[4][0], "unchanged")
        self.assertEqual(results[5][0], "conflict")
        self.assertEqual(results[6], ("rejected", "service date in the future"))
        self.assertIn("implausible", results[7][1])
        self.assertIn("regression", results[8][1])
        self.assertEqual(results[9][0], "stored")
        self.assertEqual(results[10][0], "created")
        self.assertEqual(results[11], ("merged", "same property and date as line 10: merged"))
        self.assertIn("12, 13", results[12][1])
        self.assertIn("12, 13", results[13][1])
        self.assertEqual(results[12][0], "rejected")
        self.assertEqual(results[14], ("rejected", "no service account has the reference PR-NOPE"))
        self.assertIn("another contractor", results[15][1])
        self.assertIn("someday", results[16][1])
        line = record.line_ids.filtered(lambda line: line.line_number == 3)
        self.assertEqual((line.old_date, line.service_date), (date(2024, 5, 1), date(2025, 6, 1)))
        self.assertEqual(line.due_date, date(2026, 6, 1))
        self.assertEqual(
            record.line_ids.filtered(lambda line: line.line_number == 2).phone, "+442079460958"
        )
        self.assertEqual(
            (
                record.created_count,
                record.updated_count,
                record.unchanged_count,
                record.conflict_count,
                record.stored_count,
                record.merged_count,
                record.rejected_count,
                record.line_count,
            ),
            (2, 1, 1, 1, 1, 1, 9, 16),
        )
        # A preview writes nothing to accounts or jobs.
        self.assertEqual(self.env["service.job"].search_count([]), jobs_before)
        self.assertFalse(accounts["new"].last_service_date)
        self.assertEqual(accounts["open"].last_service_date, date(2024, 5, 1))

    def test_apply_partial_success_then_reimport_changes_nothing(self):
        accounts = self._matrix_accounts()
        data = csv_bytes(self.MATRIX_FILE, "\t", "utf-16")
        record = self._import(data)
        record._validate()
        record._apply()
        self.assertEqual(record.state, "done")
        self.assertTrue(record.date_applied)
        self.assertEqual(accounts["new"].last_service_date, date(2025, 6, 13))
        self.assertEqual(accounts["new"].open_job_id.anchor_date, date(2025, 6, 13))
        self.assertEqual(accounts["open"].open_job_id.anchor_date, date(2025, 6, 1))
        self.assertEqual(accounts["draft"].last_service_date, date(2025, 6, 1))
        self.assertFalse(accounts["draft"].job_ids)
        self.assertTrue(accounts["busy"].open_job_id.has_conflict)
        self.assertEqual(accounts["busy"].open_job_id.state, "in_progress")
        self.assertFalse(accounts["future"].last_service_date)
        self.assertEqual(accounts["back"].last_service_date, date(2025, 5, 1))
        self.assertFalse(accounts["clash"].last_service_date)
        self.assertEqual(len(accounts["dup"].job_ids), 1)
        applied = record.line_ids.filtered("is_applied")
        self.assertEqual(set(applied.mapped("line_number")), {2, 3, 5, 9, 10})
        self.assertEqual(
            record.line_ids.filtered(lambda line: line.line_number == 2).job_id,
            accounts["new"].job_ids,
        )

        jobs_before = self.env["service.job"].search_count([])
        dates_before = {key: account.last_service_date for key, account in accounts.items()}
        again = self._import(data)
        again._validate()
        again._apply()
        self.assertEqual(self.env["service.job"].search_count([]), jobs_before)
        self.assertEqual(
            {key: account.last_service_date for key, account in accounts.items()}, dates_before
        )
        self.assertEqual(again.created_count + again.updated_count + again.stored_count, 0)
        # Every row that landed the first time is unchanged now (2, 3, 4, 5, 9, 10).
        self.assertEqual(again.unchanged_count, 6)
        self.assertFalse(again.line_ids.filtered("is_applied"))

    def test_a_failing_row_never_loses_the_good_ones(self):
        good = self._account("PR-GOOD")
        bad = self._account("PR-BAD")
        record = self._import(
            csv_bytes([["Ref", "Date"], ["PR-GOOD", "2025-06-01"], ["PR-BAD", "2025-06-01"]])
        )
        record._validate()
        original = type(self.env["service.account"])._apply_service_dates

        def fail_on_bad(model, entries, **kwargs):
            if any(entry["account"] == bad for entry in entries):
                raise RuntimeError("the contractor's account is locked")
            return original(model, entries, **kwargs)

        with patch.object(type(self.env["service.account"]), "_apply_service_dates", fail_on_bad):
            record._apply()
        self.assertEqual(good.last_service_date, date(2025, 6, 1))
        self.assertEqual(len(good.job_ids), 1)
        self.assertFalse(bad.last_service_date)
        line = record.line_ids.filtered(lambda line: line.reference == "PR-BAD")
        self.assertEqual(line.result, "rejected")
        self.assertIn("locked", line.message)
        self.assertEqual(record.state, "done")

    def test_backdating_when_a_cs_manager_allows_it(self):
        account = self._account("PR-BACK", last=date(2025, 5, 1))
        data = csv_bytes([["Ref", "Date of inspection"], ["PR-BACK", "2025-01-01"]])
        record = self._import(data, user=self.cs_manager, allow_backdating=True)
        record._validate()
        record._apply()
        self.assertEqual(record.line_ids.result, "created")
        self.assertEqual(account.last_service_date, date(2025, 1, 1))

    def test_only_a_cs_manager_may_allow_backdating(self):
        self._account("PR-BACK", last=date(2025, 5, 1))
        data = csv_bytes([["Ref", "Date of inspection"], ["PR-BACK", "2025-01-01"]])
        count = self.env["service.import"].search_count([])
        with self.assertRaisesRegex(AccessError, "Only a CS manager may allow backdating"):
            self._import(data, allow_backdating=True)
        self.assertEqual(self.env["service.import"].search_count([]), count)
        record = self._import(data)
        with self.assertRaises(AccessError):
            record.allow_backdating = True
        wizard = self._wizard(data, "back.csv")
        wizard.allow_backdating = True
        with self.assertRaises(AccessError):
            wizard.action_upload()
        record._validate()
        self.assertEqual(record.line_ids.result_code, "regression")

    def test_ambiguous_dates_ask_cs(self):
        account = self._account("PR-AMB")
        data = csv_bytes(
            [["UPRN", "Last service"], ["PR-AMB", "04/06/2025"], ["PR-NOPE", "03/05/2025"]]
        )
        record = self._import(data)
        self.assertEqual(record.state, "needs_choice")
        self.assertEqual(record.detected_date_order, "ambiguous")
        self.assertFalse(record.line_ids)
        record.date_order = "mdy"
        self.assertTrue(record._parse())
        record._validate()
        self.assertEqual(
            record.line_ids.filtered(lambda line: line.account_id == account).service_date,
            date(2025, 4, 6),
        )
        # Remembered for the contractor's next file.
        mapping = self.env["service.import.mapping"].search(
            [("contractor_id", "=", self.contractor.id)]
        )
        self.assertEqual(mapping.date_order, "mdy")

    def test_file_detected_day_first(self):
        self._account("PR-D1")
        data = csv_bytes(
            [["Ref", "Last service"], ["PR-D1", "04/06/2025"], ["PR-D2", "25/05/2025"]]
        )
        record = self._import(data)
        self.assertEqual(
            (record.state, record.detected_date_order, record.date_order), ("parsed", "dmy", "dmy")
        )
        self.assertEqual(record.line_ids[0].service_date, date(2025, 6, 4))

    def test_mapping_remembered_per_contractor(self):
        self._account("PR-MAP")
        data = csv_bytes([["Job no", "Visited", "Engineer"], ["PR-MAP", "2025-06-01", "Bob"]])
        with self.assertRaisesRegex(UserError, "no property reference column"):
            self._import(data)
        first = self._import(data, column_reference="Job no", column_service_date="Visited")
        self.assertEqual(first.line_ids.reference, "PR-MAP")
        second = self._import(data)
        self.assertEqual(
            (second.column_reference, second.column_service_date), ("Job no", "Visited")
        )
        self.assertEqual(second.line_ids.service_date, date(2025, 6, 1))

    def test_spreadsheets_and_serial_dates(self):
        self._account("PR-XL1")
        self._account("PR-XL2")
        book = openpyxl.Workbook()
        book.active.append(["Property Ref", "Date of inspection"])
        book.active.append(["PR-XL1", date(2025, 6, 2)])
        book.active.append(["PR-XL2", 45809])  # serial of 2025-06-01
        buffer = io.BytesIO()
        book.save(buffer)
        record = self._import(buffer.getvalue(), "dates.xlsx")
        record._validate()
        self.assertEqual(record.file_type, "xlsx")
        self.assertEqual(
            record.line_ids.mapped("service_date"), [date(2025, 6, 2), date(2025, 6, 1)]
        )
        self.assertEqual(record.created_count, 2)

    def test_bad_files_get_one_message_and_change_nothing(self):
        count = self.env["service.import"].search_count([])
        png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(200))
        self.env["ir.config_parameter"].sudo().set_param("service_model.import_max_size_mb", "1")
        big = csv_bytes([["Ref", "Date"]] + [[f"PR-{n:07d}", "2025-06-01"] for n in range(60000)])
        for data, message in (
            (png, "is not a spreadsheet"),
            (b"", "has no rows"),
            (b" \r\n,,\r\n", "has no rows"),
            (
                csv_bytes([["Address", "Date"], ["1 High St", "2025-06-01"]]),
                "no property reference column",
            ),
            (csv_bytes([["Ref", "Engineer"], ["PR-1", "Bob"]]), "no service date column"),
            (csv_bytes([["Ref", "Date"]]), "has no rows"),
            (big, "over the 1.0 MB limit"),
            (b"PK\x03\x04broken zip" * 10, "cannot be read"),
        ):
            with self.assertRaisesRegex(UserError, message):
                self._import(data, "contractor.csv")
        self.assertEqual(self.env["service.import"].search_count([]), count)

    def test_rejected_rows_download_neutralises_formulas(self):
        self._matrix_accounts()
        record = self._import(csv_bytes(self.MATRIX_FILE))
        record._validate()
        content = base64.b64decode(record.rejected_file).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(content)))
        self.assertEqual(rows[0], ["Property ID", "Last service", "Phone", "Notes", "Error"])
        self.assertEqual(len(rows), 1 + record.rejected_count)
        formula = rows[-1]
        self.assertEqual(formula[0], "'=cmd|' /C calc'!A0")
        self.assertIn("no service account has the reference", formula[-1])
        self.assertEqual(record.rejected_file_name, "dates-rejected.csv")
        action = record.action_download_rejected()
        self.assertIn(f"/web/content/service.import/{record.id}/rejected_file/", action["url"])

    def test_large_files_run_in_the_background_with_progress(self):
        accounts = [self._account(f"PR-BG{n}") for n in range(5)]
        self.env["ir.config_parameter"].sudo().set_param(
            "service_model.import_background_rows", "3"
        )
        self.env["ir.config_parameter"].sudo().set_param("service_model.import_batch_size", "2")
        data = csv_bytes(
            [["Ref", "Date"]] + [[a.property_reference, "2025-06-01"] for a in accounts]
        )
        record = self._import(data)
        # Even reading the rows is left to the background job.
        self.assertEqual((record.state, record.queued_step), ("queued", "parse"))
        self.assertFalse(record.line_ids)
        with self.assertRaisesRegex(UserError, "processed in the background"):
            record.with_user(self.cs_user)._run("validate")
        self.env["service.import"]._cron_process_imports()
        self.assertEqual((record.state, record.queued_step), ("queued", "validate"))
        self.assertEqual(len(record.line_ids), 5)
        self.env["service.import"]._cron_process_imports()
        self.assertEqual(record.state, "queued")
        self.assertAlmostEqual(record.progress, 40.0)
        self.env["service.import"]._cron_process_imports()
        self.env["service.import"]._cron_process_imports()
        self.assertEqual((record.state, record.progress), ("previewed", 100.0))
        self.assertFalse(record._run("apply"))
        for _batch in range(3):
            self.env["service.import"]._cron_process_imports()
        self.assertEqual(record.state, "done")
        self.assertEqual(sum(len(a.job_ids) for a in accounts), 5)

    def _wizard(self, data, file_name):
        """The import wizard as a CS user, with ``data`` uploaded for the contractor."""
        return (
            self.env["service.import.wizard"]
            .with_user(self.cs_user)
            .create(
                {
                    "contractor_id": self.contractor.id,
                    "file": base64.b64encode(data),
                    "file_name": file_name,
                }
            )
        )

    def test_wizard_upload_choose_preview_apply(self):
        account = self._account("PR-WIZ")
        data = csv_bytes(
            [["Ref", "Last service"], ["PR-WIZ", "01/06/2025"], ["PR-NOPE", "02/03/2025"]], "|"
        )
        wizard = self._wizard(data, "a.csv")
        wizard.action_upload()
        self.assertEqual(wizard.step, "choose")
        with self.assertRaisesRegex(UserError, "choose one"):
            wizard.action_confirm_choice()
        self.assertEqual(wizard.file_column_ids.mapped("name"), ["Ref", "Last service"])
        self.assertEqual(wizard.reference_column_id.name, "Ref")
        self.assertEqual(wizard.service_date_column_id.name, "Last service")
        wizard.date_order = "dmy"
        wizard.action_confirm_choice()
        self.assertEqual(wizard.step, "preview")
        self.assertEqual((wizard.created_count, wizard.rejected_count), (1, 1))
        action = wizard.action_apply()
        self.assertEqual(action["res_id"], wizard.import_id.id)
        self.assertEqual(wizard.import_id.state, "done")
        self.assertEqual(account.last_service_date, date(2025, 6, 1))
        self.assertEqual(wizard.import_id.user_id, self.cs_user)
        self.assertEqual(wizard.import_id.attachment_id.raw, data)

    def test_wizard_columns_chosen_from_the_file(self):
        self._account("PR-DROP")
        data = csv_bytes([["Ref", "Date", "Visited"], ["PR-DROP", "2025-01-01", "2025-06-01"]], ",")
        wizard = self._wizard(data, "drop.csv")
        wizard.action_upload()
        self.assertEqual(wizard.step, "preview")
        self.assertEqual(wizard.service_date_column_id.name, "Date")
        self.assertEqual(wizard.import_id.line_ids.service_date, date(2025, 1, 1))
        # CS points the service date at the other column, from the file's own headers
        wizard.action_choose()
        wizard.service_date_column_id = wizard.file_column_ids.filtered(
            lambda c: c.name == "Visited"
        )
        wizard.action_confirm_choice()
        self.assertEqual(wizard.step, "preview")
        self.assertEqual(wizard.import_id.column_service_date, "Visited")
        self.assertEqual(wizard.import_id.line_ids.service_date, date(2025, 6, 1))

    def test_result_codes_beside_the_messages(self):
        self._matrix_accounts()
        record = self._import(csv_bytes(self.MATRIX_FILE, ";"))
        record._validate()
        codes = {line.line_number: line.result_code for line in record.line_ids}
        self.assertEqual(
            codes,
            {
                2: "created",
                3: "updated",
                4: "unchanged",
                5: "conflict",
                6: "future",
                7: "implausible",
                8: "regression",
                9: "stored",
                10: "created",
                11: "duplicate_merged",
                12: "duplicate",
                13: "duplicate",
                14: "unknown_reference",
                15: "other_contractor",
                16: "invalid_date",
                17: "unknown_reference",
            },
        )
        missing = self._import(csv_bytes([["Ref", "Date"], ["PR-NEW", ""]]))
        self.assertEqual(missing.line_ids.result_code, "missing_date")

    def test_engine_reason_code_is_used_when_given(self):
        self._account("PR-FUT")
        record = self._import(csv_bytes([["Ref", "Date"], ["PR-FUT", "2025-07-01"]]))
        original = type(self.env["service.account"])._apply_service_dates

        def with_reason_code(model, entries, **kwargs):
            results = original(model, entries, **kwargs)
            for result in results:
                result["reason_code"] = "implausible"
            return results

        with patch.object(
            type(self.env["service.account"]), "_apply_service_dates", with_reason_code
        ):
            record._validate()
        self.assertEqual(record.line_ids.result_code, "implausible")

    def test_steps_out_of_order_are_refused(self):
        self._account("PR-AMB")
        ambiguous = csv_bytes([["Ref", "Last service"], ["PR-AMB", "04/06/2025"]])
        record = self._import(ambiguous)
        self.assertEqual(record.state, "needs_choice")
        for step in (record._validate, record._apply, lambda: record._run("apply")):
            with self.assertRaisesRegex(UserError, "day-first or month-first"):
                step()
        record.date_order = "dmy"
        record._parse()
        with self.assertRaisesRegex(UserError, "Preview the import first"):
            record._apply()
        with self.assertRaisesRegex(UserError, "Preview the import first"):
            record.action_apply()
        record.action_validate()
        self.assertEqual(record.state, "previewed")
        record.action_apply()
        self.assertEqual(record.state, "done")
        for step in (
            record._apply,
            record._validate,
            record._parse,
            lambda: record._run("apply"),
        ):
            with self.assertRaisesRegex(UserError, "applied already"):
                step()
        draft = (
            self.env["service.import"]
            .with_user(self.cs_user)
            .create({"contractor_id": self.contractor.id})
        )
        with self.assertRaisesRegex(UserError, "not read yet"):
            draft._validate()
        with self.assertRaisesRegex(UserError, "not read yet"):
            draft._apply()

    def test_remembered_date_order_is_not_asked_again(self):
        account = self._account("PR-AMB")
        first = self._import(csv_bytes([["Ref", "Last service"], ["PR-AMB", "04/06/2025"]]))
        self.assertEqual(first.state, "needs_choice")
        first.date_order = "mdy"
        first.action_parse()
        self.assertEqual(first.state, "previewed")
        second_file = csv_bytes([["Ref", "Last service"], ["PR-AMB", "05/06/2025"]])
        wizard = self._wizard(second_file, "second.csv")
        wizard.action_upload()
        # Not asked again: read month-first, and shown as such.
        self.assertEqual(wizard.step, "preview")
        self.assertEqual((wizard.detected_date_order, wizard.date_order), ("ambiguous", "mdy"))
        self.assertEqual(wizard.import_id.line_ids.service_date, date(2025, 5, 6))
        # The choice can still be changed.
        wizard.action_choose()
        wizard.date_order = "dmy"
        wizard.action_confirm_choice()
        self.assertEqual(wizard.import_id.line_ids.service_date, date(2025, 6, 5))
        wizard.action_apply()
        self.assertEqual(account.last_service_date, date(2025, 6, 5))
        mapping = self.env["service.import.mapping"]._for_contractor(self.contractor)
        self.assertEqual(mapping.date_order, "dmy")

    def test_invalid_phone_keeps_the_row(self):
        account = self._account("PR-TEL")
        data = csv_bytes([["Ref", "Last service", "Phone"], ["PR-TEL", "2025-06-01", "12 34"]])
        record = self._import(data)
        record._validate()
        line = record.line_ids
        self.assertEqual((line.result, line.result_code), ("created", "created"))
        self.assertTrue(line.phone_invalid)
        self.assertIn("12 34 is not a valid phone number", line.warning)
        record._apply()
        self.assertEqual(account.last_service_date, date(2025, 6, 1))

    def test_phone_numbers_read_in_the_contractors_country(self):
        self._account("PR-FR")
        data = csv_bytes(
            [["Ref", "Last service", "Phone"], ["PR-FR", "2025-06-01", "01 23 45 67 89"]]
        )
        # The company's country (United Kingdom) when the contractor has none.
        record = self._import(data)
        self.assertEqual(record.phone_country_id, self.env.ref("base.uk"))
        self.assertTrue(record.line_ids.phone_invalid)
        self.contractor.country_id = self.env.ref("base.fr")
        record = self._import(data)
        self.assertEqual(record.phone_country_id, self.env.ref("base.fr"))
        self.assertEqual(
            (record.line_ids.phone, record.line_ids.phone_invalid), ("+33123456789", False)
        )

    def test_import_rows_are_read_only_to_cs_users(self):
        self._account("PR-RO")
        record = self._import(csv_bytes([["Ref", "Date"], ["PR-RO", "2025-06-01"]]))
        record._validate()
        line = record.line_ids.with_user(self.cs_user)
        self.assertEqual(line.result, "created")
        with self.assertRaises(AccessError):
            line.write({"result": "rejected"})
        with self.assertRaises(AccessError):
            self.env["service.import.line"].with_user(self.cs_user).create(
                {"import_id": record.id, "line_number": 99}
            )
        with self.assertRaises(AccessError):
            line.with_user(self.cs_manager).unlink()

    def test_other_company_cannot_see_or_change_the_import(self):
        self._account("PR-CO")
        record = self._import(csv_bytes([["Ref", "Date"], ["PR-CO", "2025-06-01"]]))
        self.assertEqual(record.line_ids.company_id, self.company)
        mapping = self.env["service.import.mapping"]._for_contractor(self.contractor)
        self.assertEqual(mapping.company_id, self.company)
        company_b = self.env["res.company"].create({"name": "Company B"})
        user_b = new_test_user(
            self.env,
            login="sm_import_cs_b",
            groups="service_model.group_cs_manager",
            company_id=company_b.id,
            company_ids=[(6, 0, company_b.ids)],
        )
        Line = self.env["service.import.line"].with_user(user_b)
        self.assertFalse(Line.search([("import_id", "=", record.id)]))
        with self.assertRaises(AccessError):
            record.line_ids.with_user(user_b).read(["result"])
        with self.assertRaises(AccessError):
            mapping.with_user(user_b).read(["column_reference"])
        with self.assertRaises(AccessError):
            record.with_user(user_b)._validate()
        # The contractor's mapping is remembered per company.
        self.assertFalse(
            self.env["service.import.mapping"].with_user(user_b)._for_contractor(self.contractor)
        )

    def test_huge_files_refused_quickly_with_a_clear_message(self):
        count = self.env["service.import"].search_count([])
        book = io.BytesIO()
        workbook = openpyxl.Workbook()
        workbook.active.append(["Ref", "Date"])
        workbook.active.append(["PR-1", "2025-06-01"])
        workbook.save(book)
        source = zipfile.ZipFile(io.BytesIO(book.getvalue()))
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in source.infolist():
                content = source.read(member)
                if member.filename == "xl/worksheets/sheet1.xml":
                    padding = b"<!--" + b" " * (12 * 1048576) + b"-->"
                    content = content.replace(b"<sheetData>", padding + b"<sheetData>", 1)
                archive.writestr(member.filename, content, compresslevel=1)
        wide = csv_bytes([[f"Column {n}" for n in range(5000)], ["x"] * 5000])
        long = b"Ref,Date\r\n" + b"PR-1,2025-06-01\r\n" * 300_000
        for max_size_mb, data, file_name, message in (
            ("1", bomb.getvalue(), "bomb.xlsx", r"unpacks to 12.0 MB, over the 10.0 MB"),
            ("10", wide, "wide.csv", "has 5000 columns, over the limit of 200"),
            ("10", long, "long.csv", "has more than 100000 rows: split it"),
        ):
            self.env["ir.config_parameter"].sudo().set_param(
                "service_model.import_max_size_mb", max_size_mb
            )
            self.assertLess(len(data), int(max_size_mb) * 1048576)
            started = time.perf_counter()
            with self.assertRaisesRegex(UserError, message):
                self._import(data, file_name)
            self.assertLess(time.perf_counter() - started, 15)
        self.assertEqual(self.env["service.import"].search_count([]), count)

    def test_background_reading_in_batches_keeps_duplicates_and_phones(self):
        accounts = [self._account(f"PR-BR{n:02d}") for n in range(24)]
        self.env["ir.config_parameter"].sudo().set_param(
            "service_model.import_background_rows", "3"
        )
        self.env["ir.config_parameter"].sudo().set_param("service_model.import_batch_size", "1")
        rows = [["Ref", "Date", "Phone"]]
        rows += [[a.property_reference, "2025-06-01", "020 7946 0958"] for a in accounts]
        rows.append([accounts[0].property_reference, "2025-06-02", ""])  # line 26
        record = self._import(csv_bytes(rows))
        Import = self.env["service.import"]
        Import._cron_process_imports()
        self.assertEqual((record.queued_step, len(record.line_ids)), ("parse", 10))
        Import._cron_process_imports()
        Import._cron_process_imports()
        self.assertEqual((record.queued_step, len(record.line_ids)), ("validate", 25))
        self.assertEqual(set(record.line_ids[:-1].mapped("phone")), {"+442079460958"})
        duplicates = record.line_ids.filtered(lambda line: line.result_code == "duplicate")
        self.assertEqual(duplicates.mapped("line_number"), [2, 26])
        self.assertIn("2, 26", duplicates[1].message)

    def test_wizard_leaves_a_large_file_to_the_background(self):
        self._account("PR-BIG")
        self.env["ir.config_parameter"].sudo().set_param(
            "service_model.import_background_rows", "1"
        )
        data = csv_bytes([["Ref", "Date"], ["PR-BIG", "2025-06-01"], ["PR-N1", "2025-06-01"]])
        wizard = self._wizard(data, "big.csv")
        action = wizard.action_upload()
        self.assertEqual(
            (action["res_model"], action["res_id"]), ("service.import", wizard.import_id.id)
        )
        self.assertEqual(
            (wizard.import_id.state, wizard.import_id.queued_step), ("queued", "parse")
        )
        for _call in range(3):
            self.env["service.import"]._cron_process_imports()
        self.assertEqual(wizard.import_id.state, "previewed")
        self.assertEqual((wizard.created_count, wizard.rejected_count), (1, 1))
