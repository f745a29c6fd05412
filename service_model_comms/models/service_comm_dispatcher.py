from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.addons.service_model.models.service_job import DUE_SOON_DAYS, OPEN_STATES
from odoo.fields import Command

from ..lib import suppression
from .mail_render_mixin import BATCH_RENDER
from .service_comm_event import BATCH_SIZE

# how the records of an event model reach their service account, when not by account_id
ACCOUNT_PATHS = {"account.move": "service_billing_period_id.subscription_id.account_id"}


class ServiceCommDispatcher(models.AbstractModel):
    """Sends the events of the workflow through the matrix and the suppression rules.

    :meth:`_dispatch` is the entry point other code calls (the queue of
    events the automated actions fill, the reminder cron): it
    gathers the facts in batches, lets :func:`..lib.suppression.evaluate`
    decide, logs every decision and queues the messages. A decision already
    logged for the same event, record, stakeholder, recipient, channel and
    occurrence is never taken again.
    """

    _name = "service.comm.dispatcher"
    _description = "Communication Dispatcher"

    @api.model
    def _dispatch(self, event, records, occurrence_keys=None):
        """Decide and queue ``event`` for ``records``; return the new decisions.

        :param occurrence_keys: ``{record id: key}`` telling occurrences of one
            event on one record apart (e.g. the due date of a due-soon reminder);
            by default :meth:`_occurrence_keys`
        """
        vals_list = self._decide(event, records, occurrence_keys)
        sends = [vals for vals in vals_list if vals["outcome"] == suppression.SEND]
        self._queue_emails([vals for vals in sends if vals["channel"] == suppression.EMAIL])
        self._queue_sms([vals for vals in sends if vals["channel"] == suppression.SMS])
        # in the messages' transaction: a second run for the same key fails on the
        # unique index and queues nothing either
        return self.env["service.comm.decision"].sudo().create(vals_list)

    @api.model
    def _decide(self, event, records, occurrence_keys=None, preview=False):
        """The decision log rows ``event`` makes for ``records``, as create values.

        Writes nothing. Decisions already logged are left out, unless
        ``preview`` asks for what the rules say now whatever was logged.
        """
        records = records.sudo().exists()
        rules = self.env["service.comm.rule"].sudo().search([("event", "=", event)])
        rules = rules.filtered(lambda rule: rule._channels())
        if not records or not rules:
            return []
        if occurrence_keys is None:
            occurrence_keys = dict(
                zip(records.ids, self._occurrence_keys(event, records), strict=True)
            )
        suppressions = self.env["service.comm.suppression"].sudo().search([])
        suppression_by_code = {rule.code: rule for rule in suppressions}
        order = tuple(suppressions.mapped("code"))
        now = fields.Datetime.now()
        taken = set() if preview else self._taken_keys(event, records)
        last_sent = self._last_sent(event, records, now)
        targets = {
            record: {rule: self._stakeholder_partner(record, rule.stakeholder) for rule in rules}
            for record in records
        }
        partners = self.env["res.partner"].union(
            *(partner for by_rule in targets.values() for partner in by_rule.values())
        )
        recipients = self._recipients(partners | self._accounts(records).agency_id)
        settings_by_company = {company: self._settings(company) for company in records.company_id}
        sentences = self._reason_sentences()
        vals_list = []
        for record in records:
            account = self._accounts(record)
            facts = self._facts(record, account, recipients)
            occurrence = occurrence_keys.get(record.id, "")
            for rule, partner in targets[record].items():
                recipient = recipients.get(partner, suppression.Recipient(key=False))
                for decision in suppression.evaluate(
                    event,
                    rule.stakeholder,
                    rule._channels(),
                    recipient,
                    facts,
                    settings_by_company[record.company_id],
                    now,
                    rules=order,
                    last_sent=last_sent.get(record.id),
                ):
                    decision = self._check_template(decision, rule, record)
                    key = (
                        record.id,
                        rule.stakeholder,
                        decision.recipient.key or False,
                        decision.channel,
                        occurrence,
                    )
                    if key in taken:
                        continue
                    taken.add(key)
                    vals_list.append(
                        {
                            "event": event,
                            "res_model": record._name,
                            "res_id": record.id,
                            "occurrence_key": occurrence,
                            "account_id": account.id,
                            "job_id": record._name == "service.job" and record.id,
                            "company_id": record.company_id.id,
                            "stakeholder": rule.stakeholder,
                            "recipient_id": decision.recipient.key or False,
                            "address": decision.recipient.email
                            if decision.channel == suppression.EMAIL
                            else decision.recipient.phone,
                            "redirected_from_id": decision.params.get("redirected_from", False),
                            "channel": decision.channel,
                            "rule_id": rule.id,
                            "suppression_id": suppression_by_code.get(decision.rule_code, False)
                            and suppression_by_code[decision.rule_code].id,
                            "outcome": decision.outcome,
                            "reason_code": decision.reason_code,
                            "reason": self._reason_sentence(decision, sentences),
                            "scheduled_at": decision.scheduled_at,
                            "decided_at": now,
                        }
                    )
        return vals_list

    @api.model
    def _occurrence_keys(self, event, records):
        """What tells two occurrences of ``event`` on one record apart, per record:
        an account activated again after a suspension is a new occurrence."""
        if records._name == "service.account" and event.startswith("account_"):
            return [fields.Datetime.to_string(account.stage_date) or "" for account in records]
        if records._name == "service.offer.result":
            # eligible again after a spell of not being eligible: a new occurrence
            return [fields.Datetime.to_string(result.changed_at) or "" for result in records]
        return ["" for _record in records]

    # -- facts, in batches --------------------------------------------------------------

    @api.model
    def _accounts(self, records):
        if records._name == "service.account":
            return records
        if records._name in ACCOUNT_PATHS:
            return records.mapped(ACCOUNT_PATHS[records._name])
        if "account_id" in records._fields:
            return records.account_id
        return self.env["service.account"]

    @api.model
    def _stakeholder_partner(self, record, stakeholder):
        account = self._accounts(record)
        if stakeholder == "end_user":
            return account.end_user_id
        if stakeholder == "agency":
            return account.agency_id
        if stakeholder == "contractor":
            if "contractor_id" in record._fields and record.contractor_id:
                return record.contractor_id
            return account.contractor_id
        if stakeholder == "cs":
            if not account and record._name == "service.import":
                return record.user_id.partner_id  # whoever ran the import
            return account.cs_user_id.partner_id
        return record.company_id.service_finance_user_id.partner_id

    @api.model
    def _recipients(self, partners):
        """``{partner: Recipient}`` with E.164 numbers and blacklist flags."""
        emails = set(partners.mapped("email_normalized")) - {False}
        email_blacklist = set(
            self.env["mail.blacklist"]
            .sudo()
            .search([("email", "in", list(emails))])
            .mapped("email")
        )
        numbers = {}
        for partner in partners:
            country = (
                partner.country_id or partner.company_id.country_id or self.env.company.country_id
            )
            raw = partner.mobile or partner.phone
            numbers[partner] = (raw and partner._phone_format(number=raw, country=country)) or ""
        phone_blacklist = set(
            self.env["phone.blacklist"]
            .sudo()
            .search([("number", "in", [n for n in numbers.values() if n])])
            .mapped("number")
        )
        return {
            partner: suppression.Recipient(
                key=partner.id,
                email=partner.email_normalized or "",
                phone=numbers[partner],
                tz=partner.tz or "",
                do_not_contact=partner.comm_do_not_contact,
                email_blacklisted=partner.email_normalized in email_blacklist,
                phone_blacklisted=numbers[partner] in phone_blacklist,
            )
            for partner in partners
        }

    @api.model
    def _facts(self, record, account, recipients):
        return suppression.Facts(
            account_stage=account.stage or "",
            account_do_not_contact=account.comm_do_not_contact,
            agency_managed=account.comm_via_agency,
            agency=recipients.get(account.agency_id),
            job_auto_accepted=record._name == "service.job" and record.is_auto_accepted,
        )

    @api.model
    def _settings(self, company):
        calendar = company.service_calendar_id or company.resource_calendar_id
        return suppression.Settings(
            email_enabled=company.service_comm_email_enabled,
            sms_enabled=company.service_comm_sms_enabled,
            quiet_start=company.service_comm_quiet_start,
            quiet_end=company.service_comm_quiet_end,
            tz=calendar.tz or "UTC",
            duplicate_window_hours=company.service_comm_duplicate_window_hours,
        )

    @api.model
    def _taken_keys(self, event, records):
        rows = (
            self.env["service.comm.decision"]
            .sudo()
            .search_fetch(
                [
                    ("event", "=", event),
                    ("res_model", "=", records._name),
                    ("res_id", "in", records.ids),
                ],
                ["res_id", "stakeholder", "recipient_id", "channel", "occurrence_key"],
            )
        )
        return {
            (
                row.res_id,
                row.stakeholder,
                row.recipient_id.id,
                row.channel,
                row.occurrence_key or "",
            )
            for row in rows
        }

    @api.model
    def _last_sent(self, event, records, now):
        """``{record id: {(partner id, channel): last send}}`` within the widest window."""
        hours = max(records.company_id.mapped("service_comm_duplicate_window_hours") or [0])
        groups = (
            self.env["service.comm.decision"]
            .sudo()
            ._read_group(
                [
                    ("event", "=", event),
                    ("res_model", "=", records._name),
                    ("res_id", "in", records.ids),
                    ("outcome", "in", (suppression.SEND, suppression.DEFER)),
                    ("decided_at", ">=", now - timedelta(hours=hours)),
                ],
                ["res_id", "recipient_id", "channel"],
                ["decided_at:max"],
            )
        )
        last_sent = {}
        for res_id, partner, channel, sent_at in groups:
            last_sent.setdefault(res_id, {})[(partner.id, channel)] = sent_at
        return last_sent

    @api.model
    def _check_template(self, decision, rule, record):
        """The silence the rules cannot see: no template of the record's model."""
        if decision.outcome not in (suppression.SEND, suppression.DEFER):
            return decision
        template = (
            rule.mail_template_id if decision.channel == suppression.EMAIL else rule.sms_template_id
        )
        if template.model != record._name:
            return replace(decision, outcome=suppression.SUPPRESS, reason_code="no_template")
        return decision

    @api.model
    def _reason_sentences(self):
        """``{reason code: sentence}``, translated once per batch."""
        _ = self.env._
        return {
            "": _("All rules passed."),
            "channel_off": _("This channel is switched off in Settings."),
            "account_do_not_contact": _("The service account is marked do-not-contact."),
            "partner_do_not_contact": _("The recipient is marked do-not-contact."),
            "account_not_live": _("No message reaches the end user before the account is active."),
            "auto_accepted": _("The job was accepted automatically, not by the contractor."),
            "no_email": _("The recipient has no usable email address."),
            "no_contact": _(
                "The recipient has neither a usable phone number nor an email address."
            ),
            "no_phone_email_sent": _(
                "No usable phone number; the email of this event reaches them."
            ),
            "no_phone_fallback": _("No usable phone number: sent by email instead."),
            "email_blacklisted": _("The email address opted out of marketing messages."),
            "phone_blacklisted": _("The phone number opted out of marketing messages."),
            "duplicate": _("The same message went to this recipient on this channel recently."),
            "quiet_hours": _("Quiet hours for the recipient: held until they end."),
            "no_recipient": _("The account has no one in this role."),
            "no_template": _("The matrix has no template for this channel and event."),
        }

    @api.model
    def _reason_sentence(self, decision, sentences=None):
        """The decision's reason in words; ``sentences`` from :meth:`_reason_sentences`."""
        _ = self.env._
        sentences = sentences or self._reason_sentences()
        sentence = sentences.get(decision.reason_code, decision.reason_code)
        if decision.params.get("redirected_from"):
            sentence = _("%(sentence)s Sent to the agency for the end user.", sentence=sentence)
        if decision.params.get("fallback"):
            sentence = _("%(sentence)s Instead of an SMS.", sentence=sentence)
        return sentence

    # -- queueing ----------------------------------------------------------------------

    @api.model
    def _by_template(self, vals_list, template_field):
        """``{(template, event, stakeholder): [vals]}`` of decision values, for batch
        rendering: in a group, each record has one recipient."""
        rules = self.env["service.comm.rule"].sudo().browse({vals["rule_id"] for vals in vals_list})
        templates = {
            rule.id: rule[template_field].with_context(**{BATCH_RENDER: True}) for rule in rules
        }
        groups = defaultdict(list)
        for vals in vals_list:
            groups[(templates[vals["rule_id"]], vals["event"], vals["stakeholder"])].append(vals)
        return groups

    @api.model
    def _render_context(self, template, stakeholder, group):
        """What the templates read besides ``object``: the stakeholder type and
        ``{record id: recipient partner}`` (for ``object._service_comm_link(recipient)``)."""
        partners = self.env["res.partner"].sudo().browse([vals["recipient_id"] for vals in group])
        return template.with_context(
            comm_stakeholder=stakeholder,
            comm_recipients={
                vals["res_id"]: partner for vals, partner in zip(group, partners, strict=True)
            },
        )

    @api.model
    def _queue_emails(self, vals_list):
        """Queue one mail.mail per decision (``mail_id`` set in its values).

        Odoo's own notification pattern (``mail.thread._notify_thread_by_email``):
        the emails of one event on one record share one ``mail.message``, the
        record's chatter entry naming who was emailed, and each ``mail.mail``
        (``is_notification``) carries its recipient's own body. Sending or
        deleting an email keeps the chatter entry. Each template renders once
        per record, whatever the recipients; a template's text that differs
        between stakeholders (subject, sender) makes a message of its own.
        """
        if not vals_list:
            return
        labels = dict(
            self.env["service.comm.rule"]._fields["event"]._description_selection(self.env)
        )
        stakeholders = dict(
            self.env["service.comm.rule"]._fields["stakeholder"]._description_selection(self.env)
        )
        rendered_by_vals = []
        groups = self._by_template(vals_list, "mail_template_id")
        for (template, event, stakeholder), group in groups.items():
            rendered = (
                self._render_context(template, stakeholder, group)
                .with_context(comm_event=labels[event])
                ._generate_template(
                    list({vals["res_id"] for vals in group}),
                    (
                        "auto_delete",
                        "body_html",
                        "email_from",
                        "mail_server_id",
                        "reply_to",
                        "subject",
                    ),
                )
            )
            rendered_by_vals.extend(
                (template.model, vals, rendered[vals["res_id"]]) for vals in group
            )

        # one chatter message per record, event and message-level text
        messages = defaultdict(list)
        for model, vals, values in rendered_by_vals:
            key = (
                model,
                vals["res_id"],
                vals["event"],
                values.get("subject") or "",
                values.get("email_from") or self.env.company.email_formatted,
                values.get("reply_to") or False,
                values.get("mail_server_id") or False,
            )
            messages[key].append((vals, values))
        records = {
            model: self.env[model].sudo().browse({key[1] for key in messages if key[0] == model})
            for model in {key[0] for key in messages}
        }
        partners = (
            self.env["res.partner"].sudo().browse({vals["recipient_id"] for vals in vals_list})
        )
        names = {partner.id: partner.display_name for partner in partners}
        _ = self.env._
        message_vals_list = []
        for (
            model,
            res_id,
            _event,
            subject,
            email_from,
            reply_to,
            server,
        ), group in messages.items():
            recipients = ", ".join(
                _(
                    "%(name)s (%(stakeholder)s)",
                    name=names[vals["recipient_id"]],
                    stakeholder=stakeholders[vals["stakeholder"]],
                )
                for vals, _values in group
            )
            message_vals_list.append(
                {
                    "model": model,
                    "res_id": res_id,
                    "record_name": records[model].browse(res_id).display_name,
                    "message_type": "email_outgoing",
                    "subject": subject,
                    "body": Markup("<p>%s</p>") % _("Emailed to %s.", recipients),
                    "email_from": email_from,
                    "reply_to": reply_to,
                    "mail_server_id": server,
                }
            )
        created = self.env["mail.message"].sudo().create(message_vals_list)

        mail_vals_list = []
        ordered = []
        for message, group in zip(created, messages.values(), strict=True):
            for vals, values in group:
                body, headers = values.get("body_html"), False
                if vals["event"] in suppression.MARKETING_EVENTS:
                    body, headers = self._with_unsubscribe(body, vals["address"])
                mail_vals_list.append(
                    {
                        "mail_message_id": message.id,
                        "is_notification": True,
                        "body_html": body,
                        "headers": headers,
                        "auto_delete": values.get("auto_delete", False),
                        "recipient_ids": [Command.link(vals["recipient_id"])],
                    }
                )
                ordered.append(vals)
        for vals, mail in zip(
            ordered, self.env["mail.mail"].sudo().create(mail_vals_list), strict=True
        ):
            vals["mail_id"] = mail.id

    @api.model
    def _with_unsubscribe(self, body, email):
        """A marketing email's body with its unsubscribe link, and its
        List-Unsubscribe headers (RFC 8058 one-click)."""
        url = self.env["mail.blacklist"]._service_comm_unsubscribe_url(email)
        footer = self.env["ir.qweb"]._render(
            "service_model_comms.service_comm_unsubscribe_footer", {"url": url}
        )
        headers = {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        return f"{body or ''}{footer}", repr(headers)

    @api.model
    def _queue_sms(self, vals_list):
        """Queue one sms.sms per decision (``sms_id`` set in its values) in Odoo's SMS queue."""
        sms_vals_list = []
        ordered = []
        groups = self._by_template(vals_list, "sms_template_id")
        for (template, _event, stakeholder), group in groups.items():
            bodies = self._render_context(template, stakeholder, group)._render_field(
                "body", list({vals["res_id"] for vals in group})
            )
            for vals in group:
                sms_vals_list.append(
                    {
                        "number": vals["address"],
                        "body": bodies[vals["res_id"]],
                        "partner_id": vals["recipient_id"],
                    }
                )
                ordered.append(vals)
        for vals, sms in zip(
            ordered, self.env["sms.sms"].sudo().create(sms_vals_list), strict=True
        ):
            vals["sms_id"] = sms.id

    # -- time-based events -------------------------------------------------------------

    @api.model
    def _cron_dispatch_job_reminders(self):
        queued = self._dispatch_job_reminders()
        self.env["ir.cron"]._notify_progress(done=queued, remaining=0)

    @api.model
    def _dispatch_job_reminders(self):
        """Queue the due-soon and overdue reminders of every open job, once per
        due date; the dispatch cron then decides them batch by batch, each
        batch in its own transaction. Returns how many jobs were queued.

        The jobs are read :data:`~.service_comm_event.BATCH_SIZE` at a time and
        the cache emptied after each, so that memory does not grow with them."""
        Job = self.env["service.job"].sudo()
        Queue = self.env["service.comm.event"]
        queued = 0
        for company in self.env["res.company"].sudo().search([]):
            today = company._service_today()
            soon = today + timedelta(days=DUE_SOON_DAYS)
            for event, domain in (
                ("job_due_soon", [("due_date", ">=", today), ("due_date", "<=", soon)]),
                ("job_overdue", [("due_date", "<", today)]),
            ):
                domain = [("company_id", "=", company.id), ("state", "in", OPEN_STATES), *domain]
                last_id = 0
                while jobs := Job.search_fetch(
                    [*domain, ("id", ">", last_id)], ["due_date"], order="id", limit=BATCH_SIZE
                ):
                    Queue._enqueue(
                        event, jobs, {job.id: fields.Date.to_string(job.due_date) for job in jobs}
                    )
                    queued += len(jobs)
                    last_id = jobs[-1].id
                    self.env.invalidate_all()
        return queued

    @api.model
    def _cron_send_deferred(self):
        """Queue the SMS held for quiet hours whose time has come."""
        due = (
            self.env["service.comm.decision"]
            .sudo()
            .search(
                [
                    ("outcome", "=", suppression.DEFER),
                    ("sms_id", "=", False),
                    ("scheduled_at", "<=", fields.Datetime.now()),
                ]
            )
        )
        vals_list = [
            {
                "decision": decision,
                "event": decision.event,
                "stakeholder": decision.stakeholder,
                "rule_id": decision.rule_id.id,
                "res_id": decision.res_id,
                "recipient_id": decision.recipient_id.id,
                "address": decision.address,
            }
            for decision in due
        ]
        self._queue_sms(vals_list)
        for vals in vals_list:
            vals["decision"].sms_id = vals["sms_id"]
