"""Twilio's Messages API as Odoo's SMS queue sees it: pure functions.

- :func:`signature`: the ``X-Twilio-Signature`` of a request Twilio sends to a
  webhook (HMAC-SHA1 of the URL and the sorted form fields, base64);
- :func:`sms_outcome`: an answer of the Messages API (or its absence) as the
  ``sms.sms`` state and failure type it leaves the message in;
- :func:`delivery_outcome`: a delivery report (status callback) as an ``sms.sms`` state;
- :func:`opt_out_action`: whether an inbound SMS opts its sender out or in.
"""

import base64
import hashlib
import hmac

API_URL = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
TIMEOUT = 10  # seconds; a slow provider leaves the message in error, retryable

# Twilio's own opt-out and opt-in keywords (case-insensitive, whole message)
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})

# Twilio error codes (https://www.twilio.com/docs/api/errors) -> sms.sms failure types
FAILURE_TYPES = {
    21211: "sms_number_format",  # invalid 'To' number
    21214: "sms_number_format",  # 'To' number cannot be reached
    21217: "sms_number_format",  # phone number does not appear to be valid
    21614: "sms_number_format",  # 'To' number is not a mobile number
    21408: "sms_country_not_supported",  # permission to send to this region not enabled
    21612: "sms_country_not_supported",  # cannot route to this number
    20003: "sms_acc",  # authentication failed
    20404: "sms_acc",  # account or resource not found
    21606: "sms_acc",  # 'From' number is not a valid sender of this account
    21610: "sms_blacklist",  # the recipient replied STOP
}


def signature(auth_token, url, params):
    """The ``X-Twilio-Signature`` Twilio computes for a POST of ``params`` to ``url``."""
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_valid_signature(auth_token, url, params, received):
    if not auth_token or not received:
        return False
    return hmac.compare_digest(signature(auth_token, url, params), received)


def sms_outcome(status_code, payload=None):
    """``(state, failure_type)`` of an ``sms.sms`` after Twilio answered.

    :param status_code: the HTTP status, or None when no answer came (timeout,
        connection refused)
    :param payload: the decoded JSON answer, if any
    """
    if status_code is not None and 200 <= status_code < 300:
        return "pending", False  # accepted by the provider: "Sent" until delivered
    if status_code is None or status_code >= 500 or status_code == 429:
        return "error", "sms_server"
    code = (payload or {}).get("code") if isinstance(payload, dict) else None
    return "error", FAILURE_TYPES.get(code, "unknown")


def delivery_outcome(status):
    """``(state, failure_type)`` for a delivery report's ``MessageStatus``, or None
    while the message is still on its way (queued, sending, sent)."""
    if status == "delivered":
        return "sent", False
    if status in ("undelivered", "failed"):
        return "error", "sms_not_delivered"
    return None


def opt_out_action(body):
    """``"stop"``, ``"start"`` or None for the text of an inbound SMS."""
    word = (body or "").strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None
