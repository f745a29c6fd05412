from collections import OrderedDict
from datetime import date
from functools import partial

from werkzeug.exceptions import Forbidden, NotFound

from odoo import fields, http
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager
from odoo.addons.service_model.models.service_job import OPEN_STATES
from odoo.exceptions import MissingError, UserError
from odoo.http import request
from odoo.osv import expression
from odoo.tools import consteq

# Counters of the "Jobs" entries on /my, each with the list filter it opens.
JOB_COUNTERS = {
    "service_job_count": "open",
    "service_job_due_soon_count": "due_soon",
    "service_job_overdue_count": "overdue",
}
PROPERTY_COUNTER = "service_property_count"
# The portal's actions: a logged-in user's POST, with the session's CSRF token.
post_route = partial(http.route, type="http", auth="user", methods=["POST"], website=True)


class ContractorPortal(CustomerPortal):
    """The portal of contractors and agencies: the contractor's jobs (counts
    on /my, the list, the page, the actions accept, start and complete) and
    the agency's properties (list and page, read-only).

    Reads go through the user's own rights (the portal record rules); each
    action checks the user's access to the job with
    :meth:`_document_check_access` and then acts with sudo on that job only,
    through the same model methods as the backend buttons.
    """

    # -- /my ---------------------------------------------------------------------------

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        asked = [counter for counter in JOB_COUNTERS if counter in counters]
        if asked:
            jobs = request.env["service.job"]
            can_read = jobs.has_access("read")
            filters = self._get_job_searchbar_filters()
            for counter in asked:
                domain = expression.AND(
                    [self._get_jobs_domain(), filters[JOB_COUNTERS[counter]]["domain"]]
                )
                values[counter] = jobs.search_count(domain) if can_read else 0
        if PROPERTY_COUNTER in counters:
            accounts = request.env["service.account"]
            values[PROPERTY_COUNTER] = (
                accounts.search_count(self._get_properties_domain())
                if accounts.has_access("read")
                else 0
            )
        return values

    # -- /my/jobs ----------------------------------------------------------------------

    def _user_company_domain(self, fname):
        """Records whose ``fname`` is the user's company (commercial partner) or
        one of its contacts: colleagues share them, internal users included.

        The company's partners are a subquery made sudo: through the user's
        rights, the partner record rules would walk the partner tree with
        queries of their own on every search (the records' rules still apply).
        """
        company_partners = (
            request.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            ._search([("commercial_partner_id", "=", request.env.user.commercial_partner_id.id)])
        )
        return [(fname, "in", company_partners)]

    def _get_jobs_domain(self):
        """The jobs of the user's contractor company."""
        return self._user_company_domain("contractor_id")

    def _get_job_searchbar_sortings(self):
        _ = request.env._
        return {
            "due_date": {"label": _("Due Date"), "order": "due_date, id"},
            "property": {"label": _("Property"), "order": "account_id, id"},
            "state": {"label": _("Status"), "order": "state, due_date, id"},
            "completion": {"label": _("Completed On"), "order": "completion_date desc, id desc"},
        }

    def _get_job_searchbar_filters(self):
        _ = request.env._
        return {
            "open": {"label": _("Open"), "domain": [("state", "in", OPEN_STATES)]},
            "due_soon": {"label": _("Due Soon"), "domain": [("is_due_this_week", "=", True)]},
            "overdue": {"label": _("Overdue"), "domain": [("is_overdue", "=", True)]},
            "all": {"label": _("All"), "domain": []},
        }

    def _get_property_searchbar_inputs(self):
        _ = request.env._
        return {
            "property": {"input": "property", "label": _("Search in Property Reference")},
            "address": {"input": "address", "label": _("Search in Address")},
        }

    def _get_property_search_domain(self, search_in, search, path=""):
        """Search accounts (or, with ``path``, the records that point to them)
        by property reference or address."""
        if search_in == "address":
            return expression.OR(
                [
                    [(f"{path}{fname}", "ilike", search)]
                    for fname in ("street", "street2", "zip", "city")
                ]
            )
        return [(f"{path}property_reference", "ilike", search)]

    def _prepare_list_values(self, model, domain, url, options, sortings, filters, search_path=""):
        """Values of a paged portal list of ``model`` within ``domain``.

        ``options`` holds the request's page, sortby, filterby, search_in and
        search (unknown keys fall back to the first sorting and filter);
        ``search_path`` leads from ``model`` to the account searched by
        property reference or address. The page's records are found with the
        user's rights and handed to the template sudo, to read what the rules
        keep from portal users (the company's calendar, other jobs).
        """
        records = request.env[model]
        inputs = self._get_property_searchbar_inputs()
        sortby = (
            options.get("sortby") if options.get("sortby") in sortings else next(iter(sortings))
        )
        filterby = (
            options.get("filterby") if options.get("filterby") in filters else next(iter(filters))
        )
        search_in = options.get("search_in") if options.get("search_in") in inputs else "property"
        search = options.get("search")
        domain = expression.AND([domain, filters[filterby]["domain"]])
        if search:
            domain = expression.AND(
                [domain, self._get_property_search_domain(search_in, search, search_path)]
            )
        can_read = records.has_access("read")
        url_args = {
            "sortby": sortby,
            "filterby": filterby,
            "search_in": search_in,
            "search": search,
        }
        url_args.update(options.get("url_args", {}))
        pager = portal_pager(
            url=url,
            url_args=url_args,
            total=records.search_count(domain) if can_read else 0,
            page=options.get("page", 1),
            step=self._items_per_page,
        )
        if can_read:
            records = records.search(
                domain,
                order=sortings[sortby]["order"],
                limit=self._items_per_page,
                offset=pager["offset"],
            )
        return {
            **self._prepare_portal_layout_values(),
            "records": records.sudo(),
            "pager": pager,
            "default_url": url,
            "searchbar_sortings": sortings,
            "sortby": sortby,
            "searchbar_filters": OrderedDict(filters),
            "filterby": filterby,
            "searchbar_inputs": inputs,
            "search_in": search_in,
            "search": search,
        }

    def _prepare_my_jobs_values(self, options):
        domain = self._get_jobs_domain()
        # an account id only narrows the user's own jobs: the rules still apply
        account = options.get("account")
        account_id = int(account) if account and str(account).isdigit() else None
        if account_id:
            domain = expression.AND([domain, [("account_id", "=", account_id)]])
        values = self._prepare_list_values(
            "service.job",
            domain,
            "/my/jobs",
            dict(options, url_args={"account": account_id}),
            self._get_job_searchbar_sortings(),
            self._get_job_searchbar_filters(),
            search_path="account_id.",
        )
        values.update(
            jobs=values.pop("records"),
            page_name="job",
            today=request.env.company.sudo()._service_today(),
        )
        return values

    @http.route(
        ["/my/jobs", "/my/jobs/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
        readonly=True,
    )
    def portal_my_jobs(
        self, page=1, sortby=None, filterby=None, search_in=None, search=None, account=None, **kw
    ):
        values = self._prepare_my_jobs_values(
            {
                "page": page,
                "sortby": sortby,
                "filterby": filterby,
                "search_in": search_in,
                "search": search,
                "account": account,
            }
        )
        request.session["my_jobs_history"] = values["jobs"].ids[:100]
        return request.render("service_model_contractor_portal.portal_my_jobs", values)

    # -- /my/jobs/<id> -----------------------------------------------------------------

    def _portal_check_access(self, model, record_id, access_token=None):
        """The record, sudo, when the user (or the token) may read it: a record
        that does not exist is a 404, someone else's a 403."""
        try:
            return self._document_check_access(model, record_id, access_token)
        except MissingError as exc:
            raise NotFound() from exc

    def _is_user_company_record(self, record, domain):
        """Whether the user's own search within ``domain`` (see
        :meth:`_user_company_domain`) finds ``record``: reading is not enough
        where the page or the action belongs to the contractor or agency."""
        if request.env.user._is_public():
            return False
        own = request.env[record._name].search_count(
            expression.AND([[("id", "=", record.id)], domain]), limit=1
        )
        return bool(own)

    def _job_get_page_view_values(self, job, access_token, **kwargs):
        jobs = request.env["service.job"]
        history = jobs
        if jobs.has_access("read"):
            # the user's own earlier jobs on this property (rules apply)
            history = jobs.search(
                [("account_id", "=", job.account_id.id), ("id", "!=", job.id)],
                order="due_date desc, id desc",
                limit=10,
            )
        values = {
            "page_name": "job",
            "job": job,
            "history": history.sudo(),
            "today": job.company_id._service_today(),
            # actions are the contractor's, a token only shows the page
            "can_act": self._is_user_company_record(job, self._get_jobs_domain()),
            "error": kwargs.get("error"),
            "message": self._job_action_messages().get(kwargs.get("message")),
        }
        return self._get_page_view_values(
            job,
            access_token,
            values,
            "my_jobs_history",
            False,
            pid=kwargs.get("pid"),
            hash=kwargs.get("hash"),
        )

    def _login_redirect(self, access_token):
        """A visitor without a login and without a token is asked to log in."""
        if access_token or not request.env.user._is_public():
            return None
        return request.redirect_query("/web/login", {"redirect": request.httprequest.full_path})

    def _is_valid_token(self, record, access_token):
        """Whether ``access_token`` is the record's own (a link from one of our messages)."""
        return bool(
            access_token and record.access_token and consteq(record.access_token, access_token)
        )

    @http.route(["/my/jobs/<int:job_id>"], type="http", auth="public", website=True)
    def portal_my_job(self, job_id, access_token=None, message=None, pid=None, hash=None, **kw):
        redirect = self._login_redirect(access_token)
        if redirect:
            return redirect
        job = self._portal_check_access("service.job", job_id, access_token)
        values = self._job_get_page_view_values(
            job, access_token, message=message, pid=pid, hash=hash
        )
        return request.render("service_model_contractor_portal.portal_my_job", values)

    # -- actions -----------------------------------------------------------------------

    def _job_action_messages(self):
        _ = request.env._
        return {
            "accepted": _("You accepted the job."),
            "started": _("The job is in progress."),
            "completed": _("The job is done: thank you."),
        }

    def _job_act(self, job_id, action, message):
        """Run ``action(job)`` on a job of the user's contractor company (a
        token or a backend right to read jobs is not enough): as the user,
        with sudo on that job only, so that the chatter names them. A refusal
        of the model shows on the page and writes nothing."""
        checked = self._portal_check_access("service.job", job_id)
        if not self._is_user_company_record(checked, self._get_jobs_domain()):
            raise Forbidden()
        job = request.env["service.job"].sudo().browse(checked.id)
        try:
            with request.env.cr.savepoint():
                action(job)
        except UserError as exc:
            values = self._job_get_page_view_values(checked, None, error=exc.args[0])
            return request.render(
                "service_model_contractor_portal.portal_my_job", values, status=422
            )
        return request.redirect(f"{job.access_url}?message={message}")

    @post_route("/my/jobs/<int:job_id>/accept")
    def portal_my_job_accept(self, job_id, **kw):
        return self._job_act(job_id, lambda job: job.action_accept(), "accepted")

    @post_route("/my/jobs/<int:job_id>/start")
    def portal_my_job_start(self, job_id, **kw):
        return self._job_act(job_id, lambda job: job.action_start(), "started")

    @post_route("/my/jobs/<int:job_id>/complete")
    def portal_my_job_complete(self, job_id, completion_date=None, **kw):
        def complete(job):
            job._complete(self._parse_completion_date(completion_date))

        return self._job_act(job_id, complete, "completed")

    def _parse_completion_date(self, value):
        try:
            completion_date = fields.Date.to_date(value or None)
        except ValueError:
            completion_date = None
        if not completion_date:
            raise UserError(
                request.env._("Enter the date you completed the job (for example 2026-03-10).")
            )
        return completion_date

    # -- /my/properties (agencies, read-only) -------------------------------------------

    def _get_properties_domain(self):
        """The accounts the user's agency manages."""
        return self._user_company_domain("agency_id")

    def _get_property_searchbar_sortings(self):
        _ = request.env._
        return {
            "property": {"label": _("Property"), "order": "property_reference, id"},
            "last_service": {"label": _("Last Service"), "order": "last_service_date desc, id"},
            "stage": {"label": _("Stage"), "order": "stage, property_reference, id"},
        }

    def _get_property_searchbar_filters(self):
        _ = request.env._
        return {
            "all": {"label": _("All"), "domain": []},
            "active": {"label": _("Active"), "domain": [("stage", "=", "active")]},
            "onboarding": {"label": _("Onboarding"), "domain": [("stage", "=", "onboarding")]},
        }

    @http.route(
        ["/my/properties", "/my/properties/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
        readonly=True,
    )
    def portal_my_properties(
        self, page=1, sortby=None, filterby=None, search_in=None, search=None, **kw
    ):
        values = self._prepare_list_values(
            "service.account",
            self._get_properties_domain(),
            "/my/properties",
            {
                "page": page,
                "sortby": sortby,
                "filterby": filterby,
                "search_in": search_in,
                "search": search,
            },
            self._get_property_searchbar_sortings(),
            self._get_property_searchbar_filters(),
        )
        values.update(accounts=values.pop("records"), page_name="property")
        request.session["my_properties_history"] = values["accounts"].ids[:100]
        return request.render("service_model_contractor_portal.portal_my_properties", values)

    def _property_invoices(self, account):
        """The account's service invoices that Odoo's own portal shows the
        user (those billed to their agency): links to /my/invoices."""
        periods = (
            request.env["service.billing.period"].sudo().search([("account_id", "=", account.id)])
        )
        moves = request.env["account.move"]
        if not periods.move_ids or not moves.has_access("read"):
            return moves
        return moves.search(
            [("id", "in", periods.move_ids.ids)], order="invoice_date desc, id desc"
        )

    @http.route(["/my/properties/<int:account_id>"], type="http", auth="public", website=True)
    def portal_my_property(self, account_id, access_token=None, **kw):
        redirect = self._login_redirect(access_token)
        if redirect:
            return redirect
        account = self._portal_check_access("service.account", account_id, access_token)
        # the page is the agency's (or a token's holder): a contractor reads
        # the account for its jobs only
        if not self._is_valid_token(account, access_token) and not self._is_user_company_record(
            account, self._get_properties_domain()
        ):
            raise Forbidden()
        values = {
            "page_name": "property",
            "account": account,
            # sudo: agencies follow the jobs of their properties without reading them
            "jobs": account.job_ids.sorted(
                lambda job: (job.due_date or date.min, job.id), reverse=True
            ),
            "invoices": self._property_invoices(account),
        }
        values = self._get_page_view_values(
            account, access_token, values, "my_properties_history", False
        )
        return request.render("service_model_contractor_portal.portal_my_property", values)
