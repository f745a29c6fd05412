from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.addons.service_model.lib import import_parser as parser
from odoo.exceptions import UserError
from odoo.http import content_disposition, request

from .portal import ContractorPortal, post_route

DATE_ORDERS = (parser.DATE_ORDER_DMY, parser.DATE_ORDER_MDY)
IMPORT_TEMPLATE = "service_model_contractor_portal.portal_my_import"


class ContractorImportPortal(ContractorPortal):
    """The self-serve date import: a contractor uploads their file, answers
    the columns and the date order when asked, previews, applies and
    downloads the rejected rows.

    The same ``service.import`` engine as the backend wizard drives each
    step, with its limits and guards; the portal checks the user's access
    to the import (their contractor company's) and runs the step sudo on
    that import only. An import uploaded by a portal user reaches only its
    contractor's accounts (``service.import._match_accounts``).
    """

    def _get_imports_domain(self):
        return self._user_company_domain("contractor_id")

    def _import_check_access(self, import_id):
        """The import, sudo as the user (the chatter and ``user_id`` name
        them), when it is their contractor company's."""
        checked = self._portal_check_access("service.import", import_id)
        if not self._is_user_company_record(checked, self._get_imports_domain()):
            raise Forbidden()
        return request.env["service.import"].sudo().browse(checked.id)

    def _user_contractor(self):
        """The user's contractor company; anyone else has no import to make."""
        contractor = request.env.user.commercial_partner_id
        if request.env.user._is_public() or not contractor.is_service_contractor:
            raise Forbidden()
        return contractor

    def _render_imports(self, error=None, status=200):
        imports = request.env["service.import"]
        if imports.has_access("read"):
            imports = imports.search(self._get_imports_domain(), limit=self._items_per_page)
        values = {
            **self._prepare_portal_layout_values(),
            "page_name": "import",
            "imports": imports.sudo(),
            "error": error,
        }
        return request.render(
            "service_model_contractor_portal.portal_my_imports", values, status=status
        )

    def _render_import(self, record, error=None, status=200):
        values = {
            **self._prepare_portal_layout_values(),
            "page_name": "import",
            "service_import": record,
            "lines": record.line_ids.sorted("line_number"),
            "date_orders": dict(record._fields["date_order"]._description_selection(request.env)),
            "error": error,
        }
        return request.render(IMPORT_TEMPLATE, values, status=status)

    def _import_step(self, record, step):
        """Run ``step(record)``; a refusal of the engine shows on the page and
        writes nothing."""
        try:
            with request.env.cr.savepoint():
                step(record)
        except UserError as exc:
            return self._render_import(record, error=exc.args[0], status=422)
        return request.redirect(f"/my/imports/{record.id}")

    @http.route(["/my/imports"], type="http", auth="user", website=True)
    def portal_my_imports(self, **kw):
        self._user_contractor()
        return self._render_imports()

    @post_route("/my/imports/upload")
    def portal_my_import_upload(self, import_file=None, **kw):
        contractor = self._user_contractor()
        if not import_file or not import_file.filename:
            return self._render_imports(
                error=request.env._("Choose your file (CSV, XLS or XLSX) first."), status=422
            )
        imports = request.env["service.import"].sudo()
        try:
            with request.env.cr.savepoint():
                record = imports._create_from_file(
                    contractor, import_file.read(), import_file.filename
                )
                if record.state == "parsed":
                    record._run("validate")
        except UserError as exc:
            return self._render_imports(error=exc.args[0], status=422)
        return request.redirect(f"/my/imports/{record.id}")

    @http.route(["/my/imports/<int:import_id>"], type="http", auth="user", website=True)
    def portal_my_import(self, import_id, **kw):
        return self._render_import(self._import_check_access(import_id))

    @post_route("/my/imports/<int:import_id>/read")
    def portal_my_import_read(
        self, import_id, column_reference=None, column_service_date=None, date_order=None, **kw
    ):
        """Read the file again with the columns and the date order confirmed."""
        record = self._import_check_access(import_id)

        def read(record):
            header = record.header or []
            values = {}
            for fname, column in (
                ("column_reference", column_reference),
                ("column_service_date", column_service_date),
            ):
                if column:
                    if column not in header:
                        raise UserError(
                            request.env._(
                                "%(column)s is not a column of the file: choose one of the list.",
                                column=column,
                            )
                        )
                    values[fname] = column
            if date_order:
                if date_order not in DATE_ORDERS:
                    raise UserError(request.env._("Choose how to read the dates of the file."))
                values["date_order"] = date_order
            record.write(values)
            record.action_parse()

        return self._import_step(record, read)

    @post_route("/my/imports/<int:import_id>/apply")
    def portal_my_import_apply(self, import_id, **kw):
        record = self._import_check_access(import_id)
        return self._import_step(record, lambda record: record.action_apply())

    @http.route(["/my/imports/<int:import_id>/rejected"], type="http", auth="user")
    def portal_my_import_rejected(self, import_id, **kw):
        record = self._import_check_access(import_id)
        name = record.rejected_file_name or "rejected.csv"
        return request.make_response(
            record._rejected_rows_csv(),
            headers=[
                ("Content-Type", "text/csv; charset=utf-8"),
                ("Content-Disposition", content_disposition(name)),
            ],
        )
