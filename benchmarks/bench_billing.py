"""Billing benchmark: our polling cron (one and two workers) against OCA's contract.

    bash scripts/sm.sh bench billing [--sizes 2000,10000,20000] [--draft] [--keep-db]

Needs network access once: OCA's ``contract`` addon for Odoo 18.0 (the
``odoo-addon-contract`` wheel from PyPI, pinned below) is downloaded with
``pip download --no-deps`` and unpacked into
``~/.cache/service-model/bench-addons`` (outside the repository; its code is
never committed here). Its dependencies (base, account, product, portal) are
all in Odoo Community.

Creates its own database (``sm_bench_billing``, dropped at the end) with
service_model and contract, no demo data. For each size N it builds, with
SQL copies of one record made through the ORM:

- ours: N active subscriptions started a year ago, year 2 due today;
- OCA: N contracts with one yearly line, next invoice date today.

Then, each in forked processes on the same data:

- ours, 1 worker: what a cron worker does with our scheduled action: calls
  of ``service.subscription._bill_due_batch()`` (a batch of 100), a commit
  after each, while work remains (the loop of ``ir.cron._run_job``);
- ours, 2 workers: the same in two processes at once (SKIP LOCKED shares
  the queue), after the invoices of the first run are deleted;
- OCA: ``contract.contract.cron_recurring_create_invoice()`` (its cron),
  then a commit.

Our invoices are posted, as in production ("Post Service Invoices" is on by
default); ``--draft`` leaves them draft like OCA's, which never posts.
Posting numbers invoices in one gapless journal sequence: a worker holds the
sequence from its first posted invoice to its commit, so posting is what two
workers cannot do at the same time. Prints invoices per second and peak
memory (growth of each process's peak resident set during the run; the
larger of the two workers) side by side, and the ratios against the targets
(2x OCA with two workers, 1.2x with one).
"""

import argparse
import os
import subprocess
import sys
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import benchlib

from odoo import SUPERUSER_ID, api

DB = "sm_bench_billing"
OCA_WHEEL = "odoo-addon-contract==18.0.2.6.2"
BENCH_ADDONS = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "service-model"
    / "bench-addons"
)


# -- OCA contract, outside the repository -------------------------------------------------


def ensure_oca_contract():
    """Download and unpack OCA's contract addon once; return the addons folder."""
    target = BENCH_ADDONS / "contract"
    if (target / "__manifest__.py").exists():
        return BENCH_ADDONS
    wheels = BENCH_ADDONS / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", OCA_WHEEL, "-d", str(wheels)],
        check=True,
    )
    wheel = next(wheels.glob("odoo_addon_contract-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("odoo/addons/contract/"):
                destination = BENCH_ADDONS / name.removeprefix("odoo/addons/")
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(archive.read(name))
    return BENCH_ADDONS


def bench_config(base_config, addons):
    """A copy of the Odoo config with the benchmark addons folder in front."""
    lines = []
    for line in Path(base_config).read_text(encoding="utf-8").splitlines():
        if line.startswith("addons_path"):
            line = f"addons_path = {addons}," + line.split("=", 1)[1].strip()
        lines.append(line)
    path = BENCH_ADDONS / "odoo-bench.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


# -- data --------------------------------------------------------------------------------


def build_data(env, count, post=True):
    """N due subscriptions (ours) and N due yearly contracts (OCA): their ids."""
    from odoo.addons.service_model.lib import billing_schedule

    cr = env.cr
    today = env["res.company"]._service_today()
    start = today - timedelta(days=365)
    env.company.write(
        {
            "service_billing_polling": True,
            "service_billing_post_invoices": post,
            "service_billing_trigger": False,
        }
    )
    partner = env["res.partner"].create(
        {"name": f"Bench customer {count}", "email": "bench@example.com"}
    )
    product = env["product.product"].create(
        {"name": f"Bench plan {count}", "type": "service", "list_price": 120.0}
    )
    # ours: one account, one template subscription, cloned
    account = env["service.account"].create(
        {
            "property_reference": f"BENCH-{count}",
            "end_user_id": partner.id,
            "plan_product_id": product.id,
            "plan_yearly_price": 120.0,
            "plan_term_years": 5,
        }
    )
    Subscription = env["service.subscription"]
    template = Subscription.create(Subscription._prepare_from_account(account, start))
    env.flush_all()
    sub_ids = benchlib.clone_rows(
        cr,
        "service_subscription",
        template.id,
        count,
        {"state": "active", "next_billing_date": start},
    )
    periods = [billing_schedule.period(start, n) for n in range(2, 6)]
    cr.execute(
        """INSERT INTO service_billing_period
                  (subscription_id, account_id, company_id, sequence, date_start, date_end, amount,
                   state, create_uid, write_uid, create_date, write_date)
           SELECT s.id, s.account_id, s.company_id, p.seq, p.ds, p.de, s.amount,
                  'planned', 1, 1, now(), now()
             FROM service_subscription s,
                  unnest(%s::int[], %s::date[], %s::date[]) AS p(seq, ds, de)
            WHERE s.id = ANY(%s)""",
        (
            [p.sequence for p in periods],
            [p.date_start for p in periods],
            [p.date_end for p in periods],
            sub_ids,
        ),
    )
    cr.execute(
        "UPDATE service_subscription SET next_billing_date = %s WHERE id = ANY(%s)",
        (periods[0].date_start, sub_ids),
    )
    template.unlink()
    # OCA: one template contract with one yearly line, cloned
    contract = env["contract.contract"].create(
        {
            "name": f"Bench contract {count}",
            "partner_id": partner.id,
            "contract_type": "sale",
            "line_recurrence": False,
            "recurring_rule_type": "yearly",
            "recurring_interval": 1,
            "date_start": start,
            "recurring_next_date": today,
            "contract_line_ids": [
                (
                    0,
                    0,
                    {
                        "product_id": product.id,
                        "name": "Service plan",
                        "quantity": 1,
                        "price_unit": 120.0,
                        "recurring_rule_type": "yearly",
                        "recurring_interval": 1,
                        "date_start": start,
                        "recurring_next_date": today,
                    },
                )
            ],
        }
    )
    env.flush_all()
    line = contract.contract_line_ids
    contract_ids = benchlib.clone_rows(cr, "contract_contract", contract.id, count)
    cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'contract_line' AND column_name NOT IN ('id', 'contract_id')"
    )
    columns = [row[0] for row in cr.fetchall()]
    column_list = ", ".join(f'"{name}"' for name in columns)
    cr.execute(
        f"""INSERT INTO contract_line (contract_id, {column_list})
            SELECT c.id, {", ".join(f'l."{name}"' for name in columns)}
              FROM contract_line l, unnest(%s::int[]) AS c(id)
             WHERE l.id = %s""",  # names come from the catalogue
        (contract_ids, line.id),
    )
    contract.unlink()
    env.invalidate_all()
    cr.execute("ANALYZE")
    return sub_ids, contract_ids


def reset_ours(cr, sub_ids, start):
    """Undo a run of ours: delete its invoices, plan the periods again."""
    cr.execute(
        """DELETE FROM account_move m USING service_billing_period p
            WHERE m.service_billing_period_id = p.id AND p.subscription_id = ANY(%s)""",
        (sub_ids,),
    )
    cr.execute(
        "UPDATE service_billing_period SET state = 'planned', move_id = NULL WHERE subscription_id = ANY(%s)",
        (sub_ids,),
    )
    cr.execute(
        "UPDATE service_subscription SET next_billing_date = %s WHERE id = ANY(%s)",
        (start, sub_ids),
    )
    cr.execute("ANALYZE")


def count_invoices(env, sub_ids, contract_ids):
    env.cr.execute(
        """SELECT count(*), count(DISTINCT p.id) FROM account_move m
             JOIN service_billing_period p ON p.id = m.service_billing_period_id
            WHERE p.subscription_id = ANY(%s)""",
        (sub_ids,),
    )
    ours, ours_periods = env.cr.fetchone()
    env.cr.execute(
        """SELECT count(DISTINCT l.move_id) FROM account_move_line l
             JOIN contract_line c ON c.id = l.contract_line_id
            WHERE c.contract_id = ANY(%s)""",
        (contract_ids,),
    )
    return ours, ours_periods, env.cr.fetchone()[0]


# -- the runs ---------------------------------------------------------------------------


def ours(env):
    """A cron worker: one batch per call and a commit after it, while work remains."""
    Subscription = env["service.subscription"]
    billed = 0
    while True:
        done, remaining = Subscription._bill_due_batch()
        env.cr.commit()  # what ir.cron._run_job does after each call
        env.invalidate_all()
        billed += done
        if not (done and remaining):
            return billed


def oca(env):
    env["contract.contract"].cron_recurring_create_invoice()
    return True


def bench_size(registry, count, post=True):
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
        started = time.perf_counter()
        sub_ids, contract_ids = build_data(env, count, post=post)
        today = env["res.company"]._service_today()
        cr.commit()
    print(f"N={count}: data built in {time.perf_counter() - started:.0f} s", flush=True)
    rows = {}
    _r, seconds, peak = benchlib.run_parallel(DB, ours, 1)
    rows["ours, 1 worker"] = (seconds, peak)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        billed, periods, _oca = count_invoices(env, sub_ids, [])
        if billed != count or periods != count:
            raise RuntimeError(
                f"ours, 1 worker: {billed} invoices for {periods} periods, expected {count}"
            )
        reset_ours(cr, sub_ids, today)
        cr.commit()
    done, seconds, peak = benchlib.run_parallel(DB, ours, 2)
    rows["ours, 2 workers"] = (seconds, peak)
    if min(done) == 0:
        print(f"  warning: one worker found nothing to do: {done}", flush=True)
    _r, seconds, peak = benchlib.run_parallel(DB, oca, 1)
    rows["OCA contract"] = (seconds, peak)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        billed, periods, oca_billed = count_invoices(env, sub_ids, contract_ids)
    if billed != count or periods != count or oca_billed != count:
        raise RuntimeError(
            f"ours 2 workers {billed}/{periods}, OCA {oca_billed}: expected {count} each"
        )
    return rows


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--odoo-config", required=True)
    arguments.add_argument("--sizes", default="2000,10000,20000")
    arguments.add_argument(
        "--draft", action="store_true", help="leave our invoices draft, as OCA does"
    )
    arguments.add_argument("--keep-db", action="store_true")
    options = arguments.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    config = bench_config(options.odoo_config, ensure_oca_contract())
    results = {}
    modules = ["service_model", "contract"]
    with benchlib.own_database(DB, config, modules, keep=options.keep_db) as registry:
        for count in sizes:
            results[count] = bench_size(registry, count, post=not options.draft)
            print_results({count: results[count]})

    print("\nall sizes:")
    return 0 if print_results(results) else 1


def print_results(results):
    """Print the table of ``{N: {run: (seconds, peak MB)}}``; True when every target is met."""
    print(f"\n{'N':>7}  {'run':18}{'invoices/s':>12}{'seconds':>10}{'peak MB':>10}", flush=True)
    ok = True
    for count, rows in results.items():
        for name, (seconds, peak) in rows.items():
            print(f"{count:>7}  {name:18}{count / seconds:>12.1f}{seconds:>10.1f}{peak:>10.0f}")
        oca_s = rows["OCA contract"][0]
        one, two = oca_s / rows["ours, 1 worker"][0], oca_s / rows["ours, 2 workers"][0]
        print(
            f"{'':9}ours / OCA: {one:.2f}x with 1 worker (target 1.2x), {two:.2f}x with 2 (target 2x)"
        )
        ok = ok and one >= 1.2 and two >= 2
    sys.stdout.flush()
    return ok


if __name__ == "__main__":
    sys.exit(main())
