import uuid

from lxml import etree, html

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools.rendering_tools import parse_inline_template
from odoo.tools.safe_eval import safe_eval

# context key: the dispatcher's batches render a QWeb body once for all their records
BATCH_RENDER = "service_comm_batch_render"


class MailRenderMixin(models.AbstractModel):
    _inherit = "mail.render.mixin"

    def _service_comm_batch(self, res_ids):
        """Whether this rendering is one of the dispatcher's batches."""
        return self.env.context.get(BATCH_RENDER) and self.env.su and len(res_ids) > 1

    @api.model
    def _service_comm_eval_context(self, add_context=None):
        """Odoo's rendering context, with ``format_date`` remembered for the
        batch: its records share a handful of dates, and each call looks the
        language up again."""
        variables = self._render_eval_context()
        format_date = variables["format_date"]
        formatted = {}

        def remembered_format_date(date, date_format=False, lang_code=False):
            key = (date, date_format, lang_code)
            if key not in formatted:
                formatted[key] = format_date(date, date_format, lang_code)
            return formatted[key]

        variables["format_date"] = remembered_format_date
        variables.update(add_context or {})
        return variables

    @api.model
    def _render_template_inline_template(
        self, template_txt, model, res_ids, add_context=None, options=None
    ):
        """Render an inline template (subject, SMS text) for a batch of records
        with one evaluation per expression.

        Odoo compiles and checks each ``{{ expression }}`` again for every
        record; in the dispatcher's batches (:data:`BATCH_RENDER`, as
        superuser) each expression is evaluated once, by the same ``safe_eval``,
        as a list over the records, and the texts are put together as Odoo's
        ``render_inline_template`` does (an empty value gives the default).
        """
        if (
            not self._service_comm_batch(res_ids)
            or not template_txt
            or not self._has_unsafe_expression_template_inline_template(str(template_txt), model)
        ):
            return super()._render_template_inline_template(
                template_txt, model, res_ids, add_context=add_context, options=options
            )
        variables = self._service_comm_eval_context(add_context)
        variables["service_comm_records"] = self.env[model].browse(res_ids)
        texts = [[] for _res_id in res_ids]
        try:
            for literal, expression, default in parse_inline_template(str(template_txt)):
                values = (
                    safe_eval(f"[({expression}) for object in service_comm_records]", variables)
                    if expression
                    else [None] * len(res_ids)
                )
                for text, value in zip(texts, values, strict=True):
                    text.append(literal)
                    if expression and (value or default):
                        text.append(str(value or default))
        except Exception as error:
            raise UserError(
                self.env._(
                    "The template %(template)s cannot be rendered: %(error)s",
                    template=self.display_name or template_txt,
                    error=error,
                )
            ) from error
        return {res_id: "".join(text) for res_id, text in zip(res_ids, texts, strict=True)}

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
            not self._service_comm_batch(res_ids)
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
        variables = self._service_comm_eval_context(add_context)
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
