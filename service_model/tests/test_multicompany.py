from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..lib import import_parser
from .common import NOW, ServiceModelCommon


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestMultiCompany(ServiceModelCommon):
    """Company A's records are invisible and unwritable to company B's users, whatever their role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Service Company B"})
        cls.user_a = new_test_user(
            cls.env, login="mc_admin_a", groups="service_model.group_service_admin"
        )
        cls.user_b = new_test_user(
            cls.env,
            login="mc_admin_b",
            groups="service_model.group_service_admin",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
        )
        cls.account = cls._create_active_account("MC-0001", last_service_date=date(2025, 3, 1))
        cls.job = cls.account.open_job_id  # created on activation from the anchor
        Subscription = cls.env["service.subscription"]
        cls.subscription = Subscription.create(
            Subscription._prepare_from_account(cls.account, date(2026, 3, 10))
        )
        cls.period = cls.env["service.billing.period"].create(
            {
                "subscription_id": cls.subscription.id,
                "sequence": 1,
                "date_start": date(2026, 3, 10),
                "date_end": date(2027, 3, 9),
                "amount": 120.0,
            }
        )
        data = b"Reference,Service date\r\nMC-0001,2026-03-01\r\n"
        cls.service_import = cls.env["service.import"]._create_from_file(
            cls.contractor, data, "dates.csv"
        )
        cls.mapping = cls.env["service.import.mapping"]._remember(
            cls.contractor,
            {import_parser.COL_REFERENCE: "Reference", import_parser.COL_SERVICE_DATE: "Date"},
        )

    def _company_records(self):
        """Each company-bound record of company A, with values a user would write."""
        return [
            (self.account, {"name": "Renamed"}),
            (self.job, {"due_date": date(2026, 4, 1)}),
            (self.account.checklist_item_ids[:1], {"done": False}),
            (self.account.stage_log_ids[:1], {"date_end": NOW}),
            (self.subscription, {"amount": 1.0}),
            (self.period, {"amount": 1.0}),
            (self.service_import, {"file_name": "other.csv"}),
            (self.service_import.line_ids[:1], {"service_date": date(2020, 1, 1)}),
            (self.mapping, {"column_reference": "Other"}),
        ]

    def test_records_are_stamped_with_their_company(self):
        for record, _vals in self._company_records():
            with self.subTest(model=record._name):
                self.assertEqual(len(record), 1)
                self.assertEqual(record.company_id, self.company)

    def test_own_company_users_read_them(self):
        for record, _vals in self._company_records():
            with self.subTest(model=record._name):
                record = record.with_user(self.user_a)
                self.assertEqual(record.search([("id", "=", record.id)]), record)
                record.read(["company_id"])

    def test_other_company_users_neither_read_nor_write_them(self):
        line_date = self.service_import.line_ids[:1].service_date
        for record, vals in self._company_records():
            with self.subTest(model=record._name):
                record = record.with_user(self.user_b)
                self.assertFalse(record.search([("id", "=", record.id)]))
                with self.assertRaises(AccessError):
                    record.read(["company_id"])
                with self.assertRaises(AccessError):
                    record.write(vals)
        self.assertEqual(self.service_import.line_ids[:1].service_date, line_date)
        self.assertFalse(self.account.name)

    def test_other_company_users_see_none_through_a_shared_contractor(self):
        self.assertEqual(self.contractor.service_contractor_account_ids, self.account)
        self.env.invalidate_all()  # as a new request of user B would
        self.assertFalse(self.contractor.with_user(self.user_b).service_contractor_account_ids)
