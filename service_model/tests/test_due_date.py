"""The due-date engine on its own: every row of the matrix and its boundaries.

Expected dates are written out by hand (weekday in the comment), never
computed with the engine's own helpers.
"""

from datetime import date

from odoo.addons.service_model.lib import due_date as engine
from odoo.tests import BaseCase, tagged

T = date(2026, 3, 10)  # Tuesday


def policy(holidays=(), **kwargs):
    return engine.DuePolicy(
        calendar=engine.WorkingCalendar(frozenset(range(5)), frozenset(holidays)), **kwargs
    )


@tagged("post_install", "-at_install")
class TestAddMonths(BaseCase):
    def test_same_day_of_month(self):
        self.assertEqual(engine.add_months(date(2025, 6, 10), 12), date(2026, 6, 10))

    def test_31_january_plus_one_month(self):
        self.assertEqual(engine.add_months(date(2023, 1, 31), 1), date(2023, 2, 28))
        self.assertEqual(engine.add_months(date(2024, 1, 31), 1), date(2024, 2, 29))

    def test_29_february(self):
        self.assertEqual(engine.add_months(date(2024, 2, 29), 12), date(2025, 2, 28))
        self.assertEqual(engine.add_months(date(2024, 2, 29), 48), date(2028, 2, 29))

    def test_30_and_31_day_months(self):
        self.assertEqual(engine.add_months(date(2026, 3, 31), 1), date(2026, 4, 30))
        self.assertEqual(engine.add_months(date(2026, 8, 31), 1), date(2026, 9, 30))
        self.assertEqual(engine.add_months(date(2026, 9, 30), 1), date(2026, 10, 30))
        self.assertEqual(engine.add_months(date(2026, 12, 31), 2), date(2027, 2, 28))

    def test_backwards_and_year_change(self):
        self.assertEqual(engine.add_months(date(2026, 3, 10), -60), date(2021, 3, 10))
        self.assertEqual(engine.add_months(date(2026, 11, 15), 3), date(2027, 2, 15))


@tagged("post_install", "-at_install")
class TestComputeDueDate(BaseCase):
    def test_row1_nominal(self):
        due = engine.compute_due_date(date(2025, 6, 10), T, policy())
        self.assertEqual(due.due_date, date(2026, 6, 10))  # Wednesday
        self.assertEqual(due.nominal_date, date(2026, 6, 10))
        self.assertEqual(due.rule, "nominal")
        self.assertFalse(due.overdue_at_creation or due.short_notice)

    def test_row1_month_end_31_january(self):
        # 28 Feb 2027 is a Sunday: with "none" the nominal month end stays.
        due = engine.compute_due_date(
            date(2027, 1, 31), date(2027, 2, 1), policy(interval_months=1, nonworking_rule="none")
        )
        self.assertEqual(due.due_date, date(2027, 2, 28))
        due = engine.compute_due_date(
            date(2024, 1, 31), date(2024, 2, 1), policy(interval_months=1)
        )
        self.assertEqual(due.due_date, date(2024, 2, 29))  # Thursday, leap year

    def test_row1_29_february_leap_and_common_years(self):
        due = engine.compute_due_date(date(2024, 2, 29), date(2024, 3, 1), policy())
        self.assertEqual(due.due_date, date(2025, 2, 28))  # Friday, common year
        due = engine.compute_due_date(
            date(2024, 2, 29), date(2024, 3, 1), policy(interval_months=48)
        )
        self.assertEqual(due.due_date, date(2028, 2, 29))  # Tuesday, leap year

    def test_row2_saturday_each_rule(self):
        anchor = date(2025, 6, 13)  # nominal 13 Jun 2026 is a Saturday
        self.assertEqual(engine.compute_due_date(anchor, T, policy()).due_date, date(2026, 6, 12))
        self.assertEqual(engine.compute_due_date(anchor, T, policy()).rule, "moved_previous")
        nxt = engine.compute_due_date(anchor, T, policy(nonworking_rule="next"))
        self.assertEqual((nxt.due_date, nxt.rule), (date(2026, 6, 15), "moved_next"))
        none = engine.compute_due_date(anchor, T, policy(nonworking_rule="none"))
        self.assertEqual((none.due_date, none.rule), (date(2026, 6, 13), "nominal"))

    def test_row2_public_holiday(self):
        due = engine.compute_due_date(date(2025, 5, 1), T, policy(holidays=[date(2026, 5, 1)]))
        self.assertEqual(due.due_date, date(2026, 4, 30))  # Thursday before the Friday holiday
        self.assertEqual(due.nominal_date, date(2026, 5, 1))

    def test_row2_holiday_next_to_a_weekend(self):
        christmas = [date(2026, 12, 25)]  # a Friday
        # nominal Saturday 26 Dec: previous is Friday 25 (holiday), so Thursday 24
        due = engine.compute_due_date(date(2025, 12, 26), T, policy(holidays=christmas))
        self.assertEqual(due.due_date, date(2026, 12, 24))
        # nominal Friday 25 Dec with "next": Saturday, Sunday, so Monday 28
        due = engine.compute_due_date(
            date(2025, 12, 25), T, policy(holidays=christmas, nonworking_rule="next")
        )
        self.assertEqual(due.due_date, date(2026, 12, 28))

    def test_row2_moved_back_onto_today_goes_after_today(self):
        today = date(2026, 3, 13)  # Friday
        due = engine.compute_due_date(date(2025, 3, 14), today, policy())  # nominal Saturday 14 Mar
        self.assertEqual(due.due_date, date(2026, 3, 16))  # the Monday after today
        self.assertEqual(due.rule, "after_today")
        self.assertFalse(due.overdue_at_creation)
        self.assertTrue(due.short_notice)

    def test_row3_overdue_at_creation(self):
        due = engine.compute_due_date(date(2025, 3, 1), T, policy())  # nominal 1 Mar 2026, past
        self.assertEqual(due.due_date, date(2026, 3, 17))  # T + 7, a Tuesday
        self.assertTrue(due.overdue_at_creation)
        self.assertEqual(due.rule, "grace")
        self.assertFalse(due.short_notice)

    def test_row3_nominal_today_is_overdue(self):
        due = engine.compute_due_date(date(2025, 3, 10), T, policy())
        self.assertTrue(due.overdue_at_creation)
        self.assertEqual(due.due_date, date(2026, 3, 17))

    def test_row3_grace_end_on_weekend_and_holiday(self):
        saturday = date(2026, 3, 7)
        due = engine.compute_due_date(date(2025, 3, 1), saturday, policy())
        self.assertEqual(due.due_date, date(2026, 3, 16))  # Sat + 7 = Sat 14, so Monday 16
        due = engine.compute_due_date(date(2025, 3, 1), T, policy(holidays=[date(2026, 3, 17)]))
        self.assertEqual(due.due_date, date(2026, 3, 18))

    def test_row4_short_notice_boundary(self):
        at_boundary = engine.compute_due_date(
            date(2025, 3, 24), T, policy()
        )  # due Tue 24 Mar = T + 14
        self.assertEqual(at_boundary.due_date, date(2026, 3, 24))
        self.assertTrue(at_boundary.short_notice)
        past_boundary = engine.compute_due_date(date(2025, 3, 25), T, policy())  # T + 15
        self.assertFalse(past_boundary.short_notice)
        self.assertFalse(
            engine.compute_due_date(date(2025, 3, 24), T, policy(short_notice_days=13)).short_notice
        )

    def test_calendar_without_working_days(self):
        closed = engine.DuePolicy(calendar=engine.WorkingCalendar(frozenset(), frozenset()))
        with self.assertRaises(engine.CalendarError):
            engine.compute_due_date(date(2025, 6, 13), T, closed)

    def test_policy_validation(self):
        with self.assertRaises(ValueError):
            engine.DuePolicy(nonworking_rule="sideways")
        with self.assertRaises(ValueError):
            engine.DuePolicy(interval_months=0)
        with self.assertRaises(ValueError):
            engine.DuePolicy(grace_days=-1)


@tagged("post_install", "-at_install")
class TestDecideAnchor(BaseCase):
    def test_row5_future_date(self):
        self.assertEqual(engine.decide_anchor(date(2026, 3, 11), T, policy()).reason, engine.FUTURE)
        self.assertEqual(engine.decide_anchor(T, T, policy()).outcome, engine.CREATED)

    def test_row6_plausibility_boundary(self):
        self.assertEqual(
            engine.decide_anchor(date(2021, 3, 10), T, policy()).outcome, engine.CREATED
        )
        decision = engine.decide_anchor(date(2021, 3, 9), T, policy())
        self.assertEqual((decision.outcome, decision.reason), (engine.REJECTED, engine.IMPLAUSIBLE))
        self.assertEqual(
            engine.decide_anchor(date(2021, 3, 9), T, policy(plausibility_years=6)).outcome,
            engine.CREATED,
        )

    def test_row7_same_date(self):
        decision = engine.decide_anchor(
            date(2025, 6, 10),
            T,
            policy(),
            current_anchor=date(2025, 6, 10),
            open_job_state="accepted",
        )
        self.assertEqual(decision.outcome, engine.UNCHANGED)
        self.assertFalse(decision.changes_anchor)

    def test_row8_newer_date(self):
        kwargs = {"current_anchor": date(2025, 1, 10)}
        for state, outcome in (
            ("pending", engine.UPDATED),
            ("accepted", engine.UPDATED),
            ("in_progress", engine.CONFLICT),
            (None, engine.CREATED),
        ):
            decision = engine.decide_anchor(
                date(2025, 6, 10), T, policy(), open_job_state=state, **kwargs
            )
            self.assertEqual(decision.outcome, outcome, state)
            self.assertEqual(decision.due.due_date, date(2026, 6, 10))

    def test_row9_regression_and_backdating(self):
        kwargs = {"current_anchor": date(2025, 6, 10), "open_job_state": "accepted"}
        decision = engine.decide_anchor(date(2025, 5, 10), T, policy(), **kwargs)
        self.assertEqual((decision.outcome, decision.reason), (engine.REJECTED, engine.REGRESSION))
        decision = engine.decide_anchor(
            date(2025, 5, 10), T, policy(), allow_backdating=True, **kwargs
        )
        self.assertEqual(decision.outcome, engine.UPDATED)
        self.assertEqual(decision.due.due_date, date(2026, 5, 8))  # 10 May 2026 is a Sunday

    def test_row10_inactive_account(self):
        decision = engine.decide_anchor(date(2025, 6, 10), T, policy(), account_active=False)
        self.assertEqual(decision.outcome, engine.STORED)
        self.assertIsNone(decision.due)
        self.assertTrue(decision.changes_anchor)

    def test_automatic_creation_off_stores(self):
        decision = engine.decide_anchor(date(2025, 6, 10), T, policy(), create_jobs=False)
        self.assertEqual(decision.outcome, engine.STORED)
        self.assertEqual(decision.due.due_date, date(2026, 6, 10))

    def test_rejections_come_before_inactivity(self):
        decision = engine.decide_anchor(date(2026, 4, 1), T, policy(), account_active=False)
        self.assertEqual(decision.reason, engine.FUTURE)
