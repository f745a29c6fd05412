from odoo import models


class ServiceHandoffMixin(models.AbstractModel):
    """Hand-offs: work that waits for a team, as mail activities on the record.

    A hand-off is a ``mail.activity`` assigned to the team's owner (see
    :meth:`_handoff_user`). The steps of the manual-step register
    (``service.manual.step``) each have their own activity type, so a step's
    open activities are the record's activities of that type: nothing else
    marks them.

    The models using this mixin inherit ``mail.activity.mixin`` and have a
    ``company_id``. Hooks meant to be overridden:

    - :meth:`_handoff_responsible`: who answers for the record when a team has
      no owner (``service.account``: its CS owner).

    Activities are created and closed as the system (``sudo``): a hand-off
    follows from a change the user was allowed to make, while the activity may
    belong to another user and the record may be read-only to this user
    (Finance on a service account). The current user stays their author.
    """

    _name = "service.handoff.mixin"
    _description = "Service Hand-Off Mixin"

    # -- owners ---------------------------------------------------------------------

    def _handoff_responsible(self):
        """Hook: the user who answers for this record, if any."""
        self.ensure_one()
        return self.env["res.users"]

    def _handoff_user(self, team):
        """Who gets ``team``'s hand-offs on this record.

        The company's owner of the team in Settings; for CS, or when the team
        has no owner, the record's responsible; else the current user.
        """
        self.ensure_one()
        owner = self.company_id._service_team_user(team) if team != "cs" else None
        return owner or self._handoff_responsible() or self.env.user

    # -- activities -------------------------------------------------------------------

    def _handoff_activity_vals(self, activity_type, summary, note=None, date_deadline=None):
        """Values of a hand-off activity on this record, without its owner."""
        self.ensure_one()
        return {
            "res_model_id": self.env["ir.model"]._get_id(self._name),
            "res_id": self.id,
            "activity_type_id": activity_type.id,
            "summary": summary,
            "note": note,
            "automated": True,
            "date_deadline": date_deadline or self.company_id._service_today(),
        }

    def _open_handoff_activities(self, activity_types):
        """The open activities of these records whose type is one of ``activity_types``."""
        return (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", self.ids),
                    ("activity_type_id", "in", activity_types.ids),
                ]
            )
        )

    def _schedule_team_activity(
        self, team, summary, note=None, date_deadline=None, user=None, step_code=None
    ):
        """Hand a step to ``team``: an activity on each record for its owner.

        The owner is ``user`` when given, else :meth:`_handoff_user`.
        ``step_code`` makes it an activity of that step of the manual-step
        register (its activity type); without it, a generic hand-off.
        """
        if step_code:
            activity_type = (
                self.env["service.manual.step"].sudo()._for_code(step_code).activity_type_id
            )
        else:
            activity_type = self.env.ref("service_model.mail_activity_type_service_handoff")
        vals_list = []
        for record in self:
            vals = record._handoff_activity_vals(activity_type, summary, note, date_deadline)
            vals["user_id"] = (user or record._handoff_user(team)).id
            vals_list.append(vals)
        return self.env["mail.activity"].sudo().create(vals_list).sudo(False)

    def _open_step_activities(self, code):
        """The open activities of step ``code`` of the register on these records."""
        step = self.env["service.manual.step"].sudo()._for_code(code)
        return self._open_handoff_activities(step.activity_type_id).sudo(False)

    def _schedule_manual_step(self, code, summary, note=None):
        """The activity of step ``code`` of the register, for its owner.

        The step's own owner in the register when set, else its team's owner
        (:meth:`_handoff_user`). Records where the step already waits for
        someone get no second activity.
        """
        if not self:
            return self.env["mail.activity"]
        step = self.env["service.manual.step"].sudo()._for_code(code)
        waiting = set(self._open_handoff_activities(step.activity_type_id).mapped("res_id"))
        records = self.filtered(lambda r: r.id not in waiting)
        if not records:
            return self.env["mail.activity"]
        return records._schedule_team_activity(
            step.team, summary, note, user=step.user_id or None, step_code=code
        )

    def _close_manual_step(self, code, feedback=None):
        """Mark step ``code`` done on these records: someone (or the system) did it."""
        if not self:
            return
        step = self.env["service.manual.step"].sudo()._for_code(code)
        activities = self._open_handoff_activities(step.activity_type_id)
        if activities:
            activities.action_feedback(feedback=feedback)
