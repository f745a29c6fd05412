from collections import defaultdict

from markupsafe import escape

from odoo import models
from odoo.tools.mail import generate_tracking_message_id

# Context key holding the tracking logs of one _message_track call while they
# are collected.
TRACKING_BUFFER = "service_tracking_buffer"


class ServiceBatchTrackingMixin(models.AbstractModel):
    """Field tracking of many records logged in one batch.

    ``mail.thread`` logs the tracking values of each record with a
    ``mail.message`` create of its own (``_message_track`` calls
    ``_message_log`` record by record). An import or a batch of jobs changes a
    tracked field on thousands of records at once and would pay that
    thousands of times. Here the logs of one ``_message_track`` call are
    collected and created in one ``mail.message`` create, with the same
    values Odoo gives them (a note, one message per record, its own tracking
    values). Tracking that posts with a subtype (``message_post``, which
    notifies followers) keeps Odoo's own path.

    It extends ``mail.thread``, so that its methods come first.
    """

    _name = "service.batch.tracking.mixin"
    _inherit = ["mail.thread"]
    _description = "Batched Field Tracking"

    def _message_track(self, fields_iter, initial_values_dict):
        if len(self) < 2 or self.env.context.get(TRACKING_BUFFER) is not None:
            return super()._message_track(fields_iter, initial_values_dict)
        logs = []
        collecting = self.with_context(**{TRACKING_BUFFER: logs})
        tracking = super(ServiceBatchTrackingMixin, collecting)._message_track(
            fields_iter, initial_values_dict
        )
        self._message_log_tracking(logs)
        return tracking

    def _message_log(
        self,
        *,
        body="",
        subject=False,
        author_id=None,
        email_from=None,
        message_type="notification",
        partner_ids=False,
        attachment_ids=False,
        tracking_value_ids=False,
    ):
        logs = self.env.context.get(TRACKING_BUFFER)
        plain_tracking = tracking_value_ids and message_type == "notification"
        extras = subject or email_from or partner_ids or attachment_ids
        if logs is None or not plain_tracking or extras:
            return super()._message_log(
                body=body,
                subject=subject,
                author_id=author_id,
                email_from=email_from,
                message_type=message_type,
                partner_ids=partner_ids,
                attachment_ids=attachment_ids,
                tracking_value_ids=tracking_value_ids,
            )
        self.ensure_one()
        logs.append((self.id, body, author_id, tracking_value_ids))
        return self.env["mail.message"]

    def _message_log_tracking(self, logs):
        """Create the collected tracking logs ``[(res_id, body, author_id,
        tracking values)]``, one message each, in one create per author."""
        by_author = defaultdict(list)
        for res_id, body, author_id, tracking_value_ids in logs:
            by_author[author_id].append((res_id, body, tracking_value_ids))
        note = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        for author_id, entries in by_author.items():
            author, email_from = self._message_compute_author(author_id, None, raise_on_email=False)
            reply_to = self.env["mail.thread"]._notify_get_reply_to(default=email_from)[False]
            messages = self.sudo()._message_create(
                [
                    {
                        "author_id": author,
                        "email_from": email_from,
                        "model": self._name,
                        "res_id": res_id,
                        "record_alias_domain_id": False,
                        "record_company_id": False,
                        "record_name": False,
                        "message_type": "notification",
                        "is_internal": True,
                        "subject": False,
                        "subtype_id": note,
                        "body": escape(body or ""),
                        "email_add_signature": False,
                        "message_id": generate_tracking_message_id("message-notify"),
                        "partner_ids": False,
                        "reply_to": reply_to,
                    }
                    for res_id, body, _tracking in entries
                ]
            )
            # the values in one create too: as commands of each message, the
            # ORM would insert them message by message
            self.env["mail.tracking.value"].sudo().create(
                [
                    dict(values, mail_message_id=message.id)
                    for message, (_res_id, _body, commands) in zip(messages, entries, strict=True)
                    for _zero, _id, values in commands
                ]
            )
