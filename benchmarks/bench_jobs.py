"""Job creation benchmark: the due-date engine's batch against plain ORM create.

    bash scripts/sm.sh bench jobs [--sizes 1000,10000] [--keep-db]

Creates its own database (``sm_bench_jobs``, dropped at the end) with
service_model and no demo data, then for each size N builds N active service
accounts with last-service dates spread over a year (none overdue), and
times, each in its own transaction rolled back afterwards:

- ``service.account._create_jobs_from_anchors()``: the engine computes every
  due date (working calendar, holidays, flags) and inserts the jobs in one
  statement;
- ``service.job.create(vals_list)``: the ORM creating the same jobs from
  due dates computed beforehand (the engine's work is not counted on this
  side).

Prints jobs per second and SQL queries for both, and the ratio. The query
count of the batch does not grow with N.
"""

import argparse
import sys
import time
from datetime import timedelta

import benchlib

from odoo import SUPERUSER_ID, api

DB = "sm_bench_jobs"


def build_accounts(env, size, prefix):
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True))
    contractor = env["res.partner"].create(
        {"name": "Bench contractor", "is_service_contractor": True}
    )
    end_user = env["res.partner"].create({"name": "Bench owner", "email": "owner@bench.example"})
    product = env["product.product"].create({"name": "Bench plan", "type": "service"})
    service_type = env["service.type"].create({"name": f"Bench {prefix}", "product_id": product.id})
    accounts = env["service.account"].create(
        [
            {
                "property_reference": f"{prefix}-{index:06d}",
                "street": "1 Bench Road",
                "city": "Leeds",
                "end_user_id": end_user.id,
                "contractor_id": contractor.id,
                "service_type_id": service_type.id,
                "plan_product_id": product.id,
                "plan_yearly_price": 100.0,
            }
            for index in range(size)
        ]
    )
    accounts.action_start_onboarding()
    accounts.checklist_item_ids.write({"done": True})
    accounts.action_activate()
    today = env["res.company"]._service_today()
    env["service.account"]._set_anchors(
        {
            account.id: today - timedelta(days=330) + timedelta(days=index % 300)
            for index, account in enumerate(accounts)
        }
    )
    env.flush_all()
    return accounts.ids


def measure(registry, run):
    """Run ``run(env)`` in a fresh transaction, rolled back; return figures."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
        before_queries = cr.sql_log_count
        start = time.perf_counter()
        created = run(env)
        env.flush_all()
        seconds = time.perf_counter() - start
        queries = cr.sql_log_count - before_queries
        cr.rollback()
    return created, seconds, queries


def engine_batch(account_ids):
    def run(env):
        return len(env["service.account"].browse(account_ids)._create_jobs_from_anchors())

    return run


def orm_create(account_ids):
    def run(env):
        accounts = env["service.account"].browse(account_ids)
        # precompute the values outside the ORM's part of the work
        vals_list = [
            {
                "account_id": account.id,
                "contractor_id": account.contractor_id.id,
                "company_id": account.company_id.id,
                "service_type_id": account.service_type_id.id,
                "state": "accepted",
                "anchor_date": account.last_service_date,
                "due_date": account.last_service_date + timedelta(days=365),
            }
            for account in accounts
        ]
        jobs = (
            env["service.job"]
            .with_context(tracking_disable=True, mail_create_nolog=True)
            .create(vals_list)
        )
        return len(jobs)

    return run


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--odoo-config", required=True)
    arguments.add_argument("--sizes", default="1000,10000")
    arguments.add_argument("--keep-db", action="store_true")
    options = arguments.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    with benchlib.own_database(
        DB, options.odoo_config, ["service_model"], keep=options.keep_db
    ) as registry:
        print(f"{'N':>7} {'side':<26}{'jobs/s':>10}{'seconds':>9}{'queries':>9}")
        for size in sizes:
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
                account_ids = build_accounts(env, size, f"B{size}")
                cr.commit()
            results = {}
            for label, run in (
                ("engine batch (ours)", engine_batch(account_ids)),
                ("ORM create()", orm_create(account_ids)),
            ):
                created, seconds, queries = measure(registry, run)
                if created != size:
                    raise RuntimeError(f"{label} created {created} jobs out of {size}")
                results[label] = seconds
                print(f"{size:>7} {label:<26}{size / seconds:>10.0f}{seconds:>9.2f}{queries:>9}")
            ratio = results["ORM create()"] / results["engine batch (ours)"]
            print(f"{size:>7} engine batch / ORM create: {ratio:.1f}x jobs per second", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
