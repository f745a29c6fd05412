"""Twilio behind Odoo's SMS queue, the opt-out routes, as the roles use them.
Only the HTTP call to Twilio is mocked."""

from datetime import date
from unittest.mock import patch
from urllib.parse import urlencode

import requests

from odoo.addons.service_model.tests.common import NOW, ServiceModelCommon
from odoo.addons.service_model_comms.lib import twilio
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-secret-token"
POST = "odoo.addons.service_model_comms.models.sms_sms.requests.post"


class FakeResponse:
    def __init__(self, status_code, payload=None):
        self.status_code = status_code
        self._payload = payload

    def json(self):
        if self._payload is None:
            raise ValueError("no JSON")
        return self._payload


class TwilioCommon(ServiceModelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.service_admin = new_test_user(
            cls.env, login="sm_twilio_admin", groups="service_model.group_service_admin"
        )
        # a Service Administrator, not an Odoo administrator, picks Twilio in Settings
        cls.env["res.config.settings"].with_user(cls.service_admin).create(
            {
                "service_sms_provider": "twilio",
                "service_twilio_account_sid": SID,
                "service_twilio_auth_token": TOKEN,
                "service_twilio_from_number": "+441234567890",
            }
        ).execute()


@tagged("post_install", "-at_install")
class TestTwilioProvider(TwilioCommon):
    def _sms(self, number="+447911123456"):
        return self.env["sms.sms"].create({"number": number, "body": "Your visit is due."})

    def test_service_admin_sets_twilio_cs_cannot_read_the_token(self):
        params = self.env["ir.config_parameter"].sudo()
        self.assertEqual(params.get_param("service_model_comms.sms_provider"), "twilio")
        self.assertEqual(params.get_param("service_model_comms.twilio_auth_token"), TOKEN)
        shown = self.env["res.config.settings"].with_user(self.service_admin).create({})
        self.assertEqual(shown.service_twilio_account_sid, SID)
        with self.assertRaises(AccessError):
            self.env["ir.config_parameter"].with_user(self.cs_user).search(
                [("key", "=", "service_model_comms.twilio_auth_token")]
            ).read(["value"])
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.cs_user).create({}).read(
                ["service_twilio_auth_token"]
            )

    def test_accepted_message_is_sent_through_twilio(self):
        sms = self._sms()
        with patch(POST, return_value=FakeResponse(201, {"sid": "SM1"})) as post:
            self.env["sms.sms"]._process_queue()
        post.assert_called_once()
        args, kwargs = post.call_args
        self.assertEqual(args[0], twilio.API_URL.format(sid=SID))
        self.assertEqual(
            kwargs["data"],
            {
                "To": "+447911123456",
                "From": "+441234567890",
                "Body": "Your visit is due.",
                "StatusCallback": f"{sms.get_base_url()}/service_comm/twilio/status",
            },
        )
        self.assertEqual(sms.service_twilio_sid, "SM1")
        self.assertEqual(kwargs["auth"], (SID, TOKEN))
        self.assertTrue(kwargs["timeout"])
        self.assertEqual((sms.state, sms.failure_type), ("pending", False))

    def test_a_provider_error_keeps_the_message_in_error_and_retryable(self):
        cases = [
            (FakeResponse(500), "sms_server"),
            (requests.exceptions.Timeout("read timed out"), "sms_server"),
            (requests.exceptions.ConnectionError("refused"), "sms_server"),
            (FakeResponse(400, {"code": 21211, "message": "Invalid 'To'"}), "sms_number_format"),
            (FakeResponse(401, {"code": 20003}), "sms_acc"),
        ]
        for answer, failure_type in cases:
            with self.subTest(failure_type=failure_type, answer=repr(answer)):
                sms = self._sms()
                mock = {"side_effect": answer} if isinstance(answer, Exception) else {}
                with patch(POST, return_value=answer, **mock):
                    self.env["sms.sms"]._process_queue(ids=sms.ids)
                self.assertTrue(sms.exists())
                self.assertEqual((sms.state, sms.failure_type), ("error", failure_type))
                self.assertFalse(sms.to_delete)
                # Odoo's own "Retry" sends it once the provider is back
                with patch(POST, return_value=FakeResponse(201, {"sid": "SM2"})):
                    sms.resend_failed()
                self.assertEqual(sms.state, "pending")

    @freeze_time(NOW)
    def test_a_provider_error_on_a_reminder_stays_visible_in_the_log(self):
        texting = self.env["res.partner"].create(
            {"name": "Tom Tenant", "email": "tom@tenant.example", "mobile": "+447911123456"}
        )
        account = self._activate(self._create_account("P-T01", end_user_id=texting.id))
        account.last_service_date = date(2025, 3, 13)
        self.company.service_comm_quiet_start = self.company.service_comm_quiet_end = 0.0
        decisions = self.env["service.comm.dispatcher"]._dispatch(
            "job_due_soon", account.open_job_id
        )
        sms_decision = decisions.filtered(lambda d: d.channel == "sms" and d.outcome == "send")
        with patch(POST, return_value=FakeResponse(503)):
            self.env["sms.sms"]._process_queue()
        self.assertEqual(sms_decision.sms_id.state, "error")
        self.assertEqual(sms_decision.with_user(self.cs_user).delivery_state, "error")


@tagged("post_install", "-at_install")
class TestOptOutRoutes(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("service_model_comms.sms_provider", "twilio")
        params.set_param("service_model_comms.twilio_auth_token", TOKEN)

    def _inbound(self, body, number="+447911123456", signature=None):
        url = f"{self.base_url()}/service_comm/twilio/inbound"
        data = {"From": number, "To": "+441234567890", "Body": body, "MessageSid": "SM9"}
        headers = {"X-Twilio-Signature": signature or twilio.signature(TOKEN, url, data)}
        return self.url_open(url, data=data, headers=headers)

    def _blacklisted(self, number="+447911123456"):
        return bool(self.env["phone.blacklist"].search([("number", "=", number)]))

    def test_stop_reply_blacklists_the_number_start_lifts_it(self):
        response = self._inbound("Stop")
        self.assertEqual(response.status_code, 200)
        self.assertIn("<Response/>", response.text)
        self.assertTrue(self._blacklisted())
        self._inbound("hello")  # any other text changes nothing
        self.assertTrue(self._blacklisted())
        self._inbound("START")
        self.assertFalse(self._blacklisted())

    def test_a_bad_signature_is_refused(self):
        response = self._inbound("STOP", signature="bm90IFR3aWxpbw==")
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self._blacklisted())
        url = f"{self.base_url()}/service_comm/twilio/inbound"
        response = self.url_open(url, data={"From": "+447911123456", "Body": "STOP"})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self._blacklisted())

    def test_delivery_reports_update_the_message(self):
        delivered, failed = self.env["sms.sms"].create(
            [
                {"number": "+447911123456", "body": "A", "state": "pending"},
                {"number": "+447911123457", "body": "B", "state": "pending"},
            ]
        )
        delivered.service_twilio_sid, failed.service_twilio_sid = "SMok", "SMko"
        url = f"{self.base_url()}/service_comm/twilio/status"
        for sid, status in (("SMok", "sent"), ("SMok", "delivered"), ("SMko", "undelivered")):
            data = {"MessageSid": sid, "MessageStatus": status}
            headers = {"X-Twilio-Signature": twilio.signature(TOKEN, url, data)}
            self.assertEqual(self.url_open(url, data=data, headers=headers).status_code, 204)
        self.assertEqual(delivered.state, "sent")
        self.assertEqual((failed.state, failed.failure_type), ("error", "sms_not_delivered"))
        forged = {"MessageSid": "SMok", "MessageStatus": "failed"}
        response = self.url_open(url, data=forged, headers={"X-Twilio-Signature": "AAAA"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(delivered.state, "sent")

    def test_unsubscribe_link_blacklists_the_address_only_with_its_signature(self):
        Blacklist = self.env["mail.blacklist"]
        url = Blacklist._service_comm_unsubscribe_url("ada@owner.example")
        # opening the link asks; it does not unsubscribe (mail scanners open links)
        page = self.url_open(url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Unsubscribe from offers?", page.text)
        self.assertFalse(Blacklist.search([("email", "=", "ada@owner.example")]))
        forged = "/service_comm/unsubscribe?" + urlencode(
            {"email": "bob@owner.example", "token": url.rsplit("token=", 1)[1]}
        )
        self.assertEqual(self.url_open(forged, data={}).status_code, 403)
        # the mail client's one-click POST (or the page's button)
        done = self.url_open(url, data={"List-Unsubscribe": "One-Click"})
        self.assertEqual(done.status_code, 200)
        self.assertIn("You are unsubscribed", done.text)
        self.assertTrue(Blacklist.search([("email", "=", "ada@owner.example")]))
        self.assertFalse(Blacklist.search([("email", "=", "bob@owner.example")]))
