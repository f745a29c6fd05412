import threading
import uuid
from contextlib import ExitStack, closing
from datetime import date
from unittest.mock import patch

import psycopg2
from freezegun import freeze_time
from lxml import etree, html
from psycopg2 import IntegrityError

from odoo import SUPERUSER_ID, Command, api
from odoo.addons.account.models.sequence_mixin import SequenceMixin
from odoo.addons.base.models.ir_cron import CompletionStatus
from odoo.addons.service_model.models import service_subscription as subscription_module
from odoo.addons.service_model.models.account_move import BILLING_BATCH_CONTEXT
from odoo.addons.service_model.models.service_subscription import (
    BILLING_CRONS,
    ServiceSubscription,
)
from odoo.exceptions import AccessError, UserError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, TransactionCase, get_db_name, new_test_user, tagged
from odoo.tools import mute_logger

# Queries per further posted invoice: the analytic distribution model of its
# line, which Odoo looks up line by line. About 6 when each invoice was numbered
# with queries of its own (the journal's reference and last number, the name
# written), about 11 when posting also subscribed the customer and logged the
# message invoice by invoice.
POSTED_QUERIES_PER_INVOICE = 1


def _make_billing_data(env, count, date_start, term_years=0, amount=100.0, prefix="BILL"):
    """``count`` draft service accounts with a plan, and a partner and product: plain records."""
    tag = f"{prefix}-{uuid.uuid4().hex[:8]}"
    partner = env["res.partner"].create({"name": f"End user {tag}", "email": "owner@example.com"})
    product = env["product.product"].create({"name": f"Safety plan {tag}", "type": "service"})
    accounts = env["service.account"].create(
        [
            {
                "property_reference": f"{tag}-{n:05d}",
                "end_user_id": partner.id,
                "plan_product_id": product.id,
                "plan_yearly_price": amount,
                "plan_term_years": term_years,
            }
            for n in range(count)
        ]
    )
    Subscription = env["service.subscription"]
    subs = Subscription.create(
        [Subscription._prepare_from_account(account, date_start) for account in accounts]
    )
    return partner, product, accounts, subs


def _invoices(env, subs):
    return env["account.move"].search(
        [("service_billing_period_id.subscription_id", "in", subs.ids)]
    )


class BillingCase(TransactionCase):
    """A company that bills automatically into its first sales journal."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write(
            {
                "service_subscription_on_completion": True,
                "service_billing_trigger": True,
                "service_billing_polling": True,
                "service_billing_post_invoices": True,
                "fiscalyear_lock_date": False,
                "sale_lock_date": False,
            }
        )
        cls.journal = cls.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", cls.company.id)], limit=1
        )
        cls.company.service_billing_journal_id = cls.journal
        # the company's date is UTC's unless a test moves it
        cls.company.service_calendar_id = cls.env["resource.calendar"].create(
            {"name": "Billing calendar (UTC)", "tz": "UTC", "company_id": cls.company.id}
        )

    def _subs(self, count=1, date_start=date(2020, 3, 10), term_years=0, **kwargs):
        return _make_billing_data(self.env, count, date_start, term_years=term_years, **kwargs)[3]

    def assertOneInvoicePerPeriod(self, subs, expected_sequences):
        """Each subscription has exactly one invoice per sequence in ``expected_sequences``."""
        invoices = _invoices(self.env, subs)
        self.assertEqual(len(invoices), len(subs) * len(expected_sequences))
        for sub in subs:
            billed = sorted(
                inv.service_billing_period_id.sequence
                for inv in invoices
                if inv.service_billing_period_id.subscription_id == sub
            )
            self.assertEqual(billed, list(expected_sequences), sub.name)

    def _complete_job(self, account, completion_date):
        """A job of ``account`` completed on ``completion_date``."""
        job = self.env["service.job"].create(
            {
                "account_id": account.id,
                "company_id": self.company.id,
                "completion_date": completion_date,
            }
        )
        job.action_done()
        return job


@tagged("post_install", "-at_install")
class TestBilling(BillingCase):
    # -- activation and year 1 ----------------------------------------------------------

    @freeze_time("2025-06-15")
    def test_first_completed_job_creates_subscription_and_year_one_invoice(self):
        _partner, _product, accounts, _subs = _make_billing_data(
            self.env, 1, date(2025, 1, 1), term_years=5
        )
        account = accounts
        account.subscription_ids.unlink()
        self._complete_job(account, date(2025, 6, 12))
        sub = account.subscription_ids
        self.assertEqual(len(sub), 1)
        self.assertEqual(sub.state, "active")
        self.assertEqual(sub.date_start, date(2025, 6, 12))
        self.assertEqual(sub.term_years, account.plan_term_years)
        invoice = _invoices(self.env, sub)
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.invoice_date, date(2025, 6, 12))
        self.assertEqual(invoice.journal_id, self.journal)
        self.assertEqual(invoice.partner_id, account.end_user_id)
        self.assertEqual(len(invoice.invoice_line_ids), 1)
        line = invoice.invoice_line_ids
        self.assertEqual(line.price_unit, 100.0)
        self.assertIn("year 1, 2025-06-12 to 2026-06-11", line.name)
        # the ledger plans the rest of the term, nothing more is billed today
        self.assertEqual(sub.billing_period_ids.mapped("sequence"), [1, 2, 3, 4, 5])
        self.assertEqual(sub.next_billing_date, date(2026, 6, 12))
        # a second completion creates no second subscription
        job2 = account.open_job_id or self.env["service.job"].create(
            {"account_id": account.id, "company_id": self.company.id}
        )
        job2.completion_date = date(2025, 6, 14)
        job2.action_done()
        self.assertEqual(len(account.subscription_ids), 1)

    @freeze_time("2025-06-15")
    def test_switches_off_become_finance_activities(self):
        self.company.service_subscription_on_completion = False
        _partner, _product, account, subs = _make_billing_data(self.env, 1, date(2025, 1, 1))
        subs.unlink()
        self._complete_job(account, date(2025, 6, 12))
        self.assertFalse(account.subscription_ids)
        self.assertIn("Create the subscription", account.activity_ids.mapped("summary"))

        self.company.service_subscription_on_completion = True
        self.company.service_billing_trigger = False
        sub = self._subs(date_start=date(2025, 6, 12))
        sub.action_activate()
        self.assertEqual(sub.state, "active")
        self.assertFalse(_invoices(self.env, sub))
        self.assertIn("Issue the year-1 invoice", sub.account_id.activity_ids.mapped("summary"))
        # the cron bills years 2..N only: year 1 stays Finance's manual step
        with freeze_time("2026-06-12"):
            sub._bill_due_queue()
        self.assertEqual(
            sorted(_invoices(self.env, sub).service_billing_period_id.mapped("sequence")), [2]
        )
        with freeze_time("2026-06-12"):
            sub.action_bill_due_periods()
        self.assertOneInvoicePerPeriod(sub, [1, 2])

    @freeze_time("2025-06-15")
    def test_billing_problem_never_blocks_job_completion(self):
        _partner, _product, account, subs = _make_billing_data(
            self.env, 1, date(2025, 1, 1), amount=0.0
        )
        subs.unlink()
        job = self._complete_job(account, date(2025, 6, 12))
        self.assertEqual(job.state, "done")
        sub = account.subscription_ids
        self.assertEqual(sub.state, "draft")
        self.assertTrue(sub.billing_error_date)
        self.assertFalse(_invoices(self.env, sub))
        self.assertIn("Activate the subscription", account.activity_ids.mapped("summary"))

    @freeze_time("2025-03-10")
    def test_draft_invoices_and_lock_date(self):
        self.company.service_billing_post_invoices = False
        self.company.sale_lock_date = date(2025, 3, 31)
        sub = self._subs(date_start=date(2025, 3, 10))
        sub.action_activate()
        invoice = _invoices(self.env, sub)
        self.assertEqual(invoice.state, "draft")
        # the period started in a locked month: dated on the first open day
        self.assertEqual(invoice.invoice_date, date(2025, 4, 1))
        self.assertEqual(sub.billing_period_ids[0].state, "draft")
        # as Odoo does, a draft invoice has no follower yet: posting subscribes the customer
        self.assertFalse(invoice.message_partner_ids)
        # posted later in a batch of billing's: numbered and followed, and the batch's
        # context key does not outlive the batch
        self.company.sale_lock_date = False
        posted = invoice._service_post()
        self.assertEqual(posted, invoice)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.name, "INV/2025/00001")
        self.assertEqual(invoice.message_partner_ids, sub.partner_id)
        self.assertNotIn(BILLING_BATCH_CONTEXT, posted.env.context)

    @freeze_time("2025-06-15")
    def test_activation_needs_a_price_and_a_started_period(self):
        sub = self._subs(amount=0.0, date_start=date(2025, 6, 1))
        with self.assertRaises(UserError):
            sub.action_activate()
        later = self._subs(date_start=date(2025, 7, 1))
        with self.assertRaises(UserError):
            later.action_activate()
        self.assertEqual((sub | later).mapped("state"), ["draft", "draft"])

    # -- the polling cron ----------------------------------------------------------------

    def test_five_year_catch_up_in_one_run(self):
        with freeze_time("2020-03-10"):
            subs = self._subs(count=3, date_start=date(2020, 3, 10))
            subs.action_activate()
        with freeze_time("2025-03-10"):
            done = subs._bill_due_queue(batch_size=2)
        self.assertEqual(done, 3)
        self.assertOneInvoicePerPeriod(subs, range(1, 7))
        invoice = _invoices(self.env, subs[0]).filtered(
            lambda m: m.service_billing_period_id.sequence == 4
        )
        self.assertEqual(invoice.invoice_date, date(2023, 3, 10))
        self.assertEqual(subs[0].next_billing_date, date(2026, 3, 10))

    def test_cron_twice_bills_nothing_twice(self):
        with freeze_time("2023-01-31"):
            subs = self._subs(count=2, date_start=date(2023, 1, 31))
            subs.action_activate()
        with freeze_time("2025-02-01"):
            self.assertEqual(subs._bill_due_queue(), 2)
            self.assertEqual(subs._bill_due_queue(), 0)
            with self.assertRaises(UserError):  # the manual path finds nothing either
                subs[0].action_bill_due_periods()
        self.assertOneInvoicePerPeriod(subs, [1, 2, 3])

    def test_schedules_over_six_years(self):
        cases = {
            date(2024, 2, 29): [
                date(2024, 2, 29),
                date(2025, 2, 28),
                date(2026, 2, 28),
                date(2027, 2, 28),
                date(2028, 2, 29),
                date(2029, 2, 28),
            ],
            date(2024, 1, 31): [date(y, 1, 31) for y in range(2024, 2030)],
            date(2024, 12, 31): [date(y, 12, 31) for y in range(2024, 2030)],
            date(2024, 5, 17): [date(y, 5, 17) for y in range(2024, 2030)],
        }
        for start, expected in cases.items():
            with self.subTest(start=start):
                with freeze_time(start):
                    sub = self._subs(date_start=start, term_years=6)
                    sub.action_activate()
                with freeze_time(expected[-1]):
                    sub._bill_due_queue()
                invoices = _invoices(self.env, sub).sorted(
                    lambda m: m.service_billing_period_id.sequence
                )
                self.assertEqual(invoices.mapped("invoice_date"), expected)
                self.assertEqual(sub.billing_period_ids.mapped("date_start"), expected)
                self.assertEqual(sub.billing_period_ids[-1].date_end.year, expected[-1].year + 1)
                self.assertFalse(sub.next_billing_date, "term over: nothing left to bill")

    def test_term_end_stops_billing_and_term_zero_continues(self):
        with freeze_time("2015-07-01"):
            bounded = self._subs(date_start=date(2015, 7, 1), term_years=3)
            open_ended = self._subs(date_start=date(2015, 7, 1), term_years=0)
            (bounded | open_ended).action_activate()
        with freeze_time("2025-07-01"):
            (bounded | open_ended)._bill_due_queue()
        self.assertOneInvoicePerPeriod(bounded, [1, 2, 3])
        self.assertOneInvoicePerPeriod(open_ended, range(1, 12))
        # the open-ended schedule keeps a forecast horizon ahead
        self.assertEqual(open_ended.billing_period_ids[-1].date_start, date(2030, 7, 1))

    def test_a_batch_is_numbered_as_odoo_numbers_invoice_by_invoice(self):
        """Billing works out the number format once for the invoices of a batch that share
        their journal and date; the numbers are those Odoo's posting gives one by one, across
        dates and a new year, after an invoice numbered by hand."""
        starts = [date(2024, 12, 30), date(2024, 12, 31), date(2025, 1, 1), date(2025, 1, 1)]
        subs = self.env["service.subscription"]
        for start in starts:
            with freeze_time(start):
                sub = self._subs(count=2, date_start=start)
                sub.action_activate()
                subs |= sub
        with freeze_time("2025-12-31"):
            by_hand = self.env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "journal_id": self.journal.id,
                    "partner_id": subs[0].partner_id.id,
                    "invoice_date": date(2025, 12, 29),
                    "invoice_line_ids": [Command.create({"name": "Visit", "price_unit": 50})],
                }
            )
            by_hand.action_post()
        AccountMove = type(self.env["account.move"])
        odoo_numbering = SequenceMixin._get_next_sequence_format

        def bill():
            self.env.invalidate_all()
            with freeze_time("2026-01-02"):
                subs._bill_due_queue()
            self.env.flush_all()
            moves = subs.billing_period_ids.filtered(lambda p: p.sequence == 2).move_id
            return {move.service_billing_period_id.id: move.name for move in moves}

        savepoint = self.env.cr.savepoint()
        with patch.object(AccountMove, "_get_next_sequence_format", odoo_numbering):
            expected = bill()
        savepoint.close(rollback=True)
        self.assertEqual(len(expected), 8)
        names = sorted(expected.values())
        # the year's numbering continues after the invoice numbered by hand; a new year's starts
        self.assertTrue(all(name > by_hand.name for name in names[:4]), (by_hand.name, names))
        self.assertEqual(names[4:], [f"INV/2026/{n:05d}" for n in (1, 2, 3, 4)])
        self.assertEqual(bill(), expected)

    def test_a_batch_that_fails_after_numbering_leaves_no_gap(self):
        """A batch undone after its invoices were numbered gives its numbers back: the
        invoices billed one by one afterwards continue the journal's numbering."""
        with freeze_time("2024-04-01"):
            good = self._subs(count=3, date_start=date(2024, 4, 1))
            poison = self._subs(date_start=date(2024, 4, 1))
            (good | poison).action_activate()
        AccountMove = type(self.env["account.move"])
        original = AccountMove._service_post

        def fail_after_numbering(moves):
            posted = original(moves)
            if poison in moves.service_subscription_id:
                raise UserError(self.env._("Refused after numbering"))
            return posted

        with (
            freeze_time("2025-04-01"),
            patch.object(AccountMove, "_service_post", fail_after_numbering),
        ):
            (good | poison)._bill_due_queue()
        self.assertOneInvoicePerPeriod(good, [1, 2])
        self.assertTrue(poison.billing_error_date)
        year_two = good.billing_period_ids.filtered(lambda p: p.sequence == 2).move_id
        journal_moves = self.env["account.move"].search(
            [
                ("journal_id", "=", self.journal.id),
                ("sequence_prefix", "=", year_two[0].sequence_prefix),
            ]
        )
        numbers = sorted(journal_moves.mapped("sequence_number"))
        # the year's first numbers, the three good invoices' alone
        self.assertEqual(numbers, [1, 2, 3])
        self.assertFalse(any(journal_moves.mapped("made_sequence_gap")))

    def test_poison_subscription_is_recorded_and_skipped(self):
        with freeze_time("2024-04-01"):
            good = self._subs(count=3, date_start=date(2024, 4, 1))
            poison = self._subs(date_start=date(2024, 4, 1))
            (good | poison).action_activate()
        income = poison.product_id.product_tmpl_id._get_product_accounts()["income"]
        deprecated = income.copy({"code": f"{income.code}9", "deprecated": True})
        poison.product_id.property_account_income_id = deprecated
        with freeze_time("2025-04-01"):
            done = (good | poison)._bill_due_queue()
        self.assertEqual(done, 4)
        self.assertOneInvoicePerPeriod(good, [1, 2])
        self.assertOneInvoicePerPeriod(poison, [1])
        self.assertTrue(poison.billing_error_date)
        self.assertIn("deprecated", poison.billing_error)
        self.assertIn(
            poison,
            self.env["service.subscription"].search([("billing_error_date", "!=", False)]),
        )
        # out of the queue until someone fixes it
        with freeze_time("2025-04-02"):
            self.assertEqual(poison._bill_due_queue(), 0)
        poison.product_id.property_account_income_id = income
        finance = new_test_user(
            self.env, login="sm_finance_retry", groups="service_model.group_finance"
        )
        poison.with_user(finance).action_retry_billing()
        self.assertFalse(poison.billing_error_date)
        with freeze_time("2025-04-02"):
            self.assertEqual(poison._bill_due_queue(), 1)
        self.assertOneInvoicePerPeriod(poison, [1, 2])

    def test_polling_switch_off_bills_nothing(self):
        with freeze_time("2024-04-01"):
            sub = self._subs(date_start=date(2024, 4, 1))
            sub.action_activate()
        self.company.service_billing_polling = False
        with freeze_time("2026-04-01"):
            self.assertEqual(sub._bill_due_queue(), 0)
            # the step becomes Finance's, once
            self.assertEqual(len(sub._schedule_manual_billing()), 1)
            self.assertFalse(sub._schedule_manual_billing())
        self.assertOneInvoicePerPeriod(sub, [1])
        self.assertIn(
            "Invoice the due subscription periods", sub.account_id.activity_ids.mapped("summary")
        )

    def test_transient_database_errors_postpone_and_never_mark_failed(self):
        """A deadlock, a serialization failure or a lost connection is not the subscription's fault."""
        original = ServiceSubscription._bill_due_periods
        triggers = self.env["ir.cron.trigger"]
        cron_domain = [("cron_id", "=", self.env.ref("service_model.service_billing_cron").id)]
        failing = {}  # the error to raise while billing the unlucky subscription

        def bill(self_subs, first_sequence=1):
            if failing and failing["unlucky"] in self_subs:
                raise failing["error"]
            return original(self_subs, first_sequence)

        for error in (
            psycopg2.errors.SerializationFailure("could not serialize access"),
            psycopg2.errors.DeadlockDetected("deadlock detected"),
            psycopg2.OperationalError("server closed the connection unexpectedly"),
        ):
            with self.subTest(error=type(error).__name__):
                with freeze_time("2024-04-01"):
                    healthy = self._subs(date_start=date(2024, 4, 1))
                    unlucky = self._subs(date_start=date(2024, 4, 1))
                    (healthy | unlucky).action_activate()
                failing.update(error=error, unlucky=unlucky)
                triggers.search(cron_domain).unlink()
                with (
                    freeze_time("2025-04-01"),
                    patch.object(ServiceSubscription, "_bill_due_periods", bill),
                ):
                    done, remaining = self.env["service.subscription"]._bill_due_batch()
                    self.assertEqual((done, remaining), (1, 1))
                    self.assertFalse(unlucky.billing_error_date)
                    self.assertEqual(unlucky.next_billing_date, date(2025, 4, 1), "still due")
                    self.assertTrue(triggers.search(cron_domain), "the cron comes back for it")
                    self.assertOneInvoicePerPeriod(healthy, [1, 2])
                    failing.clear()
                    self.assertEqual(self.env["service.subscription"]._bill_due_batch(), (1, 0))
                self.assertFalse(unlucky.billing_error_date)
                self.assertOneInvoicePerPeriod(unlucky, [1, 2])

    def test_cron_call_bills_one_batch_and_reports_progress(self):
        with freeze_time("2024-04-01"):
            subs = self._subs(count=3, date_start=date(2024, 4, 1))
            subs.action_activate()
        cron = self.env.ref("service_model.service_billing_cron")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        Subscription = self.env["service.subscription"].with_context(
            ir_cron_progress_id=progress.id
        )
        with freeze_time("2025-04-01"), patch.object(subscription_module, "BILLING_BATCH_SIZE", 2):
            Subscription._cron_bill_due_periods()
            self.assertEqual((progress.done, progress.remaining), (2, 1))
            Subscription._cron_bill_due_periods()
            self.assertEqual((progress.done, progress.remaining), (1, 0))
        self.assertOneInvoicePerPeriod(subs, [1, 2])

    def test_posting_costs_a_few_queries_per_invoice(self):
        """The numbers, the customer follower and the creation message of a batch's
        invoices are worked out and written once per batch, never per invoice."""
        counts = {}
        for day, size in ((1, 2), (2, 10), (3, 30)):
            with freeze_time(date(2024, 4, day)):
                subs = self._subs(count=size, date_start=date(2024, 4, day))
                subs.action_activate()
            self.env.flush_all()
            self.env.invalidate_all()
            with freeze_time(date(2025, 4, day)):
                before = self.cr.sql_log_count
                invoices = subs._bill_due_periods(2)
                self.env.flush_all()
                self.cr.precommit.run()  # the tracking of the posted invoices
                counts[size] = self.cr.sql_log_count - before
            self.assertEqual(len(invoices), size)
            self.assertEqual(set(invoices.mapped("state")), {"posted"})
        per_invoice = (counts[30] - counts[10]) / 20
        self.assertLessEqual(per_invoice, POSTED_QUERIES_PER_INVOICE, counts)

    def test_journal_in_another_currency_is_refused(self):
        company_currency = self.company.currency_id
        other = self.env.ref("base.EUR" if company_currency.name != "EUR" else "base.USD")
        other.active = True
        with freeze_time("2024-04-01"):
            sub = self._subs(date_start=date(2024, 4, 1))
            sub.action_activate()
        self.assertEqual(_invoices(self.env, sub).currency_id, company_currency)
        self.company.service_billing_journal_id = self.env["account.journal"].create(
            {"name": "Sales in another currency", "code": "SMFX", "type": "sale",
             "currency_id": other.id, "company_id": self.company.id}
        )  # fmt: skip
        with freeze_time("2025-04-01"):
            self.env["service.subscription"]._bill_due_queue()
        self.assertOneInvoicePerPeriod(sub, [1])
        self.assertTrue(sub.billing_error_date)
        self.assertIn(f"invoices in {other.name}", sub.billing_error)
        self.assertIn(f"priced in {company_currency.name}", sub.billing_error)

    def test_invoice_names_the_subscription_and_the_property(self):
        with freeze_time("2024-04-01"):
            sub = self._subs(date_start=date(2024, 4, 1))
            sub.account_id.write({"street": "1 Quay Street", "zip": "BS1 4ST", "city": "Bristol"})
            sub.action_activate()
        invoice = _invoices(self.env, sub)
        reference = sub.account_id.property_reference
        property_label = f"{reference}, 1 Quay Street, BS1 4ST Bristol"
        self.assertEqual(invoice.invoice_origin, sub.name)
        self.assertIn(reference, sub.name)
        self.assertEqual(invoice.ref, property_label)
        self.assertEqual(
            invoice.invoice_line_ids.name,
            f"{sub.product_id.display_name} - year 1, 2024-04-01 to 2025-03-31\n"
            f"Property: {property_label}",
        )

    def test_invoice_lines_are_those_odoo_makes(self):
        """The posted invoice's product, tax and installment lines and its due dates are those
        that Odoo's own create and posting make of the same values (billing skips the second
        sync of the lines that Odoo's create runs after resetting "manually modified", and
        the one its posting runs when it writes the state)."""
        tax = self.env["account.tax"].create(
            {"name": "Service tax 20%", "amount": 20.0, "type_tax_use": "sale"}
        )
        term = self.env["account.payment.term"].create(
            {
                "name": "30% now, 70% in 30 days",
                "line_ids": [
                    Command.create({"value": "percent", "value_amount": 30.0, "nb_days": 0}),
                    Command.create({"value": "percent", "value_amount": 70.0, "nb_days": 30}),
                ],
            }
        )
        with freeze_time("2024-04-01"):
            sub = self._subs(date_start=date(2024, 4, 1))
            sub.product_id.taxes_id = tax
            sub.partner_id.property_payment_term_id = term
            sub.action_activate()
            invoice = _invoices(self.env, sub)
            line = invoice.invoice_line_ids
            by_hand = self.env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "journal_id": invoice.journal_id.id,
                    "partner_id": invoice.partner_id.id,
                    "invoice_date": invoice.invoice_date,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": line.product_id.id,
                                "name": line.name,
                                "quantity": 1.0,
                                "price_unit": line.price_unit,
                            }
                        )
                    ],
                }
            )
            by_hand.action_post()

        def lines(move):
            return sorted(
                (
                    ml.display_type,
                    ml.account_id.id,
                    ml.balance,
                    ml.amount_residual,
                    tuple(ml.tax_ids.ids),
                    ml.date_maturity,
                )
                for ml in move.line_ids
            )

        self.assertEqual(invoice.state, "posted")
        self.assertEqual(by_hand.state, "posted")
        self.assertEqual(invoice.invoice_payment_term_id, term)
        self.assertEqual(line.tax_ids, tax)
        self.assertEqual(len(invoice.line_ids), 4)  # product, tax, two installments
        self.assertEqual(lines(invoice), lines(by_hand))
        self.assertEqual(invoice.amount_total, by_hand.amount_total)
        self.assertEqual(invoice.invoice_date_due, by_hand.invoice_date_due)
        self.assertFalse(invoice.is_manually_modified)
        self.assertFalse(by_hand.is_manually_modified)

    def test_today_is_the_company_date(self):
        """At 23:30 UTC on 9 March it is already 10 March in Auckland: the company's date counts."""
        self.company.service_calendar_id.tz = "Pacific/Auckland"
        with freeze_time("2025-03-10"):
            sub = self._subs(date_start=date(2025, 3, 10))
            sub.action_activate()
        cron_env = self.env(user=self.env.ref("base.user_root"), context={})
        with freeze_time("2026-03-09 23:30:00"):
            self.assertEqual(cron_env["service.subscription"]._bill_due_queue(), 1)
            starting = self._subs(date_start=date(2026, 3, 10))
            starting.action_activate()  # its start is today in Auckland
        self.assertOneInvoicePerPeriod(sub, [1, 2])
        self.assertOneInvoicePerPeriod(starting, [1])
        # and the other way round: at 02:00 UTC on 10 March it is still 9 March in New York
        self.company.service_calendar_id.tz = "America/New_York"
        with freeze_time("2026-03-10 02:00:00"):
            later = self._subs(date_start=date(2025, 3, 10))
            with freeze_time("2025-03-10 12:00:00"):
                later.action_activate()
            self.assertEqual(cron_env["service.subscription"]._bill_due_queue(), 0)
            sub.action_cancel()
        self.assertEqual(sub.date_cancel, date(2026, 3, 9))

    # -- cancellation and re-bill ----------------------------------------------------------

    def test_cancellation_stops_future_periods(self):
        with freeze_time("2022-09-01"):
            sub = self._subs(date_start=date(2022, 9, 1), term_years=5)
            sub.action_activate()
        with freeze_time("2023-09-01"):
            sub._bill_due_queue()
        with freeze_time("2024-03-15"):
            sub.action_cancel()
        self.assertEqual(sub.state, "cancelled")
        self.assertEqual(sub.billing_period_ids.mapped("sequence"), [1, 2])
        self.assertFalse(sub.next_billing_date)
        with freeze_time("2027-09-01"):
            self.assertEqual(sub._bill_due_queue(), 0)
        self.assertOneInvoicePerPeriod(sub, [1, 2])

    def test_cancelled_invoice_is_rebilled_only_explicitly(self):
        with freeze_time("2023-05-05"):
            sub = self._subs(date_start=date(2023, 5, 5))
            sub.action_activate()
        with freeze_time("2024-05-05"):
            sub._bill_due_queue()
        period = sub.billing_period_ids.filtered(lambda p: p.sequence == 2)
        first = period.move_id
        first.button_cancel()
        self.assertEqual(period.state, "cancel")
        with freeze_time("2024-05-06"):
            self.assertEqual(sub._bill_due_queue(), 0)
        self.assertEqual(period.move_ids, first)
        with self.assertRaises(UserError):
            sub.billing_period_ids.filtered(lambda p: p.sequence == 1).action_rebill()
        finance = new_test_user(
            self.env, login="sm_finance_rebill", groups="service_model.group_finance"
        )
        period.with_user(finance).action_rebill()
        self.assertEqual(len(period.move_ids), 2)
        self.assertNotEqual(period.move_id, first)
        self.assertEqual(period.move_id.state, "posted")
        self.assertEqual(period.state, "posted")
        # the database refuses a second live invoice for the period
        with self.assertRaises(IntegrityError), self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
            first.button_draft()
            first.flush_recordset()

    def test_forecast_by_year(self):
        with freeze_time("2025-01-15"):
            subs = self._subs(count=2, date_start=date(2025, 1, 15), term_years=3, amount=250.0)
            subs.action_activate()
        groups = self.env["service.billing.period"]._read_group(
            [("subscription_id", "in", subs.ids)], ["date_start:year", "state"], ["amount:sum"]
        )
        by_year = {(year.year, state): total for year, state, total in groups}
        self.assertEqual(
            by_year, {(2025, "posted"): 500.0, (2026, "planned"): 500.0, (2027, "planned"): 500.0}
        )


def _view_spec(node, model, models):
    """The ``web_read`` specification the web client builds from the fields of a view's arch."""
    spec = {}
    for child in node:
        if child.tag != "field":
            spec.update(_view_spec(child, model, models))
            continue
        field = models[model]["fields"][child.get("name")]
        if field["type"] == "many2one":
            spec[field["name"]] = {"fields": {"display_name": {}}}
        elif field["type"] in ("one2many", "many2many"):
            spec[field["name"]] = {"fields": _view_spec(child, field["relation"], models)}
        else:
            spec[field["name"]] = {}
    return spec


def _open_form(records):
    """Open the form of ``records`` as the web client does: ``get_views`` then ``web_read``."""
    views = records.get_views([(False, "form")])
    arch = etree.fromstring(views["views"]["form"]["arch"])
    return views, records.web_read(_view_spec(arch, records._name, views["models"]))


@tagged("post_install", "-at_install")
class TestBillingRoles(BillingCase):
    """Who bills, who reads: every action as the least-privileged role that does it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cs_user = new_test_user(
            cls.env, login="sm_billing_cs", groups="service_model.group_cs_user"
        )
        cls.finance = new_test_user(
            cls.env, login="sm_billing_finance", groups="service_model.group_finance"
        )

    def _billed_sub(self):
        with freeze_time("2024-04-01"):
            sub = self._subs(date_start=date(2024, 4, 1))
            sub.with_user(self.finance).action_activate()
        return sub

    def test_cs_user_reads_subscription_schedule_and_invoice_status(self):
        sub = self._billed_sub()
        sub.account_id.write({"street": "1 Quay Street", "zip": "BS1 4ST", "city": "Bristol"})
        invoice = sub.billing_period_ids[0].move_id
        views, [values] = _open_form(sub.with_user(self.cs_user))
        # no accounting field reaches a CS user's form
        self.assertNotIn("move_id", values["billing_period_ids"][0])
        self.assertNotIn("invoice_count", values)
        self.assertNotIn("action_retry_billing", views["views"]["form"]["arch"])
        self.assertNotIn("action_rebill", views["views"]["form"]["arch"])
        year_one = values["billing_period_ids"][0]
        self.assertEqual(year_one["invoice_name"], invoice.name)
        self.assertEqual(year_one["invoice_date"], date(2024, 4, 1))
        self.assertEqual(year_one["invoice_amount_total"], invoice.amount_total)
        self.assertEqual(year_one["invoice_payment_state"], "not_paid")
        self.assertFalse(values["billing_period_ids"][1]["invoice_name"], "year 2 is planned")
        # the list of the account's subscriptions, the schedule on its own, the account's form
        Subscription = self.env["service.subscription"].with_user(self.cs_user)
        list_views = Subscription.get_views([(False, "list")])
        list_arch = etree.fromstring(list_views["views"]["list"]["arch"])
        rows = Subscription.web_search_read(
            [("account_id", "=", sub.account_id.id)],
            _view_spec(list_arch, Subscription._name, list_views["models"]),
        )
        self.assertEqual([row["id"] for row in rows["records"]], sub.ids)
        _open_form(sub.billing_period_ids[0].with_user(self.cs_user))
        account_views, [account] = _open_form(sub.account_id.with_user(self.cs_user))
        self.assertEqual(account["subscription_count"], 1)
        self.assertNotIn("action_view_service_invoices", account_views["views"]["form"]["arch"])
        # Finance sees the invoice itself and the Invoices buttons
        views, [values] = _open_form(sub.with_user(self.finance))
        self.assertEqual(values["billing_period_ids"][0]["move_id"]["id"], invoice.id)
        self.assertEqual(values["invoice_count"], 1)
        account_views, [account] = _open_form(sub.account_id.with_user(self.finance))
        self.assertIn("action_view_service_invoices", account_views["views"]["form"]["arch"])
        self.assertEqual(account["service_invoice_count"], 1)
        action = sub.account_id.with_user(self.finance).action_view_service_invoices()
        self.assertEqual(action["res_id"], invoice.id)

    def test_cs_user_cannot_bill_rebill_retry_or_change(self):
        sub = self._billed_sub()
        as_cs = sub.with_user(self.cs_user)
        with freeze_time("2025-04-01"):
            for action in ("action_bill_due_periods", "action_retry_billing", "action_cancel"):
                with self.subTest(action=action), self.assertRaises(AccessError):
                    getattr(as_cs, action)()
            with self.assertRaises(AccessError):
                as_cs.write({"amount": 1.0})
            draft = self._subs(date_start=date(2025, 4, 1))
            with self.assertRaises(AccessError):
                draft.with_user(self.cs_user).action_activate()
        period = sub.billing_period_ids[0]
        period.move_id.button_cancel()
        with self.assertRaises(AccessError):
            period.with_user(self.cs_user).action_rebill()
        self.assertEqual(period.state, "cancel")
        self.assertEqual(draft.state, "draft")

    def test_finance_bills_due_periods_and_retries(self):
        sub = self._billed_sub()
        sub.write({"billing_error": "Missing tax id", "billing_error_date": "2025-03-01 10:00:00"})
        with freeze_time("2025-04-01"):
            self.assertEqual(self.env["service.subscription"]._bill_due_queue(), 0)
            sub.with_user(self.finance).action_retry_billing()
            self.assertFalse(sub.billing_error_date)
            sub.with_user(self.finance).action_bill_due_periods()
        self.assertOneInvoicePerPeriod(sub, [1, 2])

    def _creation_message(self, invoice):
        """The creation message of ``invoice``, read by Finance: (text, links, author)."""
        messages = invoice.with_user(self.finance).message_ids.filtered(
            lambda m: "created by the billing" in m.body
        )
        self.assertEqual(len(messages), 1, invoice.name)
        body = html.fromstring(messages.body)
        links = [(a.get("data-oe-model"), int(a.get("data-oe-id"))) for a in body.iter("a")]
        return body.text_content(), links, messages.author_id

    def test_invoices_log_their_subscription_and_period(self):
        """Each invoice's creation message links its subscription and its billing period:
        in Finance's name when Finance bills, in OdooBot's when the polling cron does."""
        with freeze_time("2024-04-01"):
            subs = self._subs(count=3, date_start=date(2024, 4, 1))
            subs.with_user(self.finance).action_activate()
        cron = self.env.ref("service_model.service_billing_cron")
        with freeze_time("2025-04-01"):
            cron.method_direct_trigger()
        self.assertOneInvoicePerPeriod(subs, [1, 2])
        authors = {1: self.finance.partner_id, 2: cron.user_id.partner_id}
        self.assertEqual(cron.user_id, self.env.ref("base.user_root"))
        for sub in subs:
            for period in sub.billing_period_ids.filtered("move_id"):
                with self.subTest(sub=sub.name, year=period.sequence):
                    text, links, author = self._creation_message(period.move_id)
                    start = period.date_start
                    self.assertEqual(
                        text,
                        f"Invoice created by the billing of {sub.name} for year "
                        f"{period.sequence}, {start} to {period.date_end}.",
                    )
                    self.assertEqual(
                        links,
                        [("service.subscription", sub.id), ("service.billing.period", period.id)],
                    )
                    self.assertEqual(author, authors[period.sequence])

    def test_posted_invoices_follow_the_customer_as_odoo_posting_does(self):
        with freeze_time("2024-04-01"):
            sub = self._subs(date_start=date(2024, 4, 1))
            sub.with_user(self.finance).action_activate()
            invoice = _invoices(self.env, sub).with_user(self.finance)
            posted_by_hand = (
                self.env["account.move"]
                .with_user(self.finance)
                .create(
                    {
                        "move_type": "out_invoice",
                        "partner_id": sub.partner_id.id,
                        "invoice_line_ids": [Command.create({"name": "Visit", "price_unit": 50})],
                    }
                )
            )
            posted_by_hand.action_post()
        self.assertEqual(invoice.state, "posted")
        ours, odoos = (
            move.message_follower_ids.filtered(lambda f: f.partner_id == sub.partner_id)
            for move in (invoice, posted_by_hand)
        )
        self.assertEqual(len(ours), 1)
        self.assertEqual(ours.subtype_ids, odoos.subtype_ids)
        self.assertTrue(ours.subtype_ids)
        # nobody else follows: the system created the invoice, not the user
        self.assertEqual(invoice.message_partner_ids, sub.partner_id)

    def _tracked(self, move, field):
        """``[(old, new)]`` of ``field`` in the tracking of ``move``."""
        values = move.message_ids.sudo().tracking_value_ids.filtered(
            lambda value: value.field_id.name == field
        )
        return [(value.old_value_integer, value.new_value_integer) for value in values]

    def test_posted_invoices_are_checked_as_odoo_posting_checks(self):
        """Posting a batch sets each invoice's "Checked" from its journal's "Auto-Check on
        Post", as Odoo's posting of an invoice by hand does (value and chatter), with either
        setting."""
        for autocheck in (True, False):
            self.journal.autocheck_on_post = autocheck
            with freeze_time("2024-04-01"):
                sub = self._subs(date_start=date(2024, 4, 1))
                sub.with_user(self.finance).action_activate()
                by_hand = (
                    self.env["account.move"]
                    .with_user(self.finance)
                    .create(
                        {
                            "move_type": "out_invoice",
                            "journal_id": self.journal.id,
                            "partner_id": sub.partner_id.id,
                            "invoice_line_ids": [
                                Command.create({"name": "Visit", "price_unit": 50})
                            ],
                        }
                    )
                )
                by_hand.action_post()
                self.env.flush_all()
                self.cr.precommit.run()  # the tracking of the posted invoices
            invoice = _invoices(self.env, sub)
            self.assertEqual(invoice.state, "posted")
            self.assertEqual(invoice.checked, autocheck)
            self.assertEqual(by_hand.checked, autocheck)
            # created and posted in one transaction, neither tracks the change
            self.assertEqual(self._tracked(invoice, "checked"), self._tracked(by_hand, "checked"))

    def _calls_per_batch(self, method):
        """``{batch size: calls of account.move's method}`` while billing year 2 of a batch
        of 3 and of 12 new subscriptions (all posted, all checked)."""
        calls = {}
        AccountMove = type(self.env["account.move"])
        original = getattr(AccountMove, method)

        def counting(records, *args, **kwargs):
            calls[size] += 1
            return original(records, *args, **kwargs)

        for day, size in ((1, 3), (2, 12)):
            with freeze_time(date(2024, 4, day)):
                subs = self._subs(count=size, date_start=date(2024, 4, day))
                subs.action_activate()
            calls[size] = 0
            with freeze_time(date(2025, 4, day)), patch.object(AccountMove, method, counting):
                invoices = subs._bill_due_periods(2)
            self.assertEqual(len(invoices), size)
            self.assertEqual(set(invoices.mapped("state")), {"posted"})
            self.assertTrue(all(invoices.mapped("checked")))
        return calls

    def test_posting_writes_each_batch_not_each_invoice(self):
        """Odoo's posting assigns "Checked" invoice by invoice, a full write() each; billing
        writes it once per batch, so the writes of a batch do not grow with its size."""
        writes = self._calls_per_batch("write")
        self.assertTrue(writes[3])
        self.assertEqual(writes[3], writes[12], writes)

    def test_posting_syncs_no_line_again(self):
        """Billing a batch syncs its invoice lines when it creates them, not again for
        Odoo's reset of "manually modified" nor for posting's write of the state."""
        # _sync_tax_lines is entered by every sync of the lines that is not skipped
        syncs = self._calls_per_batch("_sync_tax_lines")
        self.assertEqual(syncs, {3: 1, 12: 1}, "one sync per batch: the create's")

    def test_companies_do_not_see_each_others_billing(self):
        sub = self._billed_sub()
        other = self.env["res.company"].create({"name": "Billing Company B"})
        finance_b = new_test_user(
            self.env,
            login="sm_billing_finance_b",
            groups="service_model.group_finance",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        Subscription = self.env["service.subscription"].with_user(finance_b)
        Period = self.env["service.billing.period"].with_user(finance_b)
        self.assertFalse(Subscription.search([("id", "=", sub.id)]))
        self.assertFalse(Period.search([("subscription_id", "=", sub.id)]))
        with self.assertRaises(AccessError):
            sub.with_user(finance_b).read(["name"])
        with self.assertRaises(AccessError):
            sub.billing_period_ids[0].with_user(finance_b).read(["amount"])
        with self.assertRaises(AccessError):
            sub.with_user(finance_b).write({"amount": 1.0})
        # company A's Finance still sees it
        self.assertEqual(
            self.env["service.subscription"].with_user(self.finance).search([("id", "=", sub.id)]),
            sub,
        )


@tagged("post_install", "-at_install")
class TestBillingCommitted(BaseCase):
    """The cron with real commits: batches that survive a crash, two workers at once.

    Data is created and committed on cursors of their own and removed in a
    class cleanup, since a TransactionCase cannot see what other connections
    commit.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.sub_ids = []
        cls.addClassCleanup(cls._cleanup)
        with cls._env() as env:
            company = env.company
            cls.saved_settings = company.read(
                [
                    "service_billing_polling",
                    "service_billing_post_invoices",
                    "service_billing_trigger",
                ]
            )[0]
            # draft invoices: the cleanup can delete them
            company.write(
                {
                    "service_billing_polling": True,
                    "service_billing_post_invoices": False,
                    "service_billing_trigger": True,
                }
            )

    @classmethod
    def _env(cls):
        stack = ExitStack()
        cr = stack.enter_context(closing(cls.registry.cursor()))

        class _Ctx:
            def __enter__(self_inner):
                return api.Environment(cr, SUPERUSER_ID, {})

            def __exit__(self_inner, exc_type, *args):
                if exc_type is None:
                    # committed data for other connections to see
                    cr.commit()  # pylint: disable=invalid-commit
                else:
                    cr.rollback()
                stack.close()

        return _Ctx()

    @classmethod
    def _cleanup(cls):
        with cls._env() as env:
            subs = env["service.subscription"].browse(cls.sub_ids).exists()
            accounts = subs.account_id
            products = subs.product_id
            partners = subs.partner_id
            env["account.move"].search(
                [("service_billing_period_id.subscription_id", "in", subs.ids)]
            ).unlink()
            subs.unlink()
            accounts.unlink()
            products.unlink()
            partners.unlink()
            saved = dict(cls.saved_settings)
            saved.pop("id")
            env.company.write(saved)

    def _make_due(self, count, start=date(2020, 3, 10)):
        with freeze_time(start), self._env() as env:
            subs = _make_billing_data(env, count, start, prefix="COMMIT")[3]
            subs.action_activate()
            type(self).sub_ids += subs.ids
            return subs.ids

    def _invoice_counts(self, sub_ids):
        """``{(subscription id, sequence): invoices}`` read on a fresh cursor."""
        with self._env() as env:
            moves = env["account.move"].search(
                [
                    ("service_billing_period_id.subscription_id", "in", sub_ids),
                    ("state", "!=", "cancel"),
                ]
            )
            counts = {}
            for move in moves:
                key = (
                    move.service_billing_period_id.subscription_id.id,
                    move.service_billing_period_id.sequence,
                )
                counts[key] = counts.get(key, 0) + 1
            return counts

    def _run_cron(self, xmlid="service_model.service_billing_cron"):
        """One cron worker's turn, through Odoo's cron framework (``ir.cron._run_job``).

        The framework calls the scheduled action, commits after each call and
        calls again, up to ten times, while the reported progress says work
        remains. Returns the completion status.
        """
        with self._env() as env:
            env.cr.execute("SELECT * FROM ir_cron WHERE id = %s", [env.ref(xmlid).id])
            job = dict(env.cr.dictfetchone(), timed_out_counter=0)
        return self.registry["ir.cron"]._run_job(job)

    def test_crash_after_first_batch_then_rerun(self):
        ids = self._make_due(6)
        original = ServiceSubscription._bill_isolated
        calls = []

        def crash_on_second_batch(self_subs, first_sequence=2):
            calls.append(len(self_subs))
            if len(calls) == 2:
                raise RuntimeError("worker killed")
            return original(self_subs, first_sequence)

        with (
            freeze_time("2023-03-10"),
            patch.object(subscription_module, "BILLING_BATCH_SIZE", 4),
        ):
            with (
                patch.object(ServiceSubscription, "_bill_isolated", crash_on_second_batch),
                mute_logger("odoo.addons.base.models.ir_cron"),
            ):
                self.assertEqual(self._run_cron(), CompletionStatus.FAILED)
            counts = self._invoice_counts(ids)
            # the framework committed the first call: 4 subscriptions x years 2..4
            self.assertEqual(sum(counts.values()), 6 + 4 * 3)
            self.assertEqual(self._run_cron(), CompletionStatus.FULLY_DONE)
        counts = self._invoice_counts(ids)
        expected = {(sub_id, seq): 1 for sub_id in ids for seq in (1, 2, 3, 4)}
        self.assertEqual(counts, expected)

    def test_two_workers_share_the_queue(self):
        """The two billing crons, each in a cron thread of its own, share one queue."""
        ids = self._make_due(24)
        original = ServiceSubscription._bill_isolated
        locked_by = {}
        barrier = threading.Barrier(2)
        errors = []

        def record_and_bill(self_subs, first_sequence=2):
            name = threading.current_thread().name
            locked_by.setdefault(name, []).extend(self_subs.ids)
            result = original(self_subs, first_sequence)
            # hold the lock a little so that the other worker meets locked rows
            threading.Event().wait(0.05)
            return result

        def worker(xmlid):
            try:
                barrier.wait(timeout=30)
                self._run_cron(xmlid)
            except Exception as error:  # reported to the main thread
                errors.append(error)

        with (
            freeze_time("2022-03-10"),
            patch.object(subscription_module, "BILLING_BATCH_SIZE", 3),
            patch.object(ServiceSubscription, "_bill_isolated", record_and_bill),
        ):
            threads = [
                threading.Thread(target=worker, args=(xmlid,), name=f"billing-worker-{n}")
                for n, xmlid in enumerate(BILLING_CRONS, start=1)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=300)
        self.assertFalse(errors)
        mine = {name: {i for i in sub_ids if i in ids} for name, sub_ids in locked_by.items()}
        self.assertEqual(len(mine), 2, "both workers billed")
        first, second = mine.values()
        self.assertTrue(first and second, "both workers billed")
        self.assertFalse(first & second, "no subscription was billed by both workers")
        self.assertEqual(first | second, set(ids))
        counts = self._invoice_counts(ids)
        self.assertEqual(counts, {(sub_id, seq): 1 for sub_id in ids for seq in (1, 2, 3)})
