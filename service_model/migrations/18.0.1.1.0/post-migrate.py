"""18.0.1.1.0: each manual step hands off through its own activity type.

The register is ``noupdate`` data, so steps of an existing database keep no
type after the update: link each to the shipped type of the same name, or
give it a new one.
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    steps = (
        env["service.manual.step"]
        .with_context(active_test=False)
        .search([("activity_type_id", "=", False)])
    )
    taken = set(env["service.manual.step"].search([]).activity_type_id.ids)
    for step in steps:
        shipped = env["mail.activity.type"].search(
            [
                ("res_model", "=", "service.account"),
                ("name", "=", step.name),
                ("id", "not in", list(taken)),
            ],
            limit=1,
        )
        if shipped:
            step.activity_type_id = shipped
            taken.add(shipped.id)
    steps.filtered(lambda s: not s.activity_type_id)._sync_activity_type()
