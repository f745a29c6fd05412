from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL

from ..lib import eligibility


class ServiceOfferResult(models.Model):
    """Whether a service account is eligible for an offer, and why not: a system log.

    One row per (account, offer), written by the evaluation with sudo and
    read-only to users. ``changed`` says whether the last evaluation changed
    the verdict; ``previous_eligible`` and ``previous_reasons`` keep the one
    before that change.

    Hook for other modules (the communications addon):
    :meth:`_on_offer_eligible` receives the results that became eligible.
    """

    _name = "service.offer.result"
    _description = "Offer Eligibility Result"
    _order = "eligible desc, offer_id, account_id"
    _rec_name = "offer_id"

    offer_id = fields.Many2one(
        "service.offer", required=True, index=True, ondelete="cascade", readonly=True
    )
    account_id = fields.Many2one(
        "service.account", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    cs_user_id = fields.Many2one(related="account_id.cs_user_id", string="CS Owner")
    offer_description = fields.Text(related="offer_id.description", string="About the Offer")
    eligible = fields.Boolean(readonly=True, index=True)
    reasons = fields.Text(string="Why Not", readonly=True)
    values_seen = fields.Text(string="Values Looked At", readonly=True)
    error = fields.Boolean(readonly=True, help="The offer could not be evaluated.")
    stored_at = fields.Datetime(
        readonly=True, help="Start of the evaluation that last wrote the verdict or its values."
    )
    changed_at = fields.Datetime(string="Changed On", readonly=True, index=True)
    evaluated_at = fields.Datetime(
        string="Evaluated On",
        compute="_compute_evaluated_at",
        help="The last evaluation: unchanged verdicts are not rewritten, the run is recorded "
        "on the offer (nightly) and on the account (after a change).",
    )
    changed = fields.Boolean(
        compute="_compute_evaluated_at", help="The last evaluation changed the verdict."
    )
    previous_eligible = fields.Boolean(string="Was Eligible", readonly=True)
    previous_reasons = fields.Text(string="Previous Reasons", readonly=True)

    _sql_constraints = [
        (
            "account_offer_unique",
            "UNIQUE(account_id, offer_id)",
            "An account has one result per offer.",
        ),
    ]

    @api.depends("stored_at", "changed_at", "offer_id.last_run_at", "account_id.offer_evaluated_at")
    def _compute_evaluated_at(self):
        for result in self:
            moments = [
                result.stored_at,
                result.offer_id.last_run_at,
                result.account_id.offer_evaluated_at,
            ]
            result.evaluated_at = max(filter(None, moments), default=False)
            result.changed = bool(result.changed_at) and result.changed_at >= result.evaluated_at

    def _value_names(self):
        return {
            "stage": self.env._("Stage"),
            "subscription_year": self.env._("Subscription year"),
            "no_overdue": self.env._("Oldest unpaid invoice due on"),
            "property_type": self.env._("Property type"),
            "agency": self.env._("Agency"),
            "contractor": self.env._("Contractor"),
            "domain": self.env._("Matches the extra conditions"),
        }

    def _store(self, verdicts, now=None):
        """Store the verdicts ``{(offer id, account id): (Evaluation, error)}`` of a run.

        ``now`` is the start of the run. Unchanged results are not written
        (the run's time is recorded on the offer or the account instead):
        every night, most verdicts stay the same. Changed ones keep the
        previous verdict; new ones are created in one batch. Then
        :meth:`_on_offer_eligible` gets those that became eligible.
        """
        if not verdicts:
            return self
        Result = self.sudo()
        now = now or fields.Datetime.now()
        offer_ids = sorted({offer_id for offer_id, _account_id in verdicts})
        account_ids = sorted({account_id for _offer_id, account_id in verdicts})
        Result.flush_model()
        # a set-based read of the stored verdicts, texts as digests: only compared here
        self.env.cr.execute(
            SQL(
                """SELECT offer_id, account_id, id, eligible, md5(COALESCE(reasons, '')),
                          md5(COALESCE(values_seen, '')), COALESCE(error, false)
                     FROM service_offer_result
                    WHERE offer_id = ANY(%s) AND account_id = ANY(%s)""",
                offer_ids,
                account_ids,
            )
        )
        existing = {(row[0], row[1]): row[2:] for row in self.env.cr.fetchall()}
        # an offer evaluates the accounts of its company: the results' company, known here
        company_of = {
            offer.id: offer.company_id.id for offer in self.env["service.offer"].browse(offer_ids)
        }
        to_create, changed, updates, became_eligible = [], [], defaultdict(list), []
        # updates: {(eligible, reasons, values seen, error): result ids} (same verdict, new values)
        names, texts = self._value_names(), {}
        for key, (evaluation, error) in verdicts.items():
            # accounts with the same facts share their evaluation: texts built once each
            text = texts.get(id(evaluation))
            if text is None:
                reasons = eligibility.reasons_text(evaluation)
                values_seen = eligibility.values_text(evaluation, names)
                text = texts[id(evaluation)] = (
                    reasons,
                    values_seen,
                    eligibility.digest(reasons),
                    eligibility.digest(values_seen),
                )
            reasons, values_seen, reasons_digest, values_digest = text
            new = (evaluation.eligible, reasons, values_seen, bool(error))
            stored = existing.get(key)
            if not stored:
                to_create.append(key + new)
            elif (stored[1], stored[2]) != (evaluation.eligible, reasons_digest):
                changed.append((stored[0], new))
                if evaluation.eligible and not stored[1]:
                    became_eligible.append(stored[0])
            elif (stored[3], stored[4]) != (values_digest, bool(error)):
                updates[new].append(stored[0])
        previous = Result.browse([result_id for result_id, _new in changed])
        previous.fetch(["eligible", "reasons"])
        rows = [
            (result_id, new, False, False, False)
            for new, ids in updates.items()
            for result_id in ids
        ]
        rows += [
            (result.id, new, now, result.eligible, result.reasons or False)
            for result, (_result_id, new) in zip(previous, changed, strict=True)
        ]
        # one write() per set of equal new values: accounts with equal facts share
        # their verdicts, so many results take the same values
        by_values = defaultdict(list)
        for result_id, (eligible, reasons, values_seen, error), changed_at, was, before in rows:
            values = {
                "eligible": eligible,
                "reasons": reasons,
                "values_seen": values_seen,
                "error": error,
                "stored_at": now,
            }
            if changed_at:
                values.update(changed_at=changed_at, previous_eligible=was, previous_reasons=before)
            by_values[tuple(values.items())].append(result_id)
        for values, result_ids in by_values.items():
            Result.browse(result_ids).write(dict(values))
        created = Result.create(
            [
                {
                    "offer_id": offer_id,
                    "account_id": account_id,
                    "company_id": company_of[offer_id],
                    "eligible": eligible,
                    "reasons": reasons,
                    "values_seen": values_seen,
                    "error": error,
                    "stored_at": now,
                    "changed_at": now,
                }
                for offer_id, account_id, eligible, reasons, values_seen, error in to_create
            ]
        )
        newly_eligible = Result.browse(became_eligible) | created.filtered("eligible")
        if newly_eligible:
            newly_eligible._on_offer_eligible()
        return created

    def _on_offer_eligible(self):
        """Hook: these results just became eligible (a new offer, or a change on the account).

        By default the CS owner of each account gets one to-do activity
        naming the offers. The communications addon overrides this method
        (calling super) to send the "offer eligible" event. Runs in the
        evaluation's transaction, never in the workflow's, as superuser.
        """
        by_account = defaultdict(lambda: self.browse())
        for result in self:
            by_account[result.account_id] |= result
        todo = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        model_id = self.env["ir.model"]._get_id("service.account")
        activities = []
        for account, results in by_account.items():
            if not account.cs_user_id:
                continue
            activities.append(
                {
                    "res_model_id": model_id,
                    "res_id": account.id,
                    "activity_type_id": todo.id if todo else False,
                    "user_id": account.cs_user_id.id,
                    "summary": self.env._(
                        "Eligible for %(offers)s",
                        offers=", ".join(results.offer_id.mapped("name")),
                    ),
                    "note": self.env._("The account became eligible for these offers."),
                }
            )
        self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True).create(
            activities
        )

    def _service_comm_link(self, partner):
        """The link a message about this result gives ``partner``: its account's."""
        self.ensure_one()
        return self.account_id._service_comm_link(partner)
