import uuid

from lxml import etree, html

from odoo import api, models
from odoo.exceptions import UserError

# context key: the dispatcher's batches render a QWeb body once for all their records
BATCH_RENDER = "service_comm_batch_render"


class MailTemplate(models.Model):
    _inherit = "mail.template"

    @api.model
    def _render_template_qweb(self, template_src, model, res_ids, add_context=None, options=None):
        """Render a QWeb body for a batch of records with one compilation.

        Odoo compiles an inline QWeb body again for every record (about as much
        work as the rest of an email together); with :data:`BATCH_RENDER` in the
        context, as superuser (the dispatcher's rendering), the body is compiled
        once inside a ``t-foreach`` over the records, and the output is cut back
        into one text per record at a token no template contains.
        """
        if (
            not self.env.context.get(BATCH_RENDER)
            or not self.env.su
            or len(res_ids) < 2
            or not template_src
            or not self._has_unsafe_expression_template_qweb(template_src, model)
        ):
            return super()._render_template_qweb(
                template_src, model, res_ids, add_context=add_context, options=options
            )
        token = uuid.uuid4().hex
        root = etree.Element("t")
        loop = etree.SubElement(root, "t", {"t-foreach": "service_comm_records", "t-as": "object"})
        etree.SubElement(loop, "t", {"t-out": "service_comm_token"})
        # the wrapping <div> Odoo renders each body in, and then cuts off
        loop.append(html.fragment_fromstring(template_src, create_parent="div"))
        variables = self._render_eval_context()
        variables.update(add_context or {})
        variables["service_comm_records"] = self.env[model].browse(res_ids)
        variables["service_comm_token"] = token
        try:
            rendered = self.env["ir.qweb"]._render(root, variables, **(options or {}))
        except Exception as error:
            raise UserError(
                self.env._(
                    "The template %(template)s cannot be rendered: %(error)s",
                    template=self.display_name,
                    error=error,
                )
            ) from error
        parts = rendered.split(token)[1:]
        return {res_id: part[5:-6] for res_id, part in zip(res_ids, parts, strict=True)}
