from odoo import api, models


class ServiceGlossaryMixin(models.AbstractModel):
    """Field help texts come from the glossary.

    A model that inherits this mixin shows, as the help of each field linked
    to a glossary term, the term's definition and its team synonyms, so that
    the backend and the glossary never say two different things.
    """

    _name = "service.glossary.mixin"
    _description = "Glossary Help Mixin"

    @api.model
    def fields_get(self, allfields=None, attributes=None):
        result = super().fields_get(allfields, attributes)
        if attributes and "help" not in attributes:
            return result
        terms = (
            self.env["service.glossary.term"]
            .sudo()
            .search_fetch(
                [("field_ids.model", "=", self._name)],
                ["name", "definition", "synonyms", "field_ids"],
            )
        )
        for term in terms:
            text = term.definition
            if term.synonyms:
                text = self.env._(
                    "%(definition)s\nAlso called: %(synonyms)s",
                    definition=text,
                    synonyms=term.synonyms,
                )
            for field in term.field_ids.filtered(
                lambda f: f.model == self._name and f.name in result
            ):
                result[field.name]["help"] = text
        return result
