from collections import Counter, defaultdict

from markupsafe import Markup

from odoo import models

from .service_checklist_template import TEAMS


class ServiceAccount(models.Model):
    """The onboarding checklist as hand-offs: one activity per team with open items.

    It wraps the core ``write`` of ``service.account``: once the stage is
    stored, accounts in onboarding get their teams' activities and accounts
    that left it lose the ones still open. An account created in onboarding
    gets them when its checklist is copied (the items' ``create``).
    """

    _inherit = "service.account"

    def write(self, vals):
        result = super().write(vals)
        if "stage" in vals:
            self._sync_checklist_activities()
        return result

    def _handoff_responsible(self):
        return self.cs_user_id

    def _checklist_activity_types(self):
        """``{team: activity type}`` of the checklist's team activities."""
        return {
            team: self.env.ref(f"service_model.mail_activity_type_checklist_{team}")
            for team, _label in TEAMS
        }

    def _sync_checklist_activities(self):
        """Bring each team's checklist activity in line with its open items.

        While an account is in onboarding, each team with open items has one
        activity for its owner listing them; the activity of a team whose
        items are all done is marked done. Accounts outside onboarding keep no
        checklist activity.
        """
        if not self:
            return
        types = self._checklist_activity_types()
        team_of_type = {activity_type.id: team for team, activity_type in types.items()}
        activity_types = self.env["mail.activity.type"].union(*types.values())
        # sudo (as the hand-off mixin): ticking an item settles activities of
        # other users, on an account that may be read-only to the user (Finance)
        existing = {
            (activity.res_id, team_of_type[activity.activity_type_id.id]): activity
            for activity in self._open_handoff_activities(activity_types)
        }
        team_labels = self.env["service.account.checklist.item"]._team_labels()
        vals_list = []
        for account in self.filtered(lambda a: a.stage == "onboarding"):
            open_items = defaultdict(list)
            for item in account.checklist_item_ids.filtered(lambda i: not i.done):
                open_items[item.team].append(item.name)
            for team, names in open_items.items():
                note = Markup("<ul>%s</ul>") % Markup().join(
                    Markup("<li>%s</li>") % name for name in names
                )
                activity = existing.pop((account.id, team), None)
                if activity:
                    if activity.note != note:
                        activity.note = note
                    continue
                vals = account._handoff_activity_vals(
                    types[team],
                    self.env._(
                        "Onboarding checklist: %(team)s",
                        team=team_labels[team],
                    ),
                    note,
                )
                vals["user_id"] = account._handoff_user(team).id
                vals_list.append(vals)
        leftover = self.env["mail.activity"].sudo().union(*existing.values())
        left_onboarding = leftover.filtered(lambda a: self.browse(a.res_id).stage != "onboarding")
        left_onboarding.unlink()
        (leftover - left_onboarding).action_feedback(
            feedback=self.env._("All the team's checklist items are done.")
        )
        # mail.activity's create() subscribes each owner to its records, and
        # fails when one owner gets two activities on one record in the same
        # call: an owner of two teams on an account goes in a second batch
        batches = defaultdict(list)
        owner_count = Counter()
        for vals in vals_list:
            key = (vals["user_id"], vals["res_id"])
            batches[owner_count[key]].append(vals)
            owner_count[key] += 1
        # the owners see these in their activities; no e-mail per account and team
        Activity = self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True)
        for batch in batches.values():
            Activity.create(batch)
