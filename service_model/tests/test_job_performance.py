import math
from datetime import date, timedelta

from freezegun import freeze_time

from odoo import models
from odoo.tests import tagged

from .common import NOW, ServiceModelCommon

# Queries of one batch whatever its size: accounts, open jobs, company, service
# type, calendar (3), contractors; the ORM then inserts INSERT_BATCH_SIZE rows
# per statement (100 in Odoo 18).
CONSTANT_QUERIES = 9


@tagged("post_install", "-at_install")
@freeze_time(NOW)
class TestJobBatchQueries(ServiceModelCommon):
    """Creating jobs from anchors through the ORM costs a constant number of
    queries plus the ORM's multi-row INSERT statements (one per 100 jobs)."""

    def _active_accounts(self, count, prefix):
        vals = [self._account_vals(f"{prefix}-{index:05d}") for index in range(count)]
        accounts = self.env["service.account"].create(vals)
        accounts.action_start_onboarding()
        accounts.checklist_item_ids.write({"done": True})
        accounts.action_activate()
        # anchors spread over a year: no job is overdue, many distinct due dates;
        # the engine's own write stores them without creating the jobs yet
        self.env["service.account"]._set_anchors(
            {
                account.id: date(2025, 4, 1) + timedelta(days=index % 300)
                for index, account in enumerate(accounts)
            }
        )
        self.env.invalidate_all()
        self.env.flush_all()
        return accounts

    def test_query_count_does_not_grow(self):
        # warm the registry-level caches (glossary help, defaults) once
        self._active_accounts(5, "WARM")._create_jobs_from_anchors()
        counts = {}
        for size in (100, 2000):
            accounts = self._active_accounts(size, f"Q{size}")
            before = self.cr.sql_log_count
            jobs = accounts._create_jobs_from_anchors()
            self.env.flush_all()
            counts[size] = self.cr.sql_log_count - before
            self.assertEqual(len(jobs), size)
            self.assertEqual(set(jobs.mapped("state")), {"accepted"})
            self.assertEqual(jobs.account_id, accounts)
        # 20 times the jobs: only the ORM's further multi-row INSERTs (one per
        # INSERT_BATCH_SIZE jobs) are added; whatever else runs (the engine,
        # other addons' automations) costs the same for both batches
        extra_inserts = math.ceil(2000 / models.INSERT_BATCH_SIZE) - 1
        self.assertEqual(counts[2000] - counts[100], extra_inserts, counts)
        # and that constant stays small: the engine's own share is 9 queries
        self.assertLessEqual(counts[100] - 1, CONSTANT_QUERIES + 10, counts)

    def test_query_count_with_tracking_grows_by_batches_only(self):
        """With the chatter on (creation message, followers, tracked fields),
        each further 100 jobs add a few multi-row INSERT statements, never
        queries per job."""
        env = self.env(
            context=dict(self.env.context, tracking_disable=False, mail_create_nolog=False)
        )
        self._active_accounts(5, "TWARM").with_env(env)._create_jobs_from_anchors()
        counts = {}
        for size in (100, 200, 300):
            accounts = self._active_accounts(size, f"T{size}").with_env(env)
            before = self.cr.sql_log_count
            accounts._create_jobs_from_anchors()
            self.cr.precommit.run()  # the chatter's tracking is written before the commit
            env.flush_all()
            counts[size] = self.cr.sql_log_count - before
        # a query per job would add 100 per step; the ORM's multi-row INSERTs
        # (jobs, messages, followers, tracking values) add a handful
        for smaller, larger in ((100, 200), (200, 300)):
            self.assertLessEqual(counts[larger] - counts[smaller], 5, counts)
