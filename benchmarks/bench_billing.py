"""Billing benchmark: our polling cron (one and two workers) against OCA's contract, fairly.

    bash scripts/sm.sh bench billing [--sizes 2000,20000] [--reps 3] [--mix one|many|both]
                                     [--draft] [--sides ours1,ours2,oca] [--profile]
                                     [--keep-db]

Needs network access once: OCA's ``contract`` addon for Odoo 18.0 (the
``odoo-addon-contract`` wheel from PyPI, pinned below) is downloaded with
``pip download --no-deps`` and unpacked into
``~/.cache/service-model/bench-addons`` (outside the repository; its code is
never committed here). Its dependencies (base, account, product, portal) are
all in Odoo Community.

Creates ``sm_bench_billing`` with service_model and contract, no demo data.
For each size N and customer mix (``one``: every invoice to one customer, an
agency billed for every property; ``many``: N distinct customers) it builds,
in a copy of that database, with SQL copies of records made through the ORM:

- ours: N active subscriptions started a year ago, year 2 due today;
- OCA: N contracts with one yearly line, next invoice date today;

then ``VACUUM ANALYZE``. That copy is the template of every run: each side
of each repetition runs in a fresh ``createdb -T`` copy of it, so every side
starts from the same rows, statistics and no dead rows. The sides, in forked
processes:

- ours, 1 worker: what a cron worker does with our scheduled action: calls
  of ``service.subscription._bill_due_batch()`` (a batch of 100), a commit
  after each, while work remains (the loop of ``ir.cron._run_job``);
- ours, 2 workers: the same in two processes at once (SKIP LOCKED shares
  the queue);
- OCA: ``contract.contract.cron_recurring_create_invoice()`` (its cron),
  then ``action_post()`` of the invoices it made, then a commit.

Both sides do the same work: posted invoices (the shipped default; OCA's
drafts are posted inside its timed window), ``--draft`` compares drafts with
drafts; a creation message on every invoice (ours names the subscription and
the period, OCA's the contract). The order of the sides alternates between
repetitions. Each figure is the median of ``--reps`` repetitions, printed
with its spread (min-max); a ratio is the median of the repetitions' ratios
(each side against OCA in the same repetition, as the load of a shared
machine drifts). For our side it prints the throughput of the
first and of the last tenth of the run (OCA bills in one transaction: no
tenths). Peak memory is the growth of each process's peak resident set
during the run (the larger of the two workers).

Targets (exit status 1 below them): ours >= 2x OCA with one worker and
>= 3.5x with two; our last tenth within 10 % of our first tenth; our peak
memory flat (the largest N within 1.5x + 10 MB of the smallest N).
"""

import argparse
import os
import subprocess
import sys
import time
import zipfile
from datetime import timedelta
from functools import partial
from pathlib import Path

import benchlib

import odoo
from odoo import SUPERUSER_ID, api

DB = "sm_bench_billing"  # the modules, no data: the template of each data set
DATA_DB = "sm_bench_billing_data"  # one size and mix of data: the template of each run
RUN_DB = "sm_bench_billing_run"  # a fresh copy of DATA_DB for each side of each repetition
OURS_1, OURS_2, OCA = "ours, 1 worker", "ours, 2 workers", "OCA contract"
SIDES = {"ours1": OURS_1, "ours2": OURS_2, "oca": OCA}
TARGETS = {OURS_1: 2.0, OURS_2: 3.5}
TENTH_TOLERANCE = 0.9  # our last tenth at least 90 % of our first tenth's throughput
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


def build_data(env, count, mix="one", post=True):
    """N due subscriptions (ours) and N due yearly contracts (OCA), for one customer
    (``mix="one"``) or N customers (``"many"``)."""
    from odoo.addons.service_model.lib import billing_schedule

    # Bulk set-up data in SQL (copies of the one subscription and the one
    # contract made through the ORM, their periods and lines, the customers of
    # the "many" mix): the benchmark's fixture, not the object under test, which
    # reads it through the ORM; N = 20,000 through the workflow would take far
    # longer than the runs, and no business event is meant to fire for it.
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
    if mix == "many":
        spread_customers(cr, partner.id, sub_ids, contract_ids)
    env.invalidate_all()
    return sub_ids, contract_ids


def spread_customers(cr, partner_id, sub_ids, contract_ids):
    """Give each subscription, and each contract, a customer of its own.

    SQL on purpose, as the rest of the fixture (:func:`build_data`): these
    are the benchmark's starting data, not the work it measures; moving
    20,000 customers through the ORM would take longer than the runs and
    would fire the workflow's own reactions (tracking, comms) into the
    measured database."""
    partner_ids = benchlib.clone_rows(cr, "res_partner", partner_id, len(sub_ids))
    # a copy is its own commercial entity and has a name of its own
    cr.execute(
        """UPDATE res_partner SET commercial_partner_id = id,
                  name = name || ' ' || id, complete_name = name || ' ' || id
            WHERE id = ANY(%s)""",
        (partner_ids,),
    )
    cr.execute(
        """UPDATE service_subscription s SET partner_id = c.partner_id
             FROM unnest(%s::int[], %s::int[]) AS c(id, partner_id) WHERE s.id = c.id""",
        (sub_ids, partner_ids),
    )
    cr.execute(
        """UPDATE contract_contract k
              SET partner_id = c.partner_id, commercial_partner_id = c.partner_id,
                  invoice_partner_id = CASE WHEN k.invoice_partner_id IS NULL THEN NULL
                                            ELSE c.partner_id END
             FROM unnest(%s::int[], %s::int[]) AS c(id, partner_id) WHERE k.id = c.id""",
        (contract_ids, partner_ids),
    )
    cr.execute(
        """UPDATE contract_line l SET partner_id = k.partner_id
             FROM contract_contract k WHERE k.id = l.contract_id AND k.id = ANY(%s)""",
        (contract_ids,),
    )


def check_invoices(env, sub_ids, contract_ids, side, count, post):
    """Each side made exactly N invoices, one per period or contract, in the expected state."""
    state = "posted" if post else "draft"
    if side == OCA:
        env.cr.execute(
            """SELECT count(DISTINCT l.move_id), count(DISTINCT c.contract_id),
                      bool_and(m.state = %s)
                 FROM account_move_line l
                 JOIN contract_line c ON c.id = l.contract_line_id
                 JOIN account_move m ON m.id = l.move_id
                WHERE c.contract_id = ANY(%s)""",
            (state, contract_ids),
        )
    else:
        env.cr.execute(
            """SELECT count(*), count(DISTINCT p.id), bool_and(m.state = %s)
                 FROM account_move m
                 JOIN service_billing_period p ON p.id = m.service_billing_period_id
                WHERE p.subscription_id = ANY(%s)""",
            (state, sub_ids),
        )
    invoices, billed, in_state = env.cr.fetchone()
    if invoices != count or billed != count or not in_state:
        raise RuntimeError(
            f"{side}: {invoices} invoices for {billed} records, expected {count} {state}"
        )


# -- the runs ---------------------------------------------------------------------------


def ours(env):
    """A cron worker: one batch per call and a commit after it, while work remains.

    Returns ``(started, [(time of each commit, invoices it billed)])``.
    """
    Subscription = env["service.subscription"]
    started, commits = time.time(), []
    while True:
        done, remaining = Subscription._bill_due_batch()
        env.cr.commit()  # what ir.cron._run_job does after each call
        commits.append((time.time(), done))
        env.invalidate_all()
        if not (done and remaining):
            return started, commits


def oca(env, post):
    """OCA's cron, then, with posting on, its drafts posted in the same timed window."""
    env["contract.contract"].cron_recurring_create_invoice()
    if post:
        env["account.move.line"].search(
            [("contract_line_id", "!=", False), ("parent_state", "=", "draft")]
        ).move_id.action_post()
    return None


def run_side(side, count, post, profile=False):
    """One side in a fresh copy of the data: ``(seconds, peak MB, tenths or None)``.

    ``profile``: run it under cProfile and print its top functions (the
    figures of a profiled run are not counted)."""
    benchlib.copy_database(DATA_DB, RUN_DB)
    registry = odoo.modules.registry.Registry(RUN_DB)  # loaded once, before the fork
    # the statistics refreshed as a production server does, for both sides
    alongside = partial(benchlib.autoanalyze, RUN_DB)
    if side == OCA:
        function = benchlib.profiled(oca, side) if profile else oca
        _results, seconds, peak = benchlib.run_parallel(
            RUN_DB, function, 1, post, alongside=alongside
        )
        tenths = None
    else:
        workers = 1 if side == OURS_1 else 2
        function = benchlib.profiled(ours, side) if profile else ours
        results, seconds, peak = benchlib.run_parallel(
            RUN_DB, function, workers, alongside=alongside
        )
        started = min(result[0] for result in results)
        commits = [commit for result in results for commit in result[1]]
        tenths = benchlib.tenth_rates(commits, started, count)
        if workers == 2 and min(sum(done for _t, done in r[1]) for r in results) == 0:
            print(f"  warning: {side}: one worker found nothing to do", flush=True)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cr.execute("SELECT array_agg(id) FROM service_subscription WHERE state = 'active'")
        sub_ids = cr.fetchone()[0]
        cr.execute("SELECT array_agg(id) FROM contract_contract")
        contract_ids = cr.fetchone()[0]
        check_invoices(env, sub_ids, contract_ids, side, count, post)
    benchlib.drop_database(RUN_DB)
    return seconds, peak, tenths


def bench_case(count, mix, reps, post, sides=None, profile=False):
    """Every side, ``reps`` times, for N = ``count`` and one customer mix:
    ``{side: [(seconds, peak MB, tenths)]}``; with ``profile``, then one
    profiled run of each one-process side."""
    benchlib.copy_database(DB, DATA_DB)
    registry = odoo.modules.registry.Registry(DATA_DB)
    started = time.perf_counter()
    with registry.cursor() as cr:
        build_data(api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"}), count, mix, post)
        cr.commit()
    odoo.sql_db.close_all()
    benchlib.vacuum_analyze(DATA_DB)
    print(f"N={count}, {mix}: data built in {time.perf_counter() - started:.0f} s", flush=True)
    runs = {side: [] for side in (OURS_1, OURS_2, OCA) if side in (sides or SIDES.values())}
    for rep in range(reps):
        # the order of the sides alternates between repetitions
        order = list(runs) if rep % 2 == 0 else list(reversed(runs))
        for side in order:
            runs[side].append(run_side(side, count, post))
            seconds, peak, tenths = runs[side][-1]
            tenths_text = f", tenths {tenths[0]:.1f} -> {tenths[1]:.1f}/s" if tenths else ""
            print(
                f"  rep {rep + 1} {side}: {count / seconds:.1f} inv/s, {peak:.0f} MB{tenths_text}",
                flush=True,
            )
    for side in runs if profile else ():
        if side != OURS_2:  # two processes' profiles would interleave
            run_side(side, count, post, profile=True)
    return runs


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--odoo-config", required=True)
    arguments.add_argument("--sizes", default="2000,20000")
    arguments.add_argument("--reps", type=int, default=3)
    arguments.add_argument("--mix", choices=["one", "many", "both"], default="both")
    arguments.add_argument(
        "--draft", action="store_true", help="compare drafts with drafts (no side posts)"
    )
    arguments.add_argument(
        "--sides",
        default=",".join(SIDES),
        help="comma-separated sides to run, of "
        + ", ".join(SIDES)
        + " (ratios need oca; a long run of ours alone answers the growth question)",
    )
    arguments.add_argument(
        "--profile",
        action="store_true",
        help="then one profiled run of each one-process side: its top functions",
    )
    arguments.add_argument("--keep-db", action="store_true")
    options = arguments.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    mixes = ["one", "many"] if options.mix == "both" else [options.mix]
    post = not options.draft
    unknown = set(options.sides.split(",")) - set(SIDES)
    if unknown:
        arguments.error(
            f"--sides: unknown {', '.join(sorted(unknown))}; choose from {', '.join(SIDES)}"
        )
    sides = [SIDES[name] for name in options.sides.split(",")]

    config = bench_config(options.odoo_config, ensure_oca_contract())
    results = {}
    modules = ["service_model", "contract"]
    with benchlib.own_database(DB, config, modules, keep=options.keep_db):
        try:
            for count in sizes:
                for mix in mixes:
                    results[count, mix] = bench_case(
                        count, mix, options.reps, post, sides, options.profile
                    )
                    print_results({(count, mix): results[count, mix]}, post)
        finally:
            if not options.keep_db:
                benchlib.drop_database(DATA_DB)
            benchlib.drop_database(RUN_DB)
    print(f"\nall sizes ({'posted' if post else 'draft'} invoices, {options.reps} reps):")
    return 0 if print_results(results, post) else 1


def print_results(results, post):
    """Print ``{(N, mix): {side: [(seconds, peak MB, tenths)]}}``: medians and spreads.

    True when every target is met."""
    ok = True
    print(
        f"\n{'N':>7} {'mix':5} {'side':16}{'inv/s (min-max)':>22}{'peak MB':>9}"
        f"{'first tenth':>13}{'last tenth':>12}",
        flush=True,
    )
    for (count, mix), runs in results.items():
        for side, rows in runs.items():
            rate, low, high = benchlib.median_spread([count / seconds for seconds, _p, _t in rows])
            peak = benchlib.median_spread([p for _s, p, _t in rows])[0]
            first = last = ""
            if rows[0][2]:
                first = f"{benchlib.median_spread([t[0] for _s, _p, t in rows])[0]:.1f}/s"
                last = f"{benchlib.median_spread([t[1] for _s, _p, t in rows])[0]:.1f}/s"
            print(
                f"{count:>7} {mix:5} {side:16}{rate:>9.1f} ({low:.1f}-{high:.1f})"
                f"{peak:>9.0f}{first:>13}{last:>12}"
            )
        if OCA not in runs or len(runs) < 2:
            print(f"{'':14}no ratio: {OCA} and one of ours were not both run")
            ok = False
        oca_seconds = [seconds for seconds, _p, _t in runs.get(OCA, [])]
        for side, target in TARGETS.items():
            if side not in runs or not oca_seconds:
                continue
            # paired by repetition: the load of a shared machine drifts between repetitions
            ratio, low, high = benchlib.median_spread(
                [o / s for o, (s, _p, _t) in zip(oca_seconds, runs[side], strict=True)]
            )
            print(
                f"{'':14}{side} / OCA: {ratio:.2f}x (median of the repetitions' ratios, "
                f"{low:.2f}-{high:.2f}), target {target}x{'' if ratio >= target else ': BELOW'}"
            )
            ok = ok and ratio >= target
        tenths = [t for _s, _p, t in runs.get(OURS_1, runs.get(OURS_2, []))]
        if not tenths:
            continue
        growth = benchlib.median_spread([last / first for first, last in tenths])[0]
        print(
            f"{'':14}ours, last tenth / first tenth: {growth:.2f} (target >= {TENTH_TOLERANCE})"
            f"{'' if growth >= TENTH_TOLERANCE else ': BELOW'}"
        )
        ok = ok and growth >= TENTH_TOLERANCE
    ok = check_memory_flat(results) and ok
    sys.stdout.flush()
    return ok


def check_memory_flat(results):
    """Our peak memory at the largest N within 1.5x + 10 MB of the smallest N's, per mix."""
    ok = True
    for mix in {mix for _count, mix in results}:
        counts = sorted(count for count, m in results if m == mix)
        if len(counts) < 2:
            continue
        for side in (OURS_1, OURS_2):
            if side not in results[counts[0], mix]:
                continue
            small, large = (
                benchlib.median_spread([p for _s, p, _t in results[count, mix][side]])[0]
                for count in (counts[0], counts[-1])
            )
            flat = large <= small * 1.5 + 10
            print(
                f"{'':14}{side}, {mix}: peak {small:.0f} MB at N={counts[0]}, {large:.0f} MB at "
                f"N={counts[-1]}{'' if flat else ': NOT FLAT'}"
            )
            ok = ok and flat
    return ok


if __name__ == "__main__":
    sys.exit(main())
