from odoo import api, fields, models
from odoo.tools import SQL

from ..lib import billing_schedule, eligibility

# Changes of these fields can change an account's offers: they mark it for re-evaluation.
OFFER_WATCHED_FIELDS = ("stage", "agency_id", "contractor_id", "property_type")


class ServiceAccount(models.Model):
    """The offers of a service account: its results, and the marks that re-evaluate them.

    A change of a watched field (:data:`OFFER_WATCHED_FIELDS`) or of the
    payment state of one of its invoices marks the account (``offer_dirty``)
    and wakes the re-evaluation cron, which runs after the commit: the
    workflow never waits on eligibility and never fails because of it.
    """

    _inherit = "service.account"

    offer_dirty = fields.Boolean(
        string="Offers to Re-evaluate",
        default=True,
        copy=False,
        index=True,
        readonly=True,
        help="Something that decides its offers changed since their last evaluation.",
    )
    offer_evaluated_at = fields.Datetime(
        string="Offers Evaluated On",
        readonly=True,
        copy=False,
        help="Start of the last re-evaluation of its offers after a change.",
    )
    offer_digest = fields.Char(
        readonly=True,
        copy=False,
        help="Digest of the stored offer results: an evaluation that gives the same "
        "digest has nothing to write.",
    )
    offer_result_ids = fields.One2many(
        "service.offer.result", "account_id", string="Offers", readonly=True
    )
    offer_eligible_count = fields.Integer(
        compute="_compute_offer_eligible_count", string="Eligible Offers"
    )

    def _compute_offer_eligible_count(self):
        counts = dict(
            self.env["service.offer.result"]._read_group(
                [("account_id", "in", self.ids), ("eligible", "=", True)],
                ["account_id"],
                ["__count"],
            )
        )
        for account in self:
            account.offer_eligible_count = counts.get(account, 0)

    @api.model_create_multi
    def create(self, vals_list):
        accounts = super().create(vals_list)
        self.env["service.offer"]._trigger_evaluation()
        return accounts

    def write(self, vals):
        if set(vals) & set(OFFER_WATCHED_FIELDS):
            # marked in the same statement; evaluated by the cron after the commit
            vals = dict(vals, offer_dirty=True)
            self.env["service.offer"]._trigger_evaluation()
        return super().write(vals)

    def _mark_offer_dirty(self):
        """Mark these accounts for re-evaluation after the transaction (any user may)."""
        to_mark = self.sudo().filtered(lambda a: not a.offer_dirty)
        if to_mark:
            to_mark.write({"offer_dirty": True})
        if self:
            self.env["service.offer"]._trigger_evaluation()

    @api.model
    def _offer_scope(self, ids=None, company_id=None, after=0, upto=None):
        """Which accounts a facts read covers: ``ids``, or those of a company in an id range.

        :return: ``(condition, domain)``: ``condition(column)`` the SQL test
            of an account id column (for the account and the rows of its
            subscriptions and invoices), ``domain`` the same on service.account
            (with the company for a range)
        """
        if ids is not None:
            ids = list(ids)
            return (lambda column: SQL("%s = ANY(%s)", column, ids)), [("id", "in", ids)]
        domain = [("company_id", "=", company_id), ("id", ">", after or 0)]
        if upto:
            domain.append(("id", "<=", upto))

        def condition(column):
            # a range, not an array of ids: PostgreSQL reads it as one index range
            if upto:
                return SQL("%s > %s AND %s <= %s", column, after or 0, column, upto)
            return SQL("%s > %s", column, after or 0)

        return condition, domain

    @api.model
    def _read_offer_facts(self, scope, today=None, matchers=()):
        """What the offer criteria look at, and the digest of the stored results.

        :param scope: :meth:`_offer_scope` (a company's accounts are those of
            the domain; ids: those of any company)
        :param matchers: SQL queries of account ids (the offers' extra
            domains): each account's answer to each is read with its facts
        :return: a list of ``(account ids, company id, eligibility.Facts,
            digest, answers)``: accounts with equal values together, the
            digest :func:`eligibility.account_digest` of their results as
            last stored (empty before the first evaluation), ``answers`` one
            boolean per matcher

        One set-based read whatever the number of accounts (the account, the
        start of its active subscriptions, the due date of its oldest unpaid
        posted invoice, the answers to the matchers), grouped by those values
        in the database: accounts share few of them, Python works per group.
        Then the names of their agencies and contractors. Read as superuser:
        CS users have no accounting rights, and the facts only decide the
        results. A matcher the database refuses raises.
        """
        condition, domain = scope
        self.env.flush_all()
        company = next((value for name, _op, value in domain if name == "company_id"), None)
        where = condition(SQL("a.id"))
        if company:
            where = SQL("%s AND a.company_id = %s", where, company)
        answers = SQL(", ").join(SQL("a.id IN (%s)", matcher) for matcher in matchers)
        # a set-based read: the nightly run looks at every account, the ORM's
        # record per row would cost more than the evaluation itself; joins on
        # aggregates (hashed by PostgreSQL), not a subquery per account; the
        # extra domains as subqueries of the ORM's own (_search); the
        # subscription starts sorted so that equal sets group together
        self.env.cr.execute(
            SQL(
                """SELECT array_agg(id), company_id, stage, property_type, agency_id,
                          contractor_id, starts, due, digest, answers
                     FROM (SELECT a.id, a.company_id, a.stage, a.property_type, a.agency_id,
                                  a.contractor_id, s.starts, d.due, a.offer_digest AS digest,
                                  ARRAY[%s]::boolean[] AS answers
                             FROM service_account a
                        LEFT JOIN (SELECT account_id, array_agg(date_start ORDER BY date_start)
                                          AS starts
                                     FROM service_subscription
                                    WHERE state = 'active' AND %s
                                 GROUP BY account_id) s ON s.account_id = a.id
                        LEFT JOIN (SELECT p.account_id, min(m.invoice_date_due) AS due
                                     FROM service_billing_period p
                                     JOIN account_move m ON m.service_billing_period_id = p.id
                                    WHERE %s AND m.move_type = 'out_invoice'
                                      AND m.state = 'posted'
                                      AND m.payment_state IN ('not_paid', 'partial')
                                 GROUP BY p.account_id) d ON d.account_id = a.id
                            WHERE %s) facts
                 GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10""",
                answers if matchers else SQL(),
                condition(SQL("account_id")),
                condition(SQL("p.account_id")),
                where,
            )
        )
        rows = self.env.cr.fetchall()
        companies = self.env["res.company"].browse({row[1] for row in rows})
        todays = {company.id: today or company._service_today() for company in companies}
        partners = self.env["res.partner"].sudo().with_context(active_test=False)
        partners = partners.browse({pid for row in rows for pid in row[4:6] if pid})
        names = dict(zip(partners.ids, partners.mapped("display_name"), strict=True))
        names[None] = ""
        years, groups = {}, []
        Facts = eligibility.Facts
        for ids, company_id, stage, ptype, agency, contractor, starts, due, stored, bits in rows:
            company_today = todays[company_id]
            key = (tuple(starts) if starts else (), company_today)
            year = years.get(key)
            if year is None:  # start dates repeat: the billing rule once per set of dates
                year = years[key] = max(
                    (billing_schedule.periods_started_by(start, company_today) for start in key[0]),
                    default=0,
                )
            facts = Facts(
                stage,
                year or None,
                max((company_today - due).days, 0) if due else 0,
                due,
                ptype,
                agency,
                names[agency],
                contractor,
                names[contractor],
                None,
            )
            groups.append((ids, company_id, facts, stored or "", tuple(bits or ())))
        return groups

    def action_view_offers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "service_model.service_offer_result_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {}
        return action
