from collections import Counter

from odoo import api, fields, models
from odoo.tools import SQL

# context key: a batch of invoices created and posted by billing (see
# write, _service_post and _get_next_sequence_format)
BILLING_BATCH_CONTEXT = "service_billing_batch"
# Odoo's writes in that batch that change no input of the invoice lines (see write)
_UNSYNCED_BATCH_WRITES = (
    {"is_manually_modified": False},  # the end of create
    {"state": "posted", "posted_before": True},  # _post
)


class AccountMove(models.Model):
    _inherit = "account.move"

    service_billing_period_id = fields.Many2one(
        "service.billing.period",
        string="Billing Period",
        index="btree_not_null",
        readonly=True,
        copy=False,
        ondelete="restrict",
        help="The subscription period this invoice bills.",
    )
    service_subscription_id = fields.Many2one(
        related="service_billing_period_id.subscription_id", string="Subscription"
    )

    def init(self):
        res = super().init()
        # The database, not only the code, refuses to bill a period twice: at
        # most one invoice per period that is not cancelled.
        self.env.cr.execute(
            SQL(
                """CREATE UNIQUE INDEX IF NOT EXISTS account_move_service_billing_period_uniq
                   ON account_move (service_billing_period_id)
                   WHERE service_billing_period_id IS NOT NULL AND state != 'cancel'"""
            )
        )
        return res

    def write(self, vals):
        # In billing's batch (``BILLING_BATCH_CONTEXT``) two of Odoo's writes change
        # nothing the invoice lines are made of, yet each syncs every tax and
        # payment term line again (``_sync_dynamic_lines``: a snapshot of
        # every line before and after, compared key by key):
        # - create's reset of ``is_manually_modified`` on the moves it made
        #   (its own syncing set it), a sixth of billing a batch;
        # - ``_post``'s write of the state, a tenth; any change posting makes
        #   to the lines' inputs (a date moved out of a locked period, a
        #   missing invoice date) is a write of its own, synced as usual.
        # Those two are written without the second sync; the balance is
        # still checked and the lock dates still apply.
        if self.env.context.get(BILLING_BATCH_CONTEXT) and vals in _UNSYNCED_BATCH_WRITES:
            return super(AccountMove, self.with_context(skip_invoice_sync=True)).write(vals)
        return super().write(vals)

    @api.model
    def _service_invoice_counts(self, domain, key):
        """``Counter({record: invoices})`` of the invoices in ``domain``, by ``key`` of their period.

        Computed as superuser: CS users see how many invoices an account or a
        subscription has without accounting rights.
        """
        counts = Counter()
        groups = self.sudo()._read_group(domain, ["service_billing_period_id"], ["__count"])
        for period, count in groups:
            counts[period[key]] += count
        return counts

    def _service_log_creation(self):
        """Log the creation message of these service invoices, in one ``mail.message`` create.

        Each names, with links, the subscription and the billing period it
        bills, as a Finance auditor expects. The invoices are created with
        ``mail_create_nolog`` (Odoo would log a bare "Invoice Created" with a
        create of its own per invoice); this is their creation message.
        """
        bodies = {}
        for move in self:
            period = move.service_billing_period_id
            bodies[move.id] = self.env._(
                "Invoice created by the billing of %(subscription)s for %(period)s.",
                subscription=period.subscription_id._get_html_link(),
                period=period._get_html_link(title=period._period_label()),
            )
        return self._message_log_batch(bodies)

    def _service_subscribe_customers(self):
        """Make each invoice's customer a follower, as posting does, in one ``mail.followers`` create.

        ``_post`` subscribes the customer invoice by invoice (about five
        queries each); called on new invoices right before posting, this adds
        the same followers (active customers, Odoo's default subtypes for a
        customer or an internal user) in one batch, and posting then finds
        them following. The invoices are new: no follower exists to check.
        """
        # sudo: the followers are the system's bookkeeping, as in message_subscribe
        Followers = self.env["mail.followers"].sudo().with_context(default_partner_id=False)
        everyone, _internal, external = self.env["mail.message.subtype"].default_subtypes(
            self._name
        )
        vals_list = []
        for partner, moves in self.grouped("partner_id").items():
            if not partner.sudo().active:
                continue
            subtypes = external if partner.sudo().partner_share else everyone
            new, _update = Followers._add_followers(
                self._name, moves.ids, partner.ids, {partner.id: subtypes.ids}
            )
            vals_list += [
                dict(values, res_id=res_id)
                for res_id, values_list in new.items()
                for values in values_list
            ]
        Followers.create(vals_list)
        self.invalidate_recordset(["message_follower_ids", "message_partner_ids"])

    def _service_post(self):
        """Post these new service invoices: Odoo's ``_post``, in billing's batch.

        Under ``BILLING_BATCH_CONTEXT`` the batch is numbered with one format
        per journal, type and date (``_get_next_sequence_format``) and the
        state is written without a second sync of the lines (``write``).

        ``_post`` sets each move's ``checked`` from its journal's "Auto-Check
        on Post" by assignment, which runs a full ``account.move.write()`` per
        invoice, about a tenth of billing a batch. Billing creates the
        invoices it posts with that value already (a move created and posted
        in one transaction tracks neither). On the moves that hold it, the
        field is protected during ``_post``: assigning the unchanged value
        then updates nothing instead of calling ``write()`` again (a protected
        assignment writes only the records whose value differs). Any other
        move gets Odoo's write. Returns the posted invoices, in the caller's
        environment (the batch's key ends with the batch).
        """
        checked = self.filtered(lambda move: move.checked == move.journal_id.autocheck_on_post)
        with self.env.protecting([self._fields["checked"]], checked):
            posted = self.with_context(**{BILLING_BATCH_CONTEXT: True})._post(soft=False)
        return posted.with_env(self.env)

    def _get_next_sequence_format(self):
        """Odoo's next number format, worked out once per batch for moves that share its inputs.

        Posting numbers the moves one by one; for each, Odoo searches the
        journal's reference move, reads its last number and parses its format
        (three queries, one of them flushing the previous move's name). In a
        batch posted by billing (``BILLING_BATCH_CONTEXT``), a move without
        a number whose journal, type, payment flag and date are those of a
        move numbered before it in the same transaction would get the same
        format (the moves between are this batch's, numbered in that format),
        so that format is reused. It is reused only while Odoo's own
        transaction cache holds that sequence (``_locked_increment``: the
        transaction has locked it and counts its numbers), so the number
        itself still comes from Odoo's counter, and a savepoint rolled back
        clears both. Anywhere else, this is Odoo's method.
        """
        if not self.env.context.get(BILLING_BATCH_CONTEXT) or self.name not in (False, "/"):
            return super()._get_next_sequence_format()
        formats = self.env.cr.precommit.data.setdefault("service_model.sequence_formats", {})
        key = (
            self.journal_id.id,
            self.move_type,
            bool(self.origin_payment_id or self.env.context.get("is_payment")),
            self.date,
        )
        if key in formats:
            format_string, format_values = formats[key]
            counter = dict(format_values, seq=0)
            # the key of Odoo's counter in _locked_increment
            index = self._sequence_index and self[self._sequence_index]
            if (format_string.format(**counter), index) in self._get_sequence_cache():
                return format_string, dict(format_values)
        format_string, format_values = super()._get_next_sequence_format()
        formats[key] = (format_string, dict(format_values))
        return format_string, format_values

    def _service_form_action(self):
        """Open these invoices: the form for one, the list for several."""
        action = {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "name": self.env._("Invoices"),
            "context": {"default_move_type": "out_invoice"},
        }
        if len(self) == 1:
            return dict(action, res_id=self.id, view_mode="form", views=[(False, "form")])
        return dict(
            action,
            domain=[("id", "in", self.ids)],
            view_mode="list,form",
            views=[(False, "list"), (False, "form")],
        )

    def _service_comm_link(self, partner):
        """The link a message about this invoice gives ``partner``: Odoo's own
        invoice page (with its access token) to the party billed, the backend
        form to anyone else."""
        self.ensure_one()
        if partner and partner.commercial_partner_id == self.commercial_partner_id:
            return self.get_base_url() + self._get_share_url(redirect=True)
        return f"{self.get_base_url()}/odoo/{self._name}/{self.id}"
