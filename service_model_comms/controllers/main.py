import logging

from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.http import request

from ..lib import twilio
from ..models.sms_sms import PARAM_TWILIO_TOKEN

_logger = logging.getLogger(__name__)


class ServiceCommController(http.Controller):
    """What recipients send back: the unsubscribe link of marketing emails and
    Twilio's inbound SMS (STOP / START replies)."""

    @http.route(
        "/service_comm/unsubscribe",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,  # the signed token authenticates; mail clients' one-click POST has no session
        sitemap=False,
    )
    def unsubscribe(self, email="", token="", **post):
        """GET: a page asking to confirm (link scanners must not unsubscribe anyone);
        POST: the confirmation or a mail client's one-click unsubscribe (RFC 8058)."""
        Blacklist = request.env["mail.blacklist"].sudo()
        if not Blacklist._service_comm_check_unsubscribe_token(email, token):
            raise Forbidden()
        done = request.httprequest.method == "POST" and Blacklist._service_comm_unsubscribe(
            email, token
        )
        return request.render(
            "service_model_comms.service_comm_unsubscribe_page",
            {"email": email, "token": token, "done": done},
        )

    @http.route(
        "/service_comm/twilio/inbound",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,  # Twilio signs its requests (X-Twilio-Signature)
        sitemap=False,
    )
    def twilio_inbound(self, **params):
        """An SMS sent to our Twilio number: STOP words blacklist the sender's
        number, START words lift it. Refused unless Twilio signed it."""
        self._check_twilio_signature(params)
        number = params.get("From", "")
        action = twilio.opt_out_action(params.get("Body"))
        Blacklist = request.env["phone.blacklist"].sudo()
        if number and action == "stop":
            Blacklist._add([number], message=request.env._("Replied STOP to an SMS."))
        elif number and action == "start":
            Blacklist._remove([number], message=request.env._("Replied START to an SMS."))
        return request.make_response(
            "<?xml version='1.0' encoding='UTF-8'?><Response/>",
            headers=[("Content-Type", "text/xml")],
        )

    @http.route(
        "/service_comm/twilio/status",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,  # Twilio signs its requests (X-Twilio-Signature)
        sitemap=False,
    )
    def twilio_status(self, **params):
        """Twilio's delivery report of a message we sent (its StatusCallback)."""
        self._check_twilio_signature(params)
        sid = params.get("MessageSid")
        if sid:
            messages = request.env["sms.sms"].sudo().search([("service_twilio_sid", "=", sid)])
            messages._service_twilio_status(params.get("MessageStatus"))
        return request.make_response("", status=204)

    def _check_twilio_signature(self, params):
        token = request.env["ir.config_parameter"].sudo().get_param(PARAM_TWILIO_TOKEN)
        received = request.httprequest.headers.get("X-Twilio-Signature", "")
        if not twilio.is_valid_signature(token, request.httprequest.url, params, received):
            _logger.warning("Twilio request refused: bad or missing signature")
            raise Forbidden()
