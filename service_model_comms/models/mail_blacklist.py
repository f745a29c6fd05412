from urllib.parse import urlencode

from odoo import api, models
from odoo.tools import consteq
from odoo.tools.misc import hmac

UNSUBSCRIBE_SCOPE = "service_model_comms.unsubscribe"


class MailBlacklist(models.Model):
    """The unsubscribe link of marketing emails: signed per address, so that a
    recipient blacklists their own address and nobody else's (``mail`` has no
    such route without ``mass_mailing``)."""

    _inherit = "mail.blacklist"

    @api.model
    def _service_comm_unsubscribe_token(self, email):
        return hmac(self.env(su=True), UNSUBSCRIBE_SCOPE, email)

    @api.model
    def _service_comm_unsubscribe_url(self, email):
        query = urlencode({"email": email, "token": self._service_comm_unsubscribe_token(email)})
        return f"{self.get_base_url()}/service_comm/unsubscribe?{query}"

    @api.model
    def _service_comm_check_unsubscribe_token(self, email, token):
        return bool(email and token) and consteq(self._service_comm_unsubscribe_token(email), token)

    @api.model
    def _service_comm_unsubscribe(self, email, token):
        """Blacklist ``email`` when ``token`` is its signature; return whether it did."""
        if not self._service_comm_check_unsubscribe_token(email, token):
            return False
        self.sudo()._add(
            email, message=self.env._("Unsubscribed through a marketing email's link.")
        )
        return True
