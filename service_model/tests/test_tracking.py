from datetime import date

from freezegun import freeze_time

from odoo.tests import tagged

from .common import NOW, ServiceModelCommon


class TrackingCase(ServiceModelCommon):
    """Helpers: active accounts and the tracking messages of their anchor."""

    def _tracking_messages(self, accounts):
        self.env.cr.precommit.run()  # tracking is written before the commit
        return self.env["mail.message"].search(
            [
                ("model", "=", "service.account"),
                ("res_id", "in", accounts.ids),
                ("tracking_value_ids.field_id.name", "=", "last_service_date"),
            ]
        )

    def _cs_env(self):
        """The CS user's environment, with the chatter on as in production."""
        return self.env(
            user=self.cs_user,
            context=dict(self.env.context, tracking_disable=False, mail_create_nolog=False),
        )

    def _accounts(self, count, prefix):
        accounts = self.env["service.account"]
        for index in range(count):
            accounts |= self._create_active_account(f"{prefix}-{index:03d}")
        self.env.cr.precommit.run()  # mail does not track what this transaction created
        return accounts


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestBatchTracking(TrackingCase):
    """Anchors changed in one batch are tracked one message per account, each
    with its own old and new value, created in one batch."""

    def _apply_as_cs(self, accounts, service_date):
        env = self._cs_env()
        return env["service.account"]._apply_service_dates(
            [{"account": account, "service_date": service_date} for account in accounts]
        )

    def test_each_account_gets_its_own_tracking_message(self):
        accounts = self._accounts(3, "TRK")
        accounts[0].with_context(service_engine_write=True).last_service_date = date(2025, 1, 6)
        self.env.cr.precommit.run()
        self._tracking_messages(accounts).unlink()
        self._apply_as_cs(accounts, date(2026, 2, 2))
        messages = self._tracking_messages(accounts)
        self.assertEqual(sorted(messages.mapped("res_id")), sorted(accounts.ids))
        for message in messages:
            self.assertEqual(message.author_id, self.cs_user.partner_id)
            self.assertEqual(message.subtype_id, self.env.ref("mail.mt_note"))
            self.assertEqual(message.message_type, "notification")
            value = message.tracking_value_ids.filtered(
                lambda v: v.field_id.name == "last_service_date"
            )
            self.assertEqual(value.new_value_datetime.date(), date(2026, 2, 2))
            old = date(2025, 1, 6) if message.res_id == accounts[0].id else False
            self.assertEqual(value.old_value_datetime and value.old_value_datetime.date(), old)

    def test_one_message_create_whatever_the_number_of_accounts(self):
        small, large = self._accounts(2, "TRS"), self._accounts(20, "TRL")
        counts = {}
        for accounts, service_date in ((small, date(2026, 2, 2)), (large, date(2026, 2, 3))):
            self._apply_as_cs(accounts, service_date)
            self.env.flush_all()
            before = self.cr.sql_log_count
            self.env.cr.precommit.run()
            self.env.flush_all()
            counts[len(accounts)] = self.cr.sql_log_count - before
            self.assertEqual(len(self._tracking_messages(accounts)), len(accounts))
        # Odoo's per-record logging costs several queries per account
        self.assertLessEqual(counts[20] - counts[2], 6, counts)


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestImportTracksAnchors(TrackingCase):
    """An anchor changed by an import is tracked like one changed by hand: by
    our contractor import and by Odoo's own Import, as the CS user who ran it."""

    def _assert_tracked(self, accounts, old, new):
        messages = self._tracking_messages(accounts)
        self.assertEqual(sorted(messages.mapped("res_id")), sorted(accounts.ids))
        for message in messages:
            self.assertEqual(message.author_id, self.cs_user.partner_id)
            value = message.tracking_value_ids.filtered(
                lambda v: v.field_id.name == "last_service_date"
            )
            self.assertEqual(value.old_value_datetime.date(), old)
            self.assertEqual(value.new_value_datetime.date(), new)

    def _dated_accounts(self, prefix):
        accounts = self._accounts(2, prefix)
        accounts.with_context(service_engine_write=True).write(
            {"last_service_date": date(2025, 3, 3)}
        )
        self.env.cr.precommit.run()
        self._tracking_messages(accounts).unlink()
        return accounts

    def test_our_import_tracks_each_anchor(self):
        accounts = self._dated_accounts("TRI")
        self.contractor.service_auto_accept = "always"
        rows = "\n".join(f"{a.property_reference},2026-03-02" for a in accounts)
        data = f"Property ID,Last service\n{rows}\n".encode()
        env = self._cs_env()
        record = env["service.import"]._create_from_file(
            self.contractor.with_env(env), data, "dates.csv"
        )
        record._validate()
        record._apply()
        self.assertEqual(record.created_count, 2, record.line_ids.mapped("message"))
        self._assert_tracked(accounts, date(2025, 3, 3), date(2026, 3, 2))

    def test_odoo_import_tracks_each_anchor(self):
        accounts = self._dated_accounts("TRO")
        xmlids = [row[0] for row in accounts.export_data(["id"])["datas"]]
        rows = "\n".join(f"{xmlid},2026-03-02" for xmlid in xmlids)
        data = f"id,last_service_date\n{rows}\n".encode()
        env = self._cs_env()
        result = self._odoo_import_csv(env, data)
        self.assertFalse(result["messages"], result["messages"])
        self._assert_tracked(accounts, date(2025, 3, 3), date(2026, 3, 2))
