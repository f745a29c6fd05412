"""Test data builders for the Service Model core: no demo data needed.

Dates in these tests are frozen: ``TODAY`` is a Tuesday, and the company
works Monday to Friday on a calendar in UTC, with public holidays added per
test through :meth:`ServiceModelCommon._add_holiday`.
"""

import base64
from datetime import date, datetime, time

from odoo.tests import TransactionCase, new_test_user

TODAY = date(2026, 3, 10)  # a Tuesday
NOW = "2026-03-10 12:00:00"


class ServiceModelCommon(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(
            context=dict(cls.env.context, tracking_disable=True, mail_create_nolog=True)
        )
        cls.company = cls.env.company
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Service week (Mon-Fri, UTC)",
                "tz": "UTC",
                "company_id": cls.company.id,
                "attendance_ids": [
                    (
                        0,
                        0,
                        {
                            "name": f"Day {day}",
                            "dayofweek": str(day),
                            "hour_from": 8,
                            "hour_to": 17,
                            "day_period": "morning",
                        },
                    )
                    for day in range(5)
                ],
            }
        )
        cls.company.write(
            {
                "service_calendar_id": cls.calendar.id,
                "service_grace_days": 7,
                "service_short_notice_days": 14,
                "service_nonworking_rule": "previous",
                "service_plausibility_years": 5,
                "service_auto_create_jobs": True,
                "service_auto_accept": True,
                "service_subscription_on_completion": True,
                "service_billing_trigger": True,
                "service_billing_polling": True,
            }
        )
        cls.cs_user = new_test_user(
            cls.env, login="sm_cs_user", groups="service_model.group_cs_user", tz="UTC"
        )
        cls.product = cls.env["product.product"].create(
            {"name": "Annual safety inspection plan", "type": "service", "list_price": 120.0}
        )
        cls.service_type = cls.env["service.type"].create(
            {
                "name": "Annual inspection",
                "interval_months": 12,
                "short_notice_days": 14,
                "product_id": cls.product.id,
            }
        )
        cls.contractor = cls.env["res.partner"].create(
            {
                "name": "Sparks & Co",
                "is_company": True,
                "is_service_contractor": True,
                "email": "jobs@sparks.example",
            }
        )
        cls.agency = cls.env["res.partner"].create(
            {
                "name": "Harbour Lettings",
                "is_company": True,
                "is_service_agency": True,
                "email": "desk@harbour.example",
            }
        )
        cls.end_user = cls.env["res.partner"].create(
            {"name": "Ada Owner", "email": "ada@owner.example"}
        )

    @classmethod
    def _account_vals(cls, reference, **overrides):
        vals = {
            "property_reference": reference,
            "street": "1 Quay Street",
            "city": "Bristol",
            "end_user_id": cls.end_user.id,
            "contractor_id": cls.contractor.id,
            "service_type_id": cls.service_type.id,
            "plan_product_id": cls.product.id,
            "plan_yearly_price": 120.0,
            "plan_term_years": 5,
            "cs_user_id": cls.cs_user.id,
        }
        vals.update(overrides)
        return vals

    @classmethod
    def _create_account(cls, reference="P-0001", **overrides):
        return cls.env["service.account"].create(cls._account_vals(reference, **overrides))

    @classmethod
    def _activate(cls, accounts):
        accounts.action_start_onboarding()
        accounts.checklist_item_ids.write({"done": True})
        accounts.action_activate()
        return accounts

    @classmethod
    def _create_active_account(cls, reference="P-0001", **overrides):
        return cls._activate(cls._create_account(reference, **overrides))

    @classmethod
    def _add_holiday(cls, day, name="Public holiday"):
        return cls.env["resource.calendar.leaves"].create(
            {
                "name": name,
                "calendar_id": cls.calendar.id,
                "company_id": cls.company.id,
                "date_from": datetime.combine(day, time(0, 0)),
                "date_to": datetime.combine(day, time(23, 59, 59)),
            }
        )

    def _apply(self, account, service_date, **kwargs):
        return self.env["service.account"]._apply_service_dates(
            [{"account": account, "service_date": service_date}], **kwargs
        )[0]

    def _odoo_import_csv(self, env, data, fields=("id", "last_service_date")):
        """Odoo's own Import (``base_import``) of CSV ``data`` onto service accounts, as ``env``'s user."""
        importer = env["base_import.import"].create(
            {
                "res_model": "service.account",
                "file": base64.b64encode(data),
                "file_name": "dates.csv",
                "file_type": "text/csv",
            }
        )
        importer.file = data
        return importer.execute_import(
            list(fields),
            list(fields),
            {"quoting": '"', "separator": ",", "has_headers": True, "date_format": "%Y-%m-%d"},
        )
