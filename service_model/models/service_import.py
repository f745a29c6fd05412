import base64
import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..lib import due_date as engine
from ..lib import import_parser as parser

_logger = logging.getLogger(__name__)

DEFAULT_MAX_SIZE_MB = 20
DEFAULT_BACKGROUND_ROWS = 2000
DEFAULT_BATCH_SIZE = 500
# Reading the file into rows is cheaper per row than asking the engine.
PARSE_BATCH_FACTOR = 10
# Outcomes of the engine that write something when applied.
APPLY_RESULTS = ("created", "updated", "stored", "conflict")
COUNTED_RESULTS = ("created", "updated", "unchanged", "stored", "conflict", "merged", "rejected")
# Result fields of a row that take a few values whatever the file: written
# once per value for all the rows that get it.
SHARED_RESULT_FIELDS = ("result", "result_code", "is_applied")


def _write_value(record, fname):
    """``record[fname]`` as a write gives it: an id for a relation, False when empty."""
    value = record[fname]
    if isinstance(value, models.BaseModel):
        return value.id or False
    return value or False


class ServiceImport(models.Model):
    """A contractor's service-date file and what it did, row by row.

    The engine of the import, independent of any screen (the backend wizard
    and the contractor portal both drive it):

    - :meth:`_parse`: read the file into rows (raises ``UserError`` on a bad
      file, so nothing is kept); stops in ``needs_choice`` when the file's
      dates could be day-first or month-first and neither this import nor
      the contractor's remembered mapping says which; large files are read
      in the background.
    - :meth:`_validate`: match references and ask the due-date engine what
      each row would do (``dry_run``): the preview.
    - :meth:`_apply`: apply the good rows in batches, a savepoint per batch
      and a fallback per row, so a bad row never loses the good ones.
    - :meth:`_run`: both, now or in the background for large files.

    Each step refuses to run out of order (``UserError``) and checks the
    user's right to write the import; the rows are a system log, written
    with ``sudo()`` after that check.
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
        [("parse", "Read"), ("validate", "Preview"), ("apply", "Apply")],
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
        help="Accept service dates older than the account's current one (otherwise rejected). "
        "Only a CS manager may allow it."
    )
    phone_country_id = fields.Many2one(
        "res.country",
        string="Phone Country",
        compute="_compute_phone_country_id",
        store=True,
        readonly=False,
        help="Country of phone numbers written without an international prefix: the "
        "contractor's, else the company's.",
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

    @api.depends("contractor_id.country_id", "company_id.country_id")
    def _compute_phone_country_id(self):
        for record in self:
            record.phone_country_id = (
                record.contractor_id.country_id or record.company_id.country_id
            )

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

    def _read_limits(self):
        return parser.ReadLimits(
            max_size=self._param("max_size_mb", DEFAULT_MAX_SIZE_MB) * 1048576,
            max_rows=self._param("max_rows", parser.DEFAULT_MAX_ROWS),
            max_columns=self._param("max_columns", parser.DEFAULT_MAX_COLUMNS),
            max_cells=self._param("max_cells", parser.DEFAULT_MAX_CELLS),
        )

    # -- creation --------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._check_backdating_right(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._check_backdating_right([vals])
        return super().write(vals)

    def _check_backdating_right(self, vals_list):
        """Accepting dates older than the accounts' own is a CS manager's call."""
        if not any(vals.get("allow_backdating") for vals in vals_list):
            return
        if self.env.su or self.env.user.has_group("service_model.group_cs_manager"):
            return
        raise AccessError(
            self.env._(
                "Only a CS manager may allow backdating on an import: ask one to tick it, "
                "or import without it (older dates are then rejected)."
            )
        )

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

    def _queue(self, step):
        """Leave ``step`` to the background job, which works in batches."""
        self.write({"state": "queued", "queued_step": step, "progress": 0.0})
        # The trigger row is technical: CS users do not manage crons.
        self.env.ref("service_model.service_import_cron").sudo()._trigger()

    def _queued_error(self):
        return UserError(
            self.env._(
                "This import is being processed in the background (%(step)s, %(progress)s%%): "
                "wait until it is finished.",
                step=dict(self._fields["queued_step"]._description_selection(self.env)).get(
                    self.queued_step, ""
                ),
                progress=round(self.progress),
            )
        )

    def _check_step(self, step):
        """Refuse ``step`` (parse, validate, apply) when the import is not
        ready for it: the portal drives these methods directly."""
        self.ensure_one()
        if self.state == "done":
            raise UserError(
                self.env._("This import is applied already: upload the file again to re-import it.")
            )
        if self.state == "queued" and self.queued_step != step:
            raise self._queued_error()
        if step == "parse":
            return
        if self.state == "needs_choice":
            raise UserError(
                self.env._(
                    "The dates in this file can be read day-first or month-first: "
                    "choose how to read them first."
                )
            )
        if self.state == "draft":
            raise UserError(self.env._("The file is not read yet: read it before the preview."))
        if step == "apply" and self.state == "parsed":
            raise UserError(
                self.env._("Preview the import first: nothing is applied before a preview.")
            )

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
        if code == "too_many_rows":
            return self.env._(
                "%(file)s has more than %(limit)s rows: split it into smaller files.",
                file=name,
                limit=params["limit"],
            )
        if code == "too_many_columns":
            return self.env._(
                "%(file)s has %(columns)s columns, over the limit of %(limit)s: keep the property "
                "reference, the service date and the few columns you need.",
                file=name,
                columns=params["columns"],
                limit=params["limit"],
            )
        if code == "too_many_cells":
            return self.env._(
                "%(file)s has more than %(limit)s cells: remove the columns you do not need or "
                "split it into smaller files.",
                file=name,
                limit=params["limit"],
            )
        if code == "uncompressed_too_large":
            return self.env._(
                "%(file)s unpacks to %(size)s MB, over the %(limit)s MB a spreadsheet of the "
                "allowed size may hold: save only the sheet with the service dates, or as CSV.",
                file=name,
                size=round(params["size"] / 1048576, 1),
                limit=round(params["limit"] / 1048576, 1),
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

    def _row_warning_message(self, code, params):
        if code == parser.WARN_INVALID_PHONE:
            return self.env._(
                "%(value)s is not a valid phone number in %(country)s: the row is imported, "
                "the number is not",
                value=params["value"],
                country=self.phone_country_id.name or "-",
            )
        return ""

    def _read_parsed_file(self, data=None):
        self.ensure_one()
        if data is None:
            data = self.attachment_id.sudo().raw or b""
        try:
            return parser.read_rows(data, self.file_name, limits=self._read_limits())
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
        return self._remembered_mapping()._as_parser_mapping()

    def _remembered_mapping(self):
        return self.env["service.import.mapping"]._for_contractor(
            self.contractor_id, self.company_id
        )

    def _locate_header(self, parsed):
        try:
            return parser.locate_header(parsed, self._parser_mapping())
        except parser.ImportFileError as error:
            raise UserError(self._file_error_message(error)) from error

    def _parse(self, parsed=None):
        """Read the file into import rows (one line record per data row),
        replacing the rows of an earlier read.

        Returns True when the rows are there; False when the import waits
        for the date order (``needs_choice``: the dates could be read
        day-first or month-first and neither ``date_order`` nor the
        contractor's remembered mapping says which) or for the background
        job (a large file). Raises ``UserError`` on a file that cannot be
        used or when the import is past this step.
        """
        self.ensure_one()
        self._check_step("parse")
        self.check_access("write")
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
        if not self.date_order:
            if detected in (parser.DATE_ORDER_DMY, parser.DATE_ORDER_MDY):
                values["date_order"] = detected
            elif detected == parser.DATE_ORDER_AMBIGUOUS:
                # The contractor's last answer, shown on the import and changeable.
                values["date_order"] = self._remembered_mapping().date_order
        # the rows are derived from the file: reading it again replaces them
        self.line_ids.sudo().unlink()
        self.write(values)
        if (
            detected in (parser.DATE_ORDER_AMBIGUOUS, parser.DATE_ORDER_MIXED)
            and not self.date_order
        ):
            self.write({"state": "needs_choice", "queued_step": False})
            return False
        if len(parsed.rows) - header_index - 1 > self._param(
            "background_rows", DEFAULT_BACKGROUND_ROWS
        ):
            self._queue("parse")
            return False
        self._parse_rows(parsed)
        return True

    def _parse_rows(self, parsed=None, limit=None):
        """Create the rows not created yet, ``limit`` at most (background
        batches); the file is read whole each time, so that duplicates are
        merged across batches. Returns the number of rows still to create."""
        parsed = parsed or self._read_parsed_file()
        header_index, columns = self._locate_header(parsed)
        Line = self.env["service.import.line"].sudo()
        last = Line.search([("import_id", "=", self.id)], order="line_number desc", limit=1)
        batch = [n for n in parsed.line_numbers[header_index + 1 :] if n > last.line_number]
        batch = batch[:limit] if limit else batch
        records = parser.extract_records(
            parsed,
            header_index,
            columns,
            self.date_order or parser.DATE_ORDER_DMY,
            self.phone_country_id.code or "GB",
            phone_lines=range(batch[0], batch[-1] + 1) if batch else range(0),
        )
        if not records:
            raise UserError(self._file_error_message(parser.EmptyFileError()))
        parser.merge_duplicates(records)
        todo = [record for record in records if record.line > last.line_number]
        Line.create([self._line_values(record) for record in todo[:limit]])
        remaining = max(len(todo) - (limit or len(todo)), 0)
        if remaining:
            self.progress = 100.0 * (len(records) - remaining) / len(records)
            return remaining
        header = self.header or []
        self.env["service.import.mapping"]._remember(
            self.contractor_id,
            {column: header[index] for column, index in columns.items()},
            self.date_order,
            company=self.company_id,
        )
        if self.state == "queued":
            # Go on with the preview in the background.
            self.write({"queued_step": "validate", "progress": 0.0})
        else:
            self.write({"state": "parsed", "progress": 0.0})
        return 0

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
                result_code=record.error,
                message=self._row_error_message(record.error, record.error_params),
            )
        if record.warning:
            values.update(
                phone_invalid=record.warning == parser.WARN_INVALID_PHONE,
                warning=self._row_warning_message(record.warning, record.warning_params),
            )
        return values

    def _validate(self, limit=None):
        """Preview: what each row would do, from the engine's dry run.

        Works on the rows not yet previewed, ``limit`` at most (background
        batches); returns the number of rows still to preview.
        """
        self.ensure_one()
        self._check_step("validate")
        self.check_access("write")
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
                line.sudo().write(
                    {
                        "result": "rejected",
                        "result_code": code,
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
        """Write the engine's ``results`` on their rows.

        A row gets only the values that change on it: applying mostly adds
        the job to what the preview wrote, and a write costs by the field.
        The outcome fields take a few values whatever the file (created,
        rejected...; applied), so they are written once per value for all
        the rows that get it; the row's own values (account, dates, job)
        row by row.
        """
        codes = self._result_codes(results)
        lines = (
            self.env["service.import.line"]
            .sudo()
            .browse([line_by_number[result["line"]].id for result in results])
        )
        groups = defaultdict(list)  # {changes: line ids}
        for result, code, line in zip(results, codes, lines, strict=True):
            values = {
                "account_id": result["account"].id,
                "old_date": result["old_date"] or False,
                "due_date": result.get("due_date") or False,
                "result": result["outcome"],
                "result_code": code,
                "message": result["reason"] or False,
                "job_id": result["job"].id if result["job"] else False,
                "is_applied": applied or line.is_applied,
            }
            changes = [
                (fname, value)
                for fname, value in values.items()
                if _write_value(line, fname) != value
            ]
            shared = tuple(item for item in changes if item[0] in SHARED_RESULT_FIELDS)
            own = tuple(item for item in changes if item[0] not in SHARED_RESULT_FIELDS)
            for part in (shared, own):
                if part:
                    groups[part].append(line.id)
        for changes, line_ids in groups.items():
            lines.browse(line_ids).write(dict(changes))

    def _result_codes(self, results):
        """The machine-readable code of each engine result: its outcome, or
        for a rejection why (future, implausible, regression). The engine's
        ``reason_code`` when it gives one, else the engine's own pure rule
        asked again with the same facts."""
        rejected = [
            result
            for result in results
            if result["outcome"] == engine.REJECTED and not result.get("reason_code")
        ]
        policies = (
            self.env["service.account"]
            .browse({r["account"].id for r in rejected})
            ._engine_policies()
            if rejected
            else {}
        )
        known = set(self.env["service.import.line"]._fields["result_code"].get_values(self.env))
        codes = []
        for result in results:
            code = result.get("reason_code") or result["outcome"]
            if result["outcome"] == engine.REJECTED and not result.get("reason_code"):
                account = result["account"]
                policy, today = policies[(account.company_id, account.service_type_id)]
                code = engine.decide_anchor(
                    result["new_date"],
                    today,
                    policy,
                    current_anchor=result["old_date"] or None,
                    allow_backdating=self.allow_backdating,
                ).reason
            if code not in known:
                code = engine.REJECTED if result["outcome"] == engine.REJECTED else False
            codes.append(code)
        return codes

    def _apply(self, limit=None):
        """Apply the previewed rows that change something, ``limit`` at most.

        A savepoint per batch; when a batch fails, its rows are applied one
        by one so that only the bad row is rejected. Returns the number of
        rows still to apply.
        """
        self.ensure_one()
        self._check_step("apply")
        self.check_access("write")
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
                        line.sudo().write(
                            {
                                "result": "rejected",
                                "result_code": "apply_failed",
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
        background job when the file is large. Returns False when queued."""
        self.ensure_one()
        if self.state == "queued":
            raise self._queued_error()
        self._check_step(step)
        if self.line_count > self._param("background_rows", DEFAULT_BACKGROUND_ROWS):
            self.check_access("write")
            self._queue(step)
            return False
        if step == "validate":
            self._validate()
        else:
            self._apply()
        return True

    def _process_queued_batch(self, batch_size):
        """One batch of this import's queued step; returns the work left."""
        if self.queued_step == "parse":
            remaining = self._parse_rows(limit=batch_size * PARSE_BATCH_FACTOR)
            # Once read, the preview follows in the same queue.
            return remaining or 1
        if self.queued_step == "validate":
            return self._validate(limit=batch_size)
        return self._apply(limit=batch_size)

    @api.model
    def _cron_process_imports(self):
        """Process queued imports, one batch per call, reporting progress to
        the cron so that it commits and calls again until all is done."""
        batch = self._param("batch_size", DEFAULT_BATCH_SIZE)
        queued = self.search([("state", "=", "queued")], order="id")
        done = 0
        for record in queued:
            remaining = record._process_queued_batch(batch)
            done += 1 if not remaining else 0
            if remaining:
                break
        remaining_imports = self.search_count([("state", "=", "queued")])
        self.env["ir.cron"]._notify_progress(done=max(done, 1), remaining=remaining_imports)

    # -- public steps (backend form, portal) -----------------------------------------

    def action_parse(self):
        """Read the file again with the columns and date order now set."""
        self.ensure_one()
        self._parse()
        if self.state == "parsed":
            self._run("validate")
        return True

    def action_validate(self):
        self.ensure_one()
        self._run("validate")
        return True

    def action_apply(self):
        self.ensure_one()
        self._run("apply")
        return True

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

    def _service_comm_link(self, partner):
        """The link a message about this import gives ``partner``: by default its
        backend form; the portal addon links its portal users to their own pages."""
        self.ensure_one()
        return f"{self.get_base_url()}/odoo/{self._name}/{self.id}"
