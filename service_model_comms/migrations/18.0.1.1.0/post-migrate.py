"""18.0.1.1.0: a template per event instead of one per model.

The matrix is ``noupdate`` data (admins edit it), so an updated database
keeps its rules, still pointing at the old shared templates, which the end of
the update deletes. Each rule on an old shared template, or on none, gets its
event's shipped template; rules an admin pointed at a template of their own
keep it.
"""

from odoo import SUPERUSER_ID, api

OLD_SHARED = (
    "service_model_comms.mail_template_account_event",
    "service_model_comms.mail_template_job_event",
    "service_model_comms.sms_template_job_event",
)


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    old = {template for xmlid in OLD_SHARED if (template := env.ref(xmlid, False))}
    for rule in env["service.comm.rule"].search([]):
        values = {}
        for field, prefix in (("mail_template_id", "mail"), ("sms_template_id", "sms")):
            if rule[field] and rule[field] not in old:
                continue
            shipped = env.ref(f"service_model_comms.{prefix}_template_{rule.event}", False)
            values[field] = shipped.id if shipped else False
        if values:
            rule.write(values)
