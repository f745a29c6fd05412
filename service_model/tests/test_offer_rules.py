"""The offer eligibility rules, without the database: each criterion passing and failing."""

from datetime import date

from odoo.tests import BaseCase, tagged

from ..lib import eligibility as rules

TODAY = date(2026, 3, 10)
STAGE_LABELS = {"draft": "Draft", "active": "Active", "suspended": "Suspended"}


@tagged("post_install", "-at_install")
class TestEligibilityRules(BaseCase):
    def test_period(self):
        self.assertTrue(rules.check_period(TODAY, None, None).passed)
        self.assertTrue(rules.check_period(TODAY, TODAY, TODAY).passed)
        check = rules.check_period(TODAY, date(2026, 4, 1), None)
        self.assertFalse(check.passed)
        self.assertEqual(check.reason, "The offer starts on 2026-04-01.")
        check = rules.check_period(TODAY, None, date(2026, 3, 9))
        self.assertEqual(check.reason, "The offer ended on 2026-03-09.")

    def test_stage(self):
        self.assertTrue(rules.check_stage("draft", frozenset()).passed)
        self.assertTrue(rules.check_stage("active", {"active"}).passed)
        check = rules.check_stage("suspended", {"active", "draft"}, STAGE_LABELS)
        self.assertFalse(check.passed)
        self.assertEqual(
            check.reason, "The account is in stage Suspended; the offer is for Draft, Active."
        )
        self.assertEqual(check.value, "suspended")

    def test_subscription_year(self):
        self.assertTrue(rules.check_subscription_year(None, 0, 0).passed)
        self.assertTrue(rules.check_subscription_year(2, 2, 3).passed)
        self.assertTrue(rules.check_subscription_year(7, 2, 0).passed)
        no_sub = rules.check_subscription_year(None, 2, 0)
        self.assertEqual(no_sub.reason, "The account has no running subscription.")
        early = rules.check_subscription_year(1, 2, 3)
        self.assertEqual(early.reason, "The subscription is in year 1; the offer starts at year 2.")
        late = rules.check_subscription_year(4, 2, 3)
        self.assertEqual(late.reason, "The subscription is in year 4; the offer ends at year 3.")

    def test_no_overdue(self):
        self.assertTrue(rules.check_no_overdue(40, False, 0).passed)
        self.assertTrue(rules.check_no_overdue(0, True, 0).passed)
        self.assertTrue(rules.check_no_overdue(30, True, 30).passed)
        check = rules.check_no_overdue(31, True, 30, date(2026, 2, 7))
        self.assertFalse(check.passed)
        self.assertEqual(
            check.reason,
            "An invoice due on 2026-02-07 is unpaid; the offer allows 30 days past due.",
        )
        self.assertEqual(check.value, "2026-02-07")

    def test_property_type(self):
        self.assertTrue(rules.check_property_type("flat", frozenset()).passed)
        self.assertTrue(rules.check_property_type("flat", {"flat", "house"}).passed)
        check = rules.check_property_type("commercial", {"house"}, {"house": "House"})
        self.assertEqual(check.reason, "The property is a commercial; the offer is for House.")

    def test_agency(self):
        self.assertTrue(rules.check_agency(None, "", (), ()).passed)
        self.assertTrue(rules.check_agency(7, "Harbour", {7}, {8}).passed)
        excluded = rules.check_agency(8, "Quay Lets", (), {8})
        self.assertEqual(excluded.reason, "The agency Quay Lets is excluded from the offer.")
        other = rules.check_agency(9, "Dock Homes", {7}, ())
        self.assertEqual(other.reason, "The agency Dock Homes is not one of the offer's agencies.")
        none = rules.check_agency(None, "", {7}, ())
        self.assertEqual(
            none.reason, "The account has no agency; the offer is for some agencies only."
        )
        self.assertTrue(rules.check_agency(None, "", (), {8}).passed)

    def test_contractor(self):
        self.assertTrue(rules.check_contractor(3, "Sparks", {3}, ()).passed)
        excluded = rules.check_contractor(4, "Volt Ltd", (), {4})
        self.assertEqual(excluded.reason, "The contractor Volt Ltd is excluded from the offer.")
        other = rules.check_contractor(5, "Amp", {3}, ())
        self.assertEqual(other.reason, "The contractor Amp is not one of the offer's contractors.")
        none = rules.check_contractor(None, "", {3}, ())
        self.assertFalse(none.passed)

    def test_domain(self):
        self.assertTrue(rules.check_domain(False, None).passed)
        self.assertTrue(rules.check_domain(True, True).passed)
        miss = rules.check_domain(True, False)
        self.assertEqual(miss.reason, "The account does not match the offer's extra conditions.")
        broken = rules.check_domain(True, None, "Invalid field 'nope'")
        self.assertEqual(
            broken.reason,
            "The offer's extra conditions cannot be evaluated: Invalid field 'nope'",
        )

    def test_evaluate_every_failed_criterion_gives_its_reason(self):
        criteria = rules.Criteria(stages=frozenset({"active"}), year_from=2, no_overdue=True)
        facts = rules.Facts(
            stage="draft", subscription_year=None, overdue_days=5, overdue_since=date(2026, 3, 5)
        )
        evaluation = rules.evaluate(criteria, facts, TODAY, labels={"stage": STAGE_LABELS})
        self.assertFalse(evaluation.eligible)
        self.assertEqual(
            [check.name for check in evaluation.checks if not check.passed],
            ["stage", "subscription_year", "no_overdue"],
        )
        ok = rules.evaluate(
            criteria,
            facts._replace(stage="active", subscription_year=2, overdue_days=0, overdue_since=None),
            TODAY,
        )
        self.assertTrue(ok.eligible)
        self.assertTrue(all(check.reason == "" for check in ok.checks))

    def test_translate_callable_gets_the_template_and_its_params(self):
        seen = []

        def translate(template, **params):
            seen.append((template, params))
            return "translated"

        check = rules.check_no_overdue(10, True, 0, date(2026, 2, 28), _=translate)
        self.assertEqual(check.reason, "translated")
        self.assertEqual(seen[0][1], {"date": "2026-02-28", "threshold": 0})

    def test_evaluator_agrees_with_evaluate_and_shares_checks(self):
        criteria = rules.Criteria(
            stages=frozenset({"active"}),
            year_to=3,
            no_overdue=True,
            overdue_days=10,
            agency_out=(8,),
            has_domain=True,
        )
        evaluator = rules.Evaluator(criteria, TODAY, labels={"stage": STAGE_LABELS})
        accounts = [
            rules.Facts("active", 2, 0, None, "house", 8, "Quay Lets", 3, "Sparks", True),
            rules.Facts("active", 2, 0, None, "flat", None, "", 3, "Sparks", True),
            rules.Facts("draft", 4, 11, date(2026, 2, 27), "flat", None, "", 4, "Volt", False),
        ]
        for facts in accounts:
            expected = rules.evaluate(criteria, facts, TODAY, labels={"stage": STAGE_LABELS})
            self.assertEqual(evaluator(facts), expected)
        first, second = evaluator(accounts[0]), evaluator(accounts[1])
        self.assertIs(first.checks[1], second.checks[1])  # the stage decided once
