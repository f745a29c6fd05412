from odoo import api, fields, models

from .service_checklist_template import TEAMS


class ServiceGlossaryTerm(models.Model):
    """A shared term: one definition, and the words each team uses for it."""

    _name = "service.glossary.term"
    _description = "Glossary Term"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    definition = fields.Text(required=True, translate=True)
    synonym_ids = fields.One2many("service.glossary.synonym", "term_id", string="Team Synonyms")
    synonyms = fields.Char(compute="_compute_synonyms", string="Also Called")
    field_ids = fields.Many2many(
        "ir.model.fields",
        string="Fields",
        help="Fields that name this term: their help text is this definition.",
        domain="[('model', 'in', ('service.account', 'service.job'))]",
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [("name_unique", "UNIQUE(name)", "This term is already in the glossary.")]

    @api.depends("synonym_ids.name", "synonym_ids.team")
    def _compute_synonyms(self):
        teams = dict(
            self.env["service.glossary.synonym"]._fields["team"]._description_selection(self.env)
        )
        for term in self:
            term.synonyms = ", ".join(f"{s.name} ({teams.get(s.team)})" for s in term.synonym_ids)


class ServiceGlossarySynonym(models.Model):
    _name = "service.glossary.synonym"
    _description = "Glossary Synonym"

    term_id = fields.Many2one("service.glossary.term", required=True, ondelete="cascade")
    team = fields.Selection(
        [*TEAMS, ("contractor", "Contractors"), ("agency", "Agencies")], required=True
    )
    name = fields.Char(string="Synonym", required=True, translate=True)
