"""Suppression evaluation on its own: every rule, its reason and its order.

Expected UTC instants are written out by hand, never computed with the
function under test.
"""

from datetime import datetime

from odoo.addons.service_model_comms.lib import suppression as sup
from odoo.tests import BaseCase, tagged


def at(text):
    """A naive UTC datetime, as Odoo stores them."""
    return datetime.fromisoformat(text)


NOW = at("2026-03-10 12:00")  # a Tuesday noon
ADA = sup.Recipient(key=1, email="ada@owner.example", phone="+447700900001", tz="Europe/London")
AGENCY = sup.Recipient(key=2, email="desk@harbour.example", phone="+447700900002")
LIVE = sup.Facts(account_stage="active")


def decide(event="job_created", stakeholder="end_user", channels=("email",), **kwargs):
    kwargs.setdefault("recipient", ADA)
    kwargs.setdefault("facts", LIVE)
    kwargs.setdefault("settings", sup.Settings(tz="Europe/London"))
    kwargs.setdefault("now", NOW)
    return sup.evaluate(event, stakeholder, channels, **kwargs)


def summary(decisions):
    return [(d.channel, d.outcome, d.reason_code) for d in decisions]


@tagged("post_install", "-at_install")
class TestSuppressionRules(BaseCase):
    def test_everything_usable_sends_on_each_channel(self):
        self.assertEqual(
            summary(decide(channels=("email", "sms"))),
            [("email", "send", ""), ("sms", "send", "")],
        )

    def test_channel_switched_off(self):
        decisions = decide(channels=("email", "sms"), settings=sup.Settings(sms_enabled=False))
        self.assertEqual(
            summary(decisions), [("email", "send", ""), ("sms", "suppress", "channel_off")]
        )
        self.assertEqual(decisions[1].rule_code, sup.CHANNEL_OFF)

    def test_do_not_contact_on_account_then_partner(self):
        facts = sup.Facts(account_stage="active", account_do_not_contact=True)
        self.assertEqual(
            summary(decide(facts=facts)), [("email", "suppress", "account_do_not_contact")]
        )
        ada = sup.Recipient(key=1, email="ada@owner.example", do_not_contact=True)
        self.assertEqual(
            summary(decide(recipient=ada)), [("email", "suppress", "partner_do_not_contact")]
        )

    def test_onboarding_account_sends_nothing_to_the_end_user(self):
        facts = sup.Facts(account_stage="onboarding")
        decisions = decide(event="account_onboarding", facts=facts)
        self.assertEqual(summary(decisions), [("email", "suppress", "account_not_live")])
        self.assertEqual(decisions[0].params, {"stage": "onboarding"})
        # other stakeholders are told
        self.assertEqual(
            summary(decide(event="account_onboarding", stakeholder="agency", facts=facts)),
            [("email", "send", "")],
        )

    def test_auto_accepted_job_is_not_announced_to_its_contractor(self):
        facts = sup.Facts(account_stage="active", job_auto_accepted=True)
        self.assertEqual(
            summary(decide(event="job_accepted", stakeholder="contractor", facts=facts)),
            [("email", "suppress", "auto_accepted")],
        )
        self.assertEqual(
            summary(decide(event="job_accepted", stakeholder="cs", facts=facts)),
            [("email", "send", "")],
        )
        accepted_by_hand = sup.Facts(account_stage="active")
        self.assertEqual(
            summary(decide(event="job_accepted", stakeholder="contractor", facts=accepted_by_hand)),
            [("email", "send", "")],
        )

    def test_agency_managed_account_redirects_the_end_users_messages(self):
        facts = sup.Facts(account_stage="active", agency_managed=True, agency=AGENCY)
        (decision,) = decide(facts=facts)
        self.assertEqual((decision.outcome, decision.recipient), ("send", AGENCY))
        self.assertEqual(decision.params, {"redirected_from": 1})
        # the next rules judge the agency, not the end user
        no_mail = sup.Recipient(key=2)
        facts = sup.Facts(account_stage="active", agency_managed=True, agency=no_mail)
        (decision,) = decide(facts=facts)
        self.assertEqual((decision.outcome, decision.reason_code), ("suppress", "no_email"))

    def test_no_phone_falls_back_to_email_and_logs_both(self):
        ada = sup.Recipient(key=1, email="ada@owner.example")
        decisions = decide(channels=("sms",), recipient=ada)
        self.assertEqual(
            summary(decisions),
            [("sms", "fallback", "no_phone_fallback"), ("email", "send", "")],
        )
        self.assertEqual(decisions[1].params, {"fallback": "sms"})

    def test_no_phone_when_email_goes_anyway_is_no_second_email(self):
        ada = sup.Recipient(key=1, email="ada@owner.example")
        self.assertEqual(
            summary(decide(channels=("email", "sms"), recipient=ada)),
            [("email", "send", ""), ("sms", "suppress", "no_phone_email_sent")],
        )

    def test_no_usable_contact_at_all(self):
        nobody = sup.Recipient(key=1)
        self.assertEqual(
            summary(decide(channels=("email", "sms"), recipient=nobody)),
            [("email", "suppress", "no_email"), ("sms", "suppress", "no_contact")],
        )

    def test_nobody_in_the_role(self):
        self.assertEqual(
            summary(decide(stakeholder="agency", recipient=sup.Recipient(key=False))),
            [("email", "suppress", "no_recipient")],
        )

    def test_blacklist_stops_marketing_only(self):
        ada = sup.Recipient(
            key=1,
            email="ada@owner.example",
            phone="+447700900001",
            email_blacklisted=True,
            phone_blacklisted=True,
        )
        self.assertEqual(
            summary(decide(event="offer_eligible", channels=("email", "sms"), recipient=ada)),
            [("email", "suppress", "email_blacklisted"), ("sms", "suppress", "phone_blacklisted")],
        )
        self.assertEqual(
            summary(decide(event="job_due_soon", channels=("email",), recipient=ada)),
            [("email", "send", "")],
        )

    def test_duplicate_within_the_window_only(self):
        settings = sup.Settings(duplicate_window_hours=24)
        recent = {(1, "email"): at("2026-03-09 13:00")}  # 23 hours ago
        (decision,) = decide(settings=settings, last_sent=recent)
        self.assertEqual((decision.outcome, decision.reason_code), ("suppress", "duplicate"))
        older = {(1, "email"): at("2026-03-09 11:00")}  # 25 hours ago
        self.assertEqual(
            summary(decide(settings=settings, last_sent=older)), [("email", "send", "")]
        )
        other_channel = {(1, "sms"): at("2026-03-10 11:00")}
        self.assertEqual(summary(decide(last_sent=other_channel)), [("email", "send", "")])

    def test_rules_run_in_the_given_order_and_only_active_ones(self):
        nobody_dnc = sup.Recipient(key=1, do_not_contact=True)
        self.assertEqual(
            summary(decide(recipient=nobody_dnc)), [("email", "suppress", "partner_do_not_contact")]
        )
        order = (sup.NO_CONTACT, sup.DO_NOT_CONTACT)
        self.assertEqual(
            summary(decide(recipient=nobody_dnc, rules=order)), [("email", "suppress", "no_email")]
        )
        self.assertEqual(summary(decide(recipient=nobody_dnc, rules=())), [("email", "send", "")])


@tagged("post_install", "-at_install")
class TestQuietHours(BaseCase):
    settings = sup.Settings(quiet_start=21.0, quiet_end=8.0, tz="Europe/London")

    def sms_at(self, now, recipient=ADA):
        (decision,) = decide(
            channels=("sms",), recipient=recipient, settings=self.settings, now=now
        )
        return decision

    def test_outside_quiet_hours_sends(self):
        self.assertEqual(self.sms_at(at("2026-01-14 12:00")).outcome, "send")

    def test_evening_defers_to_next_morning_across_midnight(self):
        decision = self.sms_at(at("2026-01-14 22:30"))  # 22:30 GMT
        self.assertEqual((decision.outcome, decision.reason_code), ("defer", "quiet_hours"))
        self.assertEqual(decision.scheduled_at, at("2026-01-15 08:00"))

    def test_early_morning_defers_to_the_same_morning(self):
        decision = self.sms_at(at("2026-01-15 05:00"))
        self.assertEqual(decision.scheduled_at, at("2026-01-15 08:00"))

    def test_email_is_never_deferred(self):
        (decision,) = decide(settings=self.settings, now=at("2026-01-14 22:30"))
        self.assertEqual(decision.outcome, "send")

    def test_spring_forward_night_ends_an_hour_earlier_in_utc(self):
        # clocks go forward on 29 March 2026 at 01:00 UTC: 08:00 BST is 07:00 UTC
        decision = self.sms_at(at("2026-03-28 23:00"))
        self.assertEqual(decision.scheduled_at, at("2026-03-29 07:00"))

    def test_autumn_back_night_ends_at_eight_gmt(self):
        # clocks go back on 25 October 2026 at 01:00 UTC: 22:00 BST is 21:00 UTC
        decision = self.sms_at(at("2026-10-24 21:00"))
        self.assertEqual(decision.scheduled_at, at("2026-10-25 08:00"))

    def test_recipient_timezone_first_then_the_company(self):
        tokyo = sup.Recipient(key=3, phone="+81300000000", tz="Asia/Tokyo")
        # 12:00 UTC is 21:00 in Tokyo: quiet until 08:00 JST, 23:00 UTC
        decision = self.sms_at(at("2026-01-14 12:00"), recipient=tokyo)
        self.assertEqual(decision.scheduled_at, at("2026-01-14 23:00"))
        no_tz = sup.Recipient(key=4, phone="+447700900004")
        self.assertEqual(self.sms_at(at("2026-01-14 22:30"), no_tz).outcome, "defer")

    def test_daytime_quiet_period(self):
        self.assertEqual(
            sup.quiet_hours_end(at("2026-01-14 13:00"), 12.5, 14.0, "UTC"),
            at("2026-01-14 14:00"),
        )
        self.assertIsNone(sup.quiet_hours_end(at("2026-01-14 14:00"), 12.5, 14.0, "UTC"))
        self.assertIsNone(sup.quiet_hours_end(at("2026-01-14 14:00"), 9.0, 9.0, "UTC"))
