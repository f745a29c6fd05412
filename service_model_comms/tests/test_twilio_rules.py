"""Twilio's signature, answers and keywords, without the database."""

from odoo.addons.service_model_comms.lib import twilio
from odoo.tests import BaseCase, tagged


@tagged("post_install", "-at_install")
class TestTwilioRules(BaseCase):
    def test_signature_of_a_webhook_request(self):
        # Twilio's algorithm (URL, then each field name and value sorted by name; HMAC-SHA1
        # with the auth token; base64), worked out once outside this code with hmac/base64
        params = {
            "CallSid": "CA1234567890ABCDE",
            "Caller": "+12349013030",
            "Digits": "1234",
            "From": "+12349013030",
            "To": "+18005551212",
        }
        url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        expected = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        self.assertEqual(twilio.signature("12345", url, params), expected)
        self.assertTrue(twilio.is_valid_signature("12345", url, params, expected))
        self.assertFalse(
            twilio.is_valid_signature("12345", url, {**params, "Digits": "9"}, expected)
        )
        self.assertFalse(twilio.is_valid_signature("", url, params, expected))
        self.assertFalse(twilio.is_valid_signature("12345", url, params, ""))

    def test_answers_become_sms_states(self):
        cases = [
            ((201, {"sid": "SM1", "status": "queued"}), ("pending", False)),
            ((200, None), ("pending", False)),
            ((500, None), ("error", "sms_server")),
            ((503, {"code": 20500}), ("error", "sms_server")),
            ((429, {"code": 20429}), ("error", "sms_server")),
            ((None, None), ("error", "sms_server")),  # timeout, no answer
            ((400, {"code": 21211}), ("error", "sms_number_format")),
            ((400, {"code": 21408}), ("error", "sms_country_not_supported")),
            ((401, {"code": 20003}), ("error", "sms_acc")),
            ((400, {"code": 21610}), ("error", "sms_blacklist")),
            ((400, {"code": 99999}), ("error", "unknown")),
            ((404, "not json"), ("error", "unknown")),
        ]
        for (status, payload), expected in cases:
            with self.subTest(status=status, payload=payload):
                self.assertEqual(twilio.sms_outcome(status, payload), expected)

    def test_delivery_reports(self):
        self.assertEqual(twilio.delivery_outcome("delivered"), ("sent", False))
        self.assertEqual(twilio.delivery_outcome("undelivered"), ("error", "sms_not_delivered"))
        self.assertEqual(twilio.delivery_outcome("failed"), ("error", "sms_not_delivered"))
        for status in ("queued", "sending", "sent", "", None):
            self.assertIsNone(twilio.delivery_outcome(status), status)

    def test_stop_and_start_keywords(self):
        for body in ("STOP", " stop ", "StopAll", "UNSUBSCRIBE", "cancel", "END", "quit"):
            self.assertEqual(twilio.opt_out_action(body), "stop", body)
        for body in ("START", "unstop", "Yes"):
            self.assertEqual(twilio.opt_out_action(body), "start", body)
        for body in ("", None, "please stop calling", "STOP NOW", "hello"):
            self.assertIsNone(twilio.opt_out_action(body), body)
