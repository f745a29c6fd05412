"""Job creation benchmark: the due-date engine's batch against plain ORM create.

    bash scripts/sm.sh bench jobs [--sizes 1000,10000] [--reps 3] [--keep-db]

Creates its own database (``sm_bench_jobs``, dropped at the end) with
service_model and no demo data, then for each size N builds N active service
accounts with last-service dates spread over a year (none overdue), and
times, each in its own transaction rolled back afterwards, the same N jobs
made two ways, each in ten successive calls of N/10 accounts:

- ours: ``service.account._create_jobs_from_anchors()``, the engine's batch;
- the ORM's way: for each account, its due date from the same engine
  function (``lib.due_date.compute_due_date``, with the account's policy read
  through ``_engine_policies``), then one ``service.job.create(vals_list)``.

Both sides do the same work inside their timed window: the due dates are
computed there, the ORM checks the companies, and the chatter is on
(creation message per job, followers, tracking written as at a commit).
Before each side the database is vacuumed and analysed; the order of the
sides alternates between the ``--reps`` repetitions; each figure is the
median with its spread. Prints jobs per second, the first and the last
tenth's throughput and the SQL queries of each side.
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


def measure(registry, run, account_ids):
    """``run(env, chunk)`` on ten chunks of the accounts in one transaction,
    rolled back; returns (jobs created, seconds, queries, progress points)."""
    chunks = [account_ids[index::10] for index in range(10)]
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
        before_queries = cr.sql_log_count
        progress, created, start = [], 0, time.perf_counter()
        for chunk in chunks:
            created += run(env, chunk)
            env.flush_all()
            progress.append((time.perf_counter() - start, created))
        cr.precommit.run()  # what a commit would write (tracking)
        env.flush_all()
        seconds = time.perf_counter() - start
        progress.append((seconds, created))
        queries = cr.sql_log_count - before_queries
        cr.rollback()
    return created, seconds, queries, progress


def engine_batch(env, account_ids):
    return len(env["service.account"].browse(account_ids)._create_jobs_from_anchors())


def orm_create(env, account_ids):
    from odoo.addons.service_model.lib import (
        due_date as engine,
    )  # on the addons path once Odoo is set up

    accounts = env["service.account"].browse(account_ids)
    policies = accounts._engine_policies()
    vals_list = []
    for account in accounts:
        policy, today = policies[(account.company_id, account.service_type_id)]
        due = engine.compute_due_date(account.last_service_date, today, policy)
        auto = account.contractor_id._service_auto_accepts(account.company_id)
        vals_list.append(
            {
                "account_id": account.id,
                "contractor_id": account.contractor_id.id,
                "company_id": account.company_id.id,
                "service_type_id": account.service_type_id.id,
                "state": "accepted" if auto else "pending",
                "anchor_date": account.last_service_date,
                "nominal_due_date": due.nominal_date,
                "due_date": due.due_date,
                "due_rule": due.rule,
                "is_overdue_at_creation": due.overdue_at_creation,
                "is_short_notice": due.short_notice,
                "is_auto_accepted": auto,
            }
        )
    # the same context as the engine's (system-created, chatter on)
    jobs = (
        env["service.job"]
        .with_context(service_engine_write=True, mail_create_nosubscribe=True)
        .create(vals_list)
    )
    return len(jobs)


SIDES = {"engine batch (ours)": engine_batch, "ORM create()": orm_create}


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--odoo-config", required=True)
    arguments.add_argument("--sizes", default="1000,10000")
    arguments.add_argument("--reps", type=int, default=3, help="repetitions of each side")
    arguments.add_argument("--keep-db", action="store_true")
    options = arguments.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    with benchlib.own_database(
        DB, options.odoo_config, ["service_model"], keep=options.keep_db
    ) as registry:
        for size in sizes:
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
                account_ids = build_accounts(env, size, f"B{size}")
                cr.commit()
            figures = {
                label: {"rate": [], "first": [], "last": [], "queries": []} for label in SIDES
            }
            for rep in range(options.reps):
                for label in benchlib.side_order(SIDES, rep):
                    benchlib.vacuum_analyze(DB)
                    created, seconds, queries, progress = measure(
                        registry, SIDES[label], account_ids
                    )
                    if created != size:
                        raise RuntimeError(f"{label} created {created} jobs out of {size}")
                    first, last = benchlib.progress_tenths(progress, size)
                    figures[label]["rate"].append(size / seconds)
                    figures[label]["first"].append(first)
                    figures[label]["last"].append(last)
                    figures[label]["queries"].append(queries)
            print(f"N = {size}, median [lowest-highest] of {options.reps} repetitions")
            benchlib.print_figures(
                figures,
                [
                    ("rate", "jobs/s"),
                    ("first", "first tenth"),
                    ("last", "last tenth"),
                    ("queries", "queries"),
                ],
            )
            ratio = benchlib.median_ratio(figures, "engine batch (ours)", "ORM create()")
            print(f"engine batch / ORM create: {ratio:.2f}x jobs per second", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
