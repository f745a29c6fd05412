import base64
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib import import_parser as parser

_logger = logging.getLogger(__name__)

DEFAULT_MAX_SIZE_MB = 20
DEFAULT_BACKGROUND_ROWS = 2000
DEFAULT_BATCH_SIZE = 500
# Outcomes of the engine that write something when applied.
APPLY_RESULTS = ("created", "updated", "stored", "conflict")
COUNTED_RESULTS = ("created", "updated", "unchanged", "stored", "conflict", "merged", "rejected")


class ServiceImport(models.Model):
    """A contractor's service-date file and what it did, row by row.

    The engine of the import, independent of any screen (the backend wizard
    and the contractor portal both drive it):

    - :meth:`_parse`: read the file into rows (raises ``UserError`` on a bad
      file, so nothing is kept); stops in ``needs_choice`` when the file's
      dates could be day-first or month-first and nobody chose yet.
    - :meth:`_validate`: match references and ask the due-date engine what
      each row would do (``dry_run``): the preview.
    - :meth:`_apply`: apply the good rows in batches, a savepoint per batch
      and a fallback per row, so a bad row never loses the good ones.
    - :meth:`_run`: both, now or in the background for large files.
    """

    _name = "service.import"
    _description = "Contractor Date Import"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(compute="_compute_name", store=True)
    contractor_id = fields.Many2one(
        "res.partner",
        string="Contractor",
        required=True,
        index=True,
        domain="[('is_service_contractor', '=', True)]",
        tracking=True,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Imported By",
        default=lambda self: self.env.user,
        readonly=True,
        index=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, readonly=True
    )
    attachment_id = fields.Many2one(
        "ir.attachment", string="File", readonly=True, ondelete="restrict"
    )
    file_name = fields.Char(readonly=True)
    file_type = fields.Char(readonly=True)
    state = fields.Selection(
        [
            ("draft", "Uploaded"),
            ("needs_choice", "Date Order Needed"),
            ("parsed", "Read"),
            ("queued", "Queued"),
            ("previewed", "Previewed"),
            ("done", "Applied"),
        ],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
        index=True,
    )
    queued_step = fields.Selection(
        [("validate", "Preview"), ("apply", "Apply")],
        readonly=True,
        help="What the background job does next with this import.",
    )
    column_reference = fields.Char(string="Reference Column")
    column_service_date = fields.Char(string="Service Date Column")
    column_phone = fields.Char(string="Phone Column")
    column_note = fields.Char(string="Note Column")
    header = fields.Json(readonly=True)
    detected_date_order = fields.Selection(
        [
            (parser.DATE_ORDER_DMY, "Day first"),
            (parser.DATE_ORDER_MDY, "Month first"),
            (parser.DATE_ORDER_NONE, "Not needed"),
            (parser.DATE_ORDER_AMBIGUOUS, "Ambiguous"),
            (parser.DATE_ORDER_MIXED, "Mixed"),
        ],
        readonly=True,
    )
    date_order = fields.Selection(
        [
            (parser.DATE_ORDER_DMY, "Day first (31/12/2024)"),
            (parser.DATE_ORDER_MDY, "Month first (12/31/2024)"),
        ],
        help="How to read dates such as 03/04/2024 when the file does not tell.",
    )
    allow_backdating = fields.Boolean(
        help="Accept service dates older than the account's current one (otherwise rejected)."
    )
    phone_country_id = fields.Many2one(
        "res.country",
        string="Phone Country",
        default=lambda self: self.env.company.country_id,
        help="Country of phone numbers written without an international prefix.",
    )
    date_applied = fields.Datetime(readonly=True)
    line_ids = fields.One2many("service.import.line", "import_id", string="Rows", readonly=True)
    line_count = fields.Integer(compute="_compute_counts")
    created_count = fields.Integer(compute="_compute_counts")
    updated_count = fields.Integer(compute="_compute_counts")
    unchanged_count = fields.Integer(compute="_compute_counts")
    stored_count = fields.Integer(compute="_compute_counts")
    conflict_count = fields.Integer(compute="_compute_counts")
    merged_count = fields.Integer(compute="_compute_counts")
    rejected_count = fields.Integer(compute="_compute_counts")
    progress = fields.Float(readonly=True, help="Share of the rows processed by the current step.")
    rejected_file = fields.Binary(compute="_compute_rejected_file", string="Rejected Rows")
    rejected_file_name = fields.Char(compute="_compute_rejected_file")

    @api.depends("contractor_id", "file_name")
    def _compute_name(self):
        for record in self:
            record.name = " · ".join(filter(None, [record.contractor_id.name, record.file_name]))

    @api.depends("line_ids.result")
    def _compute_counts(self):
        groups = self.env["service.import.line"]._read_group(
            [("import_id", "in", self.ids)], ["import_id", "result"], ["__count"]
        )
        counts = {(record.id, result): count for record, result, count in groups}
        for record in self:
            total = 0
            for result in COUNTED_RESULTS:
                count = counts.get((record.id, result), 0)
                record[f"{result}_count"] = count
                total += count
            record.line_count = total + counts.get((record.id, False), 0)

    def _compute_rejected_file(self):
        for record in self:
            data = record._rejected_rows_csv() if record.rejected_count else False
            record.rejected_file = base64.b64encode(data) if data else False
            stem = (record.file_name or "import").rsplit(".", 1)[0]
            record.rejected_file_name = f"{stem}-rejected.csv"

    # -- settings ----------------------------------------------------------------------

    def _param(self, key, default):
        value = self.env["ir.config_parameter"].sudo().get_param(f"service_model.import_{key}")
        try:
            return int(value) if value else default
        except ValueError:
            return default

    # -- creation --------------------------------------------------------------------

    @api.model
    def _create_from_file(self, contractor, data, file_name, **values):
        """A new import of ``data`` (bytes) for ``contractor``, file attached.

        The file is read first: a file that cannot be used raises
        ``UserError`` before anything is created.
        """
        draft = self.new({"contractor_id": contractor.id, "file_name": file_name, **values})
        parsed = draft._read_parsed_file(data)
        draft._locate_header(parsed)
        record = self.create({"contractor_id": contractor.id, "file_name": file_name, **values})
        record.attachment_id = self.env["ir.attachment"].create(
            {
                "name": file_name or "import",
                "raw": data,
                "res_model": self._name,
                "res_id": record.id,
            }
        )
        record._parse(parsed)
        return record

    # -- the engine -----------------------------------------------------------------

    def _file_error_message(self, error):
        """One clear, translated sentence for a file-level parser error."""
        name = self.file_name or ""
        params = error.params
        code = error.code
        if code == "empty":
            return self.env._("%(file)s has no rows: nothing was imported.", file=name)
        if code == "too_large":
            return self.env._(
                "%(file)s is %(size)s MB, over the %(limit)s MB limit: split it into smaller files.",
                file=name,
                size=round(params["size"] / 1048576, 1),
                limit=round(params["limit"] / 1048576, 1),
            )
        if code == "no_reference_column":
            return self.env._(
                "%(file)s has no property reference column (e.g. Reference, Property ID, UPRN). "
                "Columns found: %(headers)s.",
                file=name,
                headers=params["headers"],
            )
        if code == "no_date_column":
            return self.env._(
                "%(file)s has no service date column (e.g. Last service, Date of inspection). "
                "Columns found: %(headers)s.",
                file=name,
                headers=params["headers"],
            )
        if code == "not_spreadsheet":
            return self.env._(
                "%(file)s is not a spreadsheet: upload a CSV, XLS or XLSX file.", file=name
            )
        return self.env._(
            "%(file)s cannot be read: save it again as CSV or XLSX and upload it again.", file=name
        )

    def _row_error_message(self, code, params):
        if code == parser.ROW_MISSING_REFERENCE:
            return self.env._("no property reference")
        if code == parser.ROW_MISSING_DATE:
            return self.env._("no service date")
        if code == parser.ROW_INVALID_DATE:
            return self.env._(
                "%(value)s is not a date (write e.g. 2024-03-25 or 25/03/2024)",
                value=params["value"],
            )
        if code == parser.ROW_INVALID_PHONE:
            return self.env._("%(value)s is not a valid phone number", value=params["value"])
        if code == parser.ROW_DUPLICATE_CONFLICT:
            return self.env._(
                "the same property has different dates on lines %(lines)s: keep one",
                lines=params["lines"],
            )
        if code == parser.ROW_DUPLICATE_MERGED:
            return self.env._(
                "same property and date as line %(line)s: merged", line=params["line"]
            )
        if code == "unknown_reference":
            return self.env._(
                "no service account has the reference %(reference)s", reference=params["reference"]
            )
        if code == "other_contractor":
            return self.env._(
                "%(reference)s is serviced by another contractor", reference=params["reference"]
            )
        return self.env._("this row could not be applied: %(error)s", error=params.get("error", ""))

    def _read_parsed_file(self, data=None):
        self.ensure_one()
        max_size = self._param("max_size_mb", DEFAULT_MAX_SIZE_MB) * 1048576
        if data is None:
            data = self.attachment_id.raw or b""
        try:
            return parser.read_rows(data, self.file_name, max_size)
        except parser.ImportFileError as error:
            raise UserError(self._file_error_message(error)) from error

    def _parser_mapping(self):
        """Columns chosen on this import, else those remembered for the contractor."""
        mapping = {
            column: self[f"column_{column}"]
            for column in parser.COLUMNS
            if self[f"column_{column}"]
        }
        if mapping:
            return mapping
        remembered = self.env["service.import.mapping"].search(
            [("contractor_id", "=", self.contractor_id.id)], limit=1
        )
        return remembered._as_parser_mapping()

    def _locate_header(self, parsed):
        try:
            return parser.locate_header(parsed, self._parser_mapping())
        except parser.ImportFileError as error:
            raise UserError(self._file_error_message(error)) from error

    def _parse(self, parsed=None):
        """Read the file into import rows (one line record per data row).

        Returns False and leaves the import in ``needs_choice`` when the
        dates could be read day-first or month-first and ``date_order`` is
        not set; raises ``UserError`` on a file that cannot be used.
        """
        self.ensure_one()
        if self.state == "done":
            raise UserError(
                self.env._("This import is applied already: upload the file again to re-import it.")
            )
        parsed = parsed or self._read_parsed_file()
        header_index, columns = self._locate_header(parsed)
        header = [parser.cell_text(cell) for cell in parsed.rows[header_index]]
        date_index = columns[parser.COL_SERVICE_DATE]
        detected = parser.detect_date_order(
            row[date_index] for row in parsed.rows[header_index + 1 :] if date_index < len(row)
        )
        values = {
            "header": header,
            "file_type": parsed.file_type,
            "detected_date_order": detected,
            **{
                f"column_{column}": header[columns[column]] if column in columns else False
                for column in parser.COLUMNS
            },
        }
        if not self.date_order and detected in (parser.DATE_ORDER_DMY, parser.DATE_ORDER_MDY):
            values["date_order"] = detected
        # the rows are derived from the file: reading it again replaces them,
        # whoever may delete import rows by hand
        self.line_ids.sudo().unlink()
        self.write(values)
        if (
            detected in (parser.DATE_ORDER_AMBIGUOUS, parser.DATE_ORDER_MIXED)
            and not self.date_order
        ):
            self.state = "needs_choice"
            return False
        records = parser.extract_records(
            parsed,
            header_index,
            columns,
            self.date_order or parser.DATE_ORDER_DMY,
            self.phone_country_id.code or "GB",
        )
        if not records:
            raise UserError(self._file_error_message(parser.EmptyFileError()))
        parser.merge_duplicates(records)
        self.env["service.import.line"].create([self._line_values(record) for record in records])
        self.env["service.import.mapping"]._remember(
            self.contractor_id,
            {column: header[index] for column, index in columns.items()},
            self.date_order,
        )
        self.write({"state": "parsed", "progress": 0.0})
        return True

    def _line_values(self, record):
        values = {
            "import_id": self.id,
            "line_number": record.line,
            "reference": record.reference,
            "service_date": record.service_date,
            "phone": record.phone,
            "note": record.note,
            "raw_values": [parser.cell_text(cell) for cell in record.raw],
        }
        date_column = (
            self.header.index(self.column_service_date) if self.column_service_date else -1
        )
        if 0 <= date_column < len(record.raw):
            values["raw_date"] = parser.cell_text(record.raw[date_column])
        if record.error:
            values.update(
                result="merged" if record.error == parser.ROW_DUPLICATE_MERGED else "rejected",
                reason=record.error,
                message=self._row_error_message(record.error, record.error_params),
            )
        return values

    def _validate(self, limit=None):
        """Preview: what each row would do, from the engine's dry run.

        Works on the rows not yet previewed, ``limit`` at most (background
        batches); returns the number of rows still to preview.
        """
        self.ensure_one()
        Line = self.env["service.import.line"]
        domain = [("import_id", "=", self.id), ("result", "=", False)]
        lines = Line.search(domain, limit=limit)
        if lines:
            entries, line_by_number = self._match_accounts(lines)
            results = self.env["service.account"]._apply_service_dates(
                entries, allow_backdating=self.allow_backdating, dry_run=True
            )
            self._write_results(results, line_by_number)
        remaining = Line.search_count(domain)
        if not remaining:
            self.write({"state": "previewed", "queued_step": False, "progress": 100.0})
        else:
            self.progress = 100.0 * (self.line_count - remaining) / (self.line_count or 1)
        return remaining

    def _match_accounts(self, lines):
        """Engine entries for ``lines``; rows with an unknown reference or
        another contractor's account are rejected on the spot."""
        keys = {parser.reference_key(line.reference) for line in lines}
        accounts = self.env["service.account"].search_fetch(
            [
                ("company_id", "=", self.company_id.id),
                ("property_reference", "in", [line.reference for line in lines]),
            ],
            ["property_reference", "contractor_id"],
        )
        by_key = {parser.reference_key(a.property_reference): a for a in accounts}
        missing = keys - set(by_key)
        if missing:
            # References written in another case: one more query, only then.
            self.env["service.account"].flush_model(["property_reference", "company_id"])
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM service_account WHERE company_id = %s AND upper(property_reference) = ANY(%s)",
                    self.company_id.id,
                    list(missing),
                )
            )
            # Through search, so that access rules still apply.
            for account in self.env["service.account"].search_fetch(
                [("id", "in", [row[0] for row in self.env.cr.fetchall()])],
                ["property_reference", "contractor_id"],
            ):
                by_key.setdefault(parser.reference_key(account.property_reference), account)
        entries, line_by_number = [], {}
        for line in lines:
            account = by_key.get(parser.reference_key(line.reference))
            if not account:
                code = "unknown_reference"
            elif account.contractor_id and account.contractor_id != self.contractor_id:
                code = "other_contractor"
            else:
                code = None
            if code:
                line.write(
                    {
                        "result": "rejected",
                        "reason": code,
                        "message": self._row_error_message(code, {"reference": line.reference}),
                        "account_id": account.id if account else False,
                    }
                )
                continue
            entries.append(
                {"account": account, "service_date": line.service_date, "line": line.line_number}
            )
            line_by_number[line.line_number] = line
        return entries, line_by_number

    def _write_results(self, results, line_by_number, applied=False):
        for result in results:
            line = line_by_number[result["line"]]
            values = {
                "account_id": result["account"].id,
                "old_date": result["old_date"],
                "due_date": result.get("due_date") or False,
                "result": result["outcome"],
                "reason": "engine" if result["outcome"] == "rejected" else False,
                "message": result["reason"],
                "job_id": result["job"].id if result["job"] else False,
            }
            if applied:
                values["is_applied"] = True
            line.write(values)

    def _apply(self, limit=None):
        """Apply the previewed rows that change something, ``limit`` at most.

        A savepoint per batch; when a batch fails, its rows are applied one
        by one so that only the bad row is rejected. Returns the number of
        rows still to apply.
        """
        self.ensure_one()
        Line = self.env["service.import.line"]
        domain = [
            ("import_id", "=", self.id),
            ("is_applied", "=", False),
            ("result", "in", APPLY_RESULTS),
        ]
        batch_size = self._param("batch_size", DEFAULT_BATCH_SIZE)
        lines = Line.search(domain, limit=limit)
        for start in range(0, len(lines), batch_size):
            batch = lines[start : start + batch_size]
            try:
                with self.env.cr.savepoint():
                    self._apply_lines(batch)
            except Exception:  # a bad row must not lose the good ones
                _logger.info(
                    "import %s: batch failed, applying its rows one by one", self.id, exc_info=True
                )
                for line in batch:
                    try:
                        with self.env.cr.savepoint():
                            self._apply_lines(line)
                    except Exception as error:  # reported on the row
                        line.write(
                            {
                                "result": "rejected",
                                "reason": "apply_failed",
                                "message": self._row_error_message(
                                    "apply_failed", {"error": str(error)}
                                ),
                                "is_applied": True,
                            }
                        )
        remaining = Line.search_count(domain)
        total = Line.search_count([("import_id", "=", self.id), ("result", "in", APPLY_RESULTS)])
        if not remaining:
            self.write(
                {
                    "state": "done",
                    "queued_step": False,
                    "progress": 100.0,
                    "date_applied": fields.Datetime.now(),
                }
            )
        else:
            self.progress = 100.0 * (total - remaining) / (total or 1)
        return remaining

    def _apply_lines(self, lines):
        entries, line_by_number = self._match_accounts(lines)
        results = self.env["service.account"]._apply_service_dates(
            entries, allow_backdating=self.allow_backdating
        )
        self._write_results(results, line_by_number, applied=True)

    def _run(self, step):
        """Run ``step`` (``validate`` or ``apply``) now, or queue it for the
        background job when the file is large."""
        self.ensure_one()
        if self.line_count > self._param("background_rows", DEFAULT_BACKGROUND_ROWS):
            self.write({"state": "queued", "queued_step": step, "progress": 0.0})
            # The trigger row is technical: CS users do not manage crons.
            self.env.ref("service_model.service_import_cron").sudo()._trigger()
            return False
        if step == "validate":
            self._validate()
        else:
            self._apply()
        return True

    @api.model
    def _cron_process_imports(self):
        """Process queued imports, one batch per call, reporting progress to
        the cron so that it commits and calls again until all is done."""
        batch = self._param("batch_size", DEFAULT_BATCH_SIZE)
        queued = self.search([("state", "=", "queued")], order="id")
        done = 0
        for record in queued:
            step = record._validate if record.queued_step == "validate" else record._apply
            remaining = step(limit=batch)
            done += 1 if not remaining else 0
            if remaining:
                break
        remaining_imports = self.search_count([("state", "=", "queued")])
        self.env["ir.cron"]._notify_progress(done=max(done, 1), remaining=remaining_imports)

    # -- rejected rows ------------------------------------------------------------------

    def _rejected_rows_csv(self):
        """The rejected rows as CSV bytes, each with its reason: the contractor
        fixes them and sends the file back."""
        self.ensure_one()
        lines = self.line_ids.filtered(lambda line: line.result == "rejected")
        rows = [(line.raw_values or [], line.message or "") for line in lines]
        return parser.rejected_rows_csv(self.header or [], rows, reason_header=self.env._("Error"))

    # -- actions ------------------------------------------------------------------------

    def action_download_rejected(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/rejected_file/{self.rejected_file_name}?download=true",
            "target": "self",
        }

    def action_view_rows(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_model.service_import_line_action"
        )
        action["domain"] = [("import_id", "=", self.id)]
        return action
