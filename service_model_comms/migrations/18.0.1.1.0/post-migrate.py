"""18.0.1.1.0: a template per event instead of one per model.

The matrix is ``noupdate`` data (admins edit it), so an updated database
keeps its rules while the old shared templates are gone: each rule left
without a template gets its event's shipped one. Rules an admin pointed at
a template of their own keep it.
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    rules = env["service.comm.rule"].with_context(active_test=False).search([])
    for rule in rules:
        values = {}
        if not rule.mail_template_id:
            template = env.ref(f"service_model_comms.mail_template_{rule.event}", False)
            if template:
                values["mail_template_id"] = template.id
        if not rule.sms_template_id:
            template = env.ref(f"service_model_comms.sms_template_{rule.event}", False)
            if template:
                values["sms_template_id"] = template.id
        if values:
            rule.write(values)
