from datetime import date
from itertools import pairwise

from odoo.addons.service_model.lib import billing_schedule as bs
from odoo.tests import BaseCase, tagged


@tagged("post_install", "-at_install")
class TestBillingSchedule(BaseCase):
    """The billing schedule rule, with plain dates: no database."""

    def assertSchedule(self, start, expected):
        """``expected`` lists (period start, period end) for periods 1..len(expected)."""
        got = [(p.date_start, p.date_end) for p in bs.schedule(start, 0, expected[-1][0])]
        self.assertEqual(got, expected)
        for sequence, (first, last) in enumerate(expected, start=1):
            self.assertEqual(bs.period_start(start, sequence), first)
            self.assertEqual(bs.period_end(start, sequence), last)

    def test_schedule_29_february_over_six_years(self):
        self.assertSchedule(
            date(2024, 2, 29),
            [
                (date(2024, 2, 29), date(2025, 2, 27)),
                (date(2025, 2, 28), date(2026, 2, 27)),
                (date(2026, 2, 28), date(2027, 2, 27)),
                (date(2027, 2, 28), date(2028, 2, 28)),
                # leap year again: back on 29 February, no drift
                (date(2028, 2, 29), date(2029, 2, 27)),
                (date(2029, 2, 28), date(2030, 2, 27)),
            ],
        )

    def test_schedule_31_january_over_six_years(self):
        self.assertSchedule(
            date(2025, 1, 31),
            [(date(y, 1, 31), date(y + 1, 1, 30)) for y in range(2025, 2031)],
        )

    def test_schedule_31_december_over_six_years(self):
        self.assertSchedule(
            date(2024, 12, 31),
            [(date(y, 12, 31), date(y + 1, 12, 30)) for y in range(2024, 2030)],
        )

    def test_schedule_ordinary_date_over_six_years(self):
        self.assertSchedule(
            date(2025, 6, 15),
            [(date(y, 6, 15), date(y + 1, 6, 14)) for y in range(2025, 2031)],
        )

    def test_periods_are_contiguous(self):
        for start in (date(2024, 2, 29), date(2023, 3, 1), date(2025, 1, 31)):
            periods = bs.schedule(start, 0, date(2060, 12, 31))
            self.assertEqual(periods[0].date_start, start)
            for previous, following in pairwise(periods):
                self.assertEqual((following.date_start - previous.date_end).days, 1)
                self.assertEqual(following.sequence, previous.sequence + 1)

    def test_sequence_starts_at_one(self):
        with self.assertRaises(ValueError):
            bs.period_start(date(2025, 1, 1), 0)
        with self.assertRaises(ValueError):
            bs.period_count(-1)

    def test_period_count(self):
        self.assertEqual(bs.period_count(5), 5)
        self.assertIsNone(bs.period_count(0))

    def test_periods_started_by(self):
        start = date(2024, 2, 29)
        self.assertEqual(bs.periods_started_by(start, date(2024, 2, 28)), 0)
        self.assertEqual(bs.periods_started_by(start, date(2024, 2, 29)), 1)
        self.assertEqual(bs.periods_started_by(start, date(2025, 2, 27)), 1)
        self.assertEqual(bs.periods_started_by(start, date(2025, 2, 28)), 2)
        self.assertEqual(bs.periods_started_by(start, date(2028, 2, 28)), 4)
        self.assertEqual(bs.periods_started_by(start, date(2028, 2, 29)), 5)
        self.assertEqual(bs.periods_started_by(start, date(2124, 2, 29)), 101)

    def test_due_periods_catch_up_from_what_is_billed(self):
        start = date(2020, 3, 10)
        due = bs.due_periods(start, 0, date(2025, 3, 10), billed_up_to=1)
        self.assertEqual([p.sequence for p in due], [2, 3, 4, 5, 6])
        self.assertEqual(due[-1].date_start, date(2025, 3, 10))
        # the day before the anniversary, year 6 is not due yet
        due = bs.due_periods(start, 0, date(2025, 3, 9), billed_up_to=1)
        self.assertEqual([p.sequence for p in due], [2, 3, 4, 5])
        self.assertEqual(bs.due_periods(start, 0, date(2025, 3, 9), billed_up_to=5), [])

    def test_term_end_stops_billing(self):
        start = date(2020, 1, 1)
        due = bs.due_periods(start, 3, date(2030, 1, 1))
        self.assertEqual([p.sequence for p in due], [1, 2, 3])
        self.assertEqual(bs.last_billable_sequence(start, 3, date(2030, 1, 1)), 3)
        self.assertIsNone(bs.next_billing_date(start, 3, 3))
        self.assertEqual(bs.next_billing_date(start, 3, 2), date(2022, 1, 1))

    def test_term_zero_bills_until_cancelled(self):
        start = date(2000, 5, 1)
        self.assertEqual(bs.last_billable_sequence(start, 0, date(2030, 5, 1)), 31)
        self.assertEqual(bs.next_billing_date(start, 0, 31), date(2031, 5, 1))

    def test_cancellation_stops_future_periods(self):
        start = date(2020, 1, 1)
        cancel = date(2022, 6, 30)
        due = bs.due_periods(start, 0, date(2030, 1, 1), date_cancel=cancel)
        self.assertEqual([p.sequence for p in due], [1, 2, 3])
        self.assertIsNone(bs.next_billing_date(start, 0, 3, date_cancel=cancel))
        # a period starting on the cancellation day itself has started: it stays due
        self.assertEqual(
            bs.last_billable_sequence(start, 0, date(2030, 1, 1), date_cancel=date(2023, 1, 1)),
            4,
        )

    def test_first_open_date(self):
        self.assertEqual(bs.first_open_date(date(2025, 3, 1), None), date(2025, 3, 1))
        self.assertEqual(bs.first_open_date(date(2025, 3, 1), date(2025, 2, 28)), date(2025, 3, 1))
        self.assertEqual(bs.first_open_date(date(2025, 3, 1), date(2025, 3, 31)), date(2025, 4, 1))
        self.assertEqual(bs.first_open_date(date(2025, 3, 31), date(2025, 3, 31)), date(2025, 4, 1))
