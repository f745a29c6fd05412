import logging
from collections import defaultdict

import requests

from odoo import fields, models

from ..lib import twilio

_logger = logging.getLogger(__name__)

PARAM_PROVIDER = "service_model_comms.sms_provider"
PARAM_TWILIO_SID = "service_model_comms.twilio_account_sid"
PARAM_TWILIO_TOKEN = "service_model_comms.twilio_auth_token"
PARAM_TWILIO_FROM = "service_model_comms.twilio_from_number"


class SmsSms(models.Model):
    """Odoo's SMS queue, sent through Twilio when Settings choose it.

    Only the provider call changes: the queue, its cron, the states and the
    "Retry" of failed messages stay Odoo's. A provider error (an answer other
    than 2xx, a timeout) leaves the message in error with its failure type,
    visible and retryable; nothing is lost.
    """

    _inherit = "sms.sms"

    failure_type = fields.Selection(selection_add=[("sms_not_delivered", "Not Delivered")])
    service_twilio_sid = fields.Char(
        string="Twilio Message SID", readonly=True, copy=False, index="btree_not_null"
    )

    def _service_twilio_credentials(self):
        """``(account sid, auth token, sender)`` when Twilio is the provider, else None."""
        params = self.env["ir.config_parameter"].sudo()
        if params.get_param(PARAM_PROVIDER, "iap") != "twilio":
            return None
        return (
            params.get_param(PARAM_TWILIO_SID, ""),
            params.get_param(PARAM_TWILIO_TOKEN, ""),
            params.get_param(PARAM_TWILIO_FROM, ""),
        )

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        credentials = self._service_twilio_credentials()
        if credentials is None:
            return super()._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        sid, token, sender = credentials
        status_url = f"{self.get_base_url()}/service_comm/twilio/status"
        outcomes = defaultdict(lambda: self.browse())
        for sms in self:
            try:
                response = requests.post(
                    twilio.API_URL.format(sid=sid),
                    data={
                        "To": sms.number,
                        "From": sender,
                        "Body": sms.body or "",
                        "StatusCallback": status_url,
                    },
                    auth=(sid, token),
                    timeout=twilio.TIMEOUT,
                )
            except requests.exceptions.RequestException as error:
                _logger.info("Twilio: SMS %s not sent: %s", sms.id, error)
                if raise_exception:
                    raise
                outcomes[twilio.sms_outcome(None)] |= sms
                continue
            try:
                payload = response.json()
            except ValueError:
                payload = None
            outcome = twilio.sms_outcome(response.status_code, payload)
            if outcome[0] == "error":
                _logger.info(
                    "Twilio: SMS %s refused (%s): %s", sms.id, response.status_code, payload
                )
            elif isinstance(payload, dict) and payload.get("sid"):
                # the delivery report (status callback) names the message by it
                sms.sudo().service_twilio_sid = payload["sid"]
            outcomes[outcome] |= sms
        for (state, failure_type), messages in outcomes.items():
            messages = messages.sudo().with_context(sms_skip_msg_notification=True)
            messages._update_sms_state_and_trackers(state, failure_type=failure_type)
            if (state == "error" and unlink_failed) or (state != "error" and unlink_sent):
                messages.to_delete = True
        self.sudo().mail_message_id._notify_message_notification_update()

    def _service_twilio_status(self, status):
        """Twilio's delivery report ``status`` for these messages."""
        outcome = twilio.delivery_outcome(status)
        if outcome:
            self.sudo()._update_sms_state_and_trackers(outcome[0], failure_type=outcome[1])
