"""Communications benchmark: the daily reminder run against a native time-based automated action.

    bash scripts/sm.sh bench comms [--sizes 5000,50000] [--reps 3] [--native-max N]
                                   [--batch-sizes 100,500] [--keep-db] [--reuse-db]

Creates its own database (``sm_bench_comms``, dropped at the end) with
service_model_comms and no demo data. For each size N it builds, with SQL
copies of records made through the ORM, N active service accounts with an
open job each, all falling due in the coming week, and a realistic mix of
stakeholders: an end user of its own per account (most with an email, most
with a UK mobile), 50 contractors (all with an email, half with a mobile),
an agency on 30 % of the accounts (a third of those reached through the
agency), 1 % of the accounts marked do-not-contact, half of the jobs
auto-accepted. Quiet hours are off, so that every SMS is queued whatever the
hour of the run.

Then, each in a forked process started from the same data, ``--reps`` times
(3 by default; the order of the sides alternates between repetitions, and
before each side the last one's messages are deleted and the database is
vacuumed and analysed):

- ours: the daily run as the cron workers run it: ``ir.cron._process_job``
  of the reminder cron (``_cron_dispatch_job_reminders`` queues the due jobs,
  a row of 1,000 each) and then of the dispatch cron it wakes, called again
  while it reports work remaining through ``_notify_progress`` (one row per
  call, 10 calls per job run, a commit after each, as ``ir.cron._run_job``
  does). It evaluates every stakeholder of the matrix's ``job_due_soon``
  rules, logs every decision and queues every message (``mail.mail`` and
  ``sms.sms`` created, not sent);
- native: a ``base.automation`` with the time-based trigger ``on_time``
  (``trg_date_id`` = the job's due date, 7 days before) on open jobs, and a
  "Send Email" server action (``state = 'mail_post'``, ``mail_post_method =
  'email'``: queued ``mail.mail``, not sent) with the same job template,
  its recipients (the end user and the contractor) in ``partner_to``, run by
  base_automation's cron (``base.automation._check``) through the same
  ``ir.cron._process_job``.

A message is one delivery to one person on one channel: a recipient of a
queued ``mail.mail`` (the native mail has two) or a queued ``sms.sms``.
Prints messages and decisions per second and peak memory (growth of the
process's peak resident set during the run) side by side, each the median
[lowest-highest] of the repetitions, then the queries
of one call of the dispatch cron at two batch sizes (``--batch-sizes``; a
rolled-back transaction, a warm-up call first). Exits non-zero when a target
is missed: ours >= 10x the native messages per second at every size; our
peak memory at the largest size within ``MEMORY_TOLERANCE_MB`` of the
smallest; the dispatch cron's queries per batch the same at both batch
sizes but for the ORM's multi-row INSERT statements (one per 100 rows per
table, see ``INSERT_BATCH_SIZE`` in odoo/models.py).
"""

import argparse
import contextlib
import re
import sys
import time
from datetime import timedelta

import benchlib

import odoo
from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

DB = "sm_bench_comms"
TARGET_RATIO = 10
MEMORY_TOLERANCE_MB = 10
CONTRACTORS = 50
AGENCIES = 20
REMINDER_CRON = "service_model_comms.ir_cron_job_reminders"
DISPATCH_CRON = "service_model_comms.ir_cron_dispatch_events"
NATIVE_CRON = "base_automation.ir_cron_data_base_automation_check"


# -- data ---------------------------------------------------------------------------------


def setup_database(env):
    """Once per database: company settings, stakeholder pools, the native automation."""
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True))
    # a reused database: the previous runs' jobs and automation leave. SQL, as
    # for every job state the fixture moves: through the ORM a state change runs
    # the workflow (hand-offs, comms events), which is what the runs measure
    retire_jobs(env.cr, None)
    env["base.automation"].search([("name", "=like", "Bench:%")]).unlink()
    uk = env.ref("base.uk")
    env.company.write(
        {
            "country_id": uk.id,
            "email": "service@bench.example",
            "service_comm_email_enabled": True,
            "service_comm_sms_enabled": True,
            "service_comm_quiet_start": 0.0,  # no quiet hours: every SMS is queued now
            "service_comm_quiet_end": 0.0,
        }
    )
    Partner = env["res.partner"]
    contractors = Partner.create(
        [
            {
                "name": f"Contractor {n}",
                "is_company": True,
                "is_service_contractor": True,
                "email": f"jobs@contractor{n}.example",
                "mobile": f"07911 12{n:04d}" if n % 2 else False,
                "country_id": uk.id,
            }
            for n in range(CONTRACTORS)
        ]
    )
    agencies = Partner.create(
        [
            {
                "name": f"Agency {n}",
                "is_company": True,
                "is_service_agency": True,
                "email": f"lettings@agency{n}.example",
                "mobile": f"07911 13{n:04d}",
                "country_id": uk.id,
            }
            for n in range(AGENCIES)
        ]
    )
    native_template = env.ref("service_model_comms.mail_template_job_due_soon").copy(
        {
            "name": "Bench: job due soon (native)",
            "partner_to": "{{ object.account_id.end_user_id.id }},{{ object.contractor_id.id }}",
        }
    )
    automation = env["base.automation"].create(
        {
            "name": "Bench: job due soon (native)",
            "model_id": env.ref("service_model.model_service_job").id,
            "trigger": "on_time",
            "trg_date_id": env.ref("service_model.field_service_job__due_date").id,
            "trg_date_range": -7,
            "trg_date_range_type": "day",
            "trg_date_calendar_id": False,
            "filter_domain": "[('state', 'in', ('pending', 'accepted', 'in_progress'))]",
        }
    )
    env["ir.actions.server"].create(
        {
            "name": "Bench: send the due-soon email (native)",
            "model_id": automation.model_id.id,
            "usage": "base_automation",
            "base_automation_id": automation.id,
            "state": "mail_post",
            "mail_post_method": "email",
            "template_id": native_template.id,
        }
    )
    env.flush_all()
    return contractors.ids, agencies.ids, automation.id


def build_jobs(env, count, contractor_ids, agency_ids):
    """N active accounts, an open job each due in the coming week: the job ids."""
    cr = env.cr
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True))
    today = env.company._service_today()
    prefix = f"C{count}-{env['service.account'].search_count([])}"
    owner = env["res.partner"].create(
        {"name": "Bench owner", "email": "owner@bench.example", "country_id": env.ref("base.uk").id}
    )
    product = env["product.product"].create({"name": f"Bench plan {count}", "type": "service"})
    service_type = env["service.type"].create({"name": f"Bench {count}", "product_id": product.id})
    template = env["service.account"].create(
        {
            "service_type_id": service_type.id,
            "property_reference": f"{prefix}-TEMPLATE",
            "street": "1 Bench Road",
            "city": "Leeds",
            "end_user_id": owner.id,
            "contractor_id": contractor_ids[0],
            "plan_product_id": product.id,
            "plan_yearly_price": 100.0,
        }
    )
    template.action_start_onboarding()
    template.checklist_item_ids.write({"done": True})
    template.action_activate()
    template.last_service_date = today - timedelta(days=360)
    template_job = template.open_job_id
    env.flush_all()

    # Bulk set-up data in SQL: the accounts, end users and jobs are the
    # benchmark's fixture, not the object under test (both sides read them
    # through the ORM); creating them through the workflow would take far
    # longer than the runs it measures.
    owner_ids = benchlib.clone_rows(cr, "res_partner", owner.id, count)
    cr.execute(
        """UPDATE res_partner p
              SET name = 'Owner ' || o.n,
                  email = CASE WHEN o.n %% 20 = 0 THEN NULL ELSE 'owner' || o.n || '@bench.example' END,
                  email_normalized = CASE WHEN o.n %% 20 = 0 THEN NULL
                                          ELSE 'owner' || o.n || '@bench.example' END,
                  mobile = CASE WHEN o.n %% 10 < 7 THEN '07911 0' || lpad((o.n %% 100000)::text, 5, '0')
                           END,
                  phone_sanitized = CASE WHEN o.n %% 10 < 7
                                         THEN '+4479110' || lpad((o.n %% 100000)::text, 5, '0') END,
                  tz = 'Europe/London'
             FROM unnest(%s::int[]) WITH ORDINALITY AS o(id, n)
            WHERE p.id = o.id""",
        (owner_ids,),
    )
    contractor = ("(%s::int[])[o.n %% %s + 1]", [contractor_ids, len(contractor_ids)])
    account_ids = copy_rows(
        cr,
        "service_account",
        template.id,
        owner_ids,
        {
            "property_reference": ("%s || '-' || o.n", [prefix]),
            "end_user_id": ("o.id", []),
            "bill_to_partner_id": ("o.id", []),
            "contractor_id": contractor,
            "agency_id": (
                "CASE WHEN o.n %% 10 < 3 THEN (%s::int[])[o.n %% %s + 1] END",
                [agency_ids, len(agency_ids)],
            ),
            "comm_via_agency": ("o.n %% 10 = 0", []),
            "comm_do_not_contact": ("o.n %% 100 = 99", []),
        },
    )
    job_ids = copy_rows(
        cr,
        "service_job",
        template_job.id,
        account_ids,
        {
            "account_id": ("o.id", []),
            "contractor_id": contractor,
            "state": ("'accepted'", []),
            "is_auto_accepted": ("o.n %% 2 = 0", []),
            "due_date": ("%s::date + 1 + (o.n %% 7)::int", [today]),
        },
    )
    retire_jobs(cr, [template_job.id])
    clear_messages(env)
    env.invalidate_all()
    cr.execute("ANALYZE")
    return job_ids


def copy_rows(cr, table, template_id, ids, expressions):
    """Insert one copy of row ``template_id`` of ``table`` per id of ``ids``; return
    the new ids in order. ``expressions``: ``{column: (SQL, params)}`` over ``o.id``
    (the id of ``ids``) and ``o.n`` (its rank, from 1) instead of the copied value."""
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name != 'id'",
        (table,),
    )
    columns = [row[0] for row in cr.fetchall()]
    # names come from the catalogue and the expressions from this file; values are parameters
    select = ", ".join(
        expressions[name][0] if name in expressions else f't."{name}"' for name in columns
    )
    params = [param for name in columns if name in expressions for param in expressions[name][1]]
    cr.execute(
        f"""INSERT INTO "{table}" ({", ".join(f'"{name}"' for name in columns)})
            SELECT {select} FROM "{table}" t, unnest(%s::int[]) WITH ORDINALITY AS o(id, n)
             WHERE t.id = %s
          ORDER BY o.n
         RETURNING id""",
        [*params, ids, template_id],
    )
    return [row[0] for row in cr.fetchall()]


def clear_messages(env):
    """Set-up: forget what a run (or the fixture's own events) logged and queued."""
    env = env(user=SUPERUSER_ID)
    env.flush_all()
    # A run leaves up to a few hundred thousand decisions, emails and SMS: they
    # go in three set-based statements (the ORM would unlink them row by row,
    # for longer than the runs take); nothing else refers to them.
    env.cr.execute("DELETE FROM service_comm_decision")
    env.cr.execute("DELETE FROM sms_sms")
    env.cr.execute(
        "DELETE FROM mail_message WHERE id IN (SELECT mail_message_id FROM mail_mail)"
    )  # cascades to mail_mail
    env.invalidate_all()
    # the few queue rows, triggers and progress records: through the ORM
    env["service.comm.event"].search([]).unlink()
    env["ir.cron.trigger"].search([]).unlink()
    env["ir.cron.progress"].search([]).unlink()
    env["base.automation"].with_context(active_test=False).search([]).write({"last_run": False})
    env.flush_all()


def retire_jobs(cr, job_ids, state="cancelled"):
    """Set-up: jobs leave the run (``cancelled``) or come back to it (``accepted``);
    all of them when ``job_ids`` is None.

    SQL on purpose: through the ORM a job's state change runs the workflow
    (hand-offs, comms events), and the fixture must not measure or queue those.
    """
    if job_ids is None:
        cr.execute("UPDATE service_job SET state = %s", (state,))
    else:
        cr.execute("UPDATE service_job SET state = %s WHERE id = ANY(%s)", (state, list(job_ids)))


def count_results(cr, job_ids):
    """(decisions, emails' recipients, SMS) the run left for ``job_ids``."""
    cr.execute(
        "SELECT count(*) FROM service_comm_decision WHERE res_model = 'service.job' AND res_id = ANY(%s)",
        (job_ids,),
    )
    decisions = cr.fetchone()[0]
    # the queue holds this run's messages only (cleared before each side)
    cr.execute("SELECT count(*) FROM mail_mail_res_partner_rel")
    emails = cr.fetchone()[0]
    cr.execute("SELECT count(*) FROM sms_sms")
    return decisions, emails, cr.fetchone()[0]


# -- the runs -----------------------------------------------------------------------------


def run_crons(env, xmlids):
    """What a cron worker does with these scheduled actions, until none is ready:
    ``_acquire_one_job`` then ``_process_job`` (which calls the action again
    while it reports progress, and reschedules it at once when work remains)."""
    IrCron = env.registry["ir.cron"]
    cron_ids = [env.ref(xmlid).id for xmlid in xmlids]
    env["ir.cron"].browse(cron_ids[:1]).write(
        {"nextcall": odoo.fields.Datetime.now(), "active": True}
    )
    env.flush_all()
    env.cr.commit()
    db = odoo.sql_db.db_connect(env.cr.dbname)
    job_runs = 0
    while True:
        ran = False
        with db.cursor() as cron_cr:
            for cron_id in cron_ids:
                job = IrCron._acquire_one_job(cron_cr, cron_id)
                if job:
                    IrCron._process_job(db, cron_cr, job)
                    job_runs += 1
                    ran = True
                else:
                    cron_cr.rollback()
        if not ran:
            return job_runs


def ours(env):
    return run_crons(env, [REMINDER_CRON, DISPATCH_CRON])


def native(env):
    return run_crons(env, [NATIVE_CRON])


def dispatch_queries(env, job_ids, batch_size):
    """Queries of one call of the dispatch cron on a queued row of ``batch_size``
    jobs (after a warm-up call on another row); rolled back by the caller."""
    Queue = env["service.comm.event"]
    jobs = env["service.job"].browse(job_ids[: 2 * batch_size])
    keys = {job.id: "bench" for job in jobs}
    Queue._enqueue("job_due_soon", jobs, keys, batch_size=batch_size)
    env.flush_all()
    env.invalidate_all()
    Queue._cron_dispatch_events()  # warm-up: caches, templates, translations
    env.flush_all()
    env.invalidate_all()
    statements = []
    cr = env.cr
    execute = cr.execute

    def counting(query, params=None, log_exceptions=True):
        statements.append(query.code if isinstance(query, SQL) else str(query))
        return execute(query, params, log_exceptions)

    cr.execute = counting
    try:
        Queue._cron_dispatch_events()
        env.flush_all()
    finally:
        cr.execute = execute
    inserts = sum(1 for s in statements if re.match(r"\s*INSERT\b", s, re.IGNORECASE))
    decisions = env["service.comm.decision"].search_count([("occurrence_key", "=", "bench")])
    return len(statements), inserts, decisions


# -- the benchmark ------------------------------------------------------------------------


def bench_size(registry, count, pools, native_max, reps):
    """Both sides ``reps`` times on the same N jobs: ``({side: [(seconds, peak MB,
    decisions, messages, jobs)]}, job ids)``. Before each side the messages of the
    last one are deleted and the database is vacuumed and analysed (the same rows,
    statistics and no dead rows for each); the order alternates between repetitions."""
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
        started = time.perf_counter()
        job_ids = build_jobs(env, count, *pools)
        cr.commit()
    with registry.cursor() as cr:
        clear_messages(api.Environment(cr, SUPERUSER_ID, {}))  # the fixture's own events
        cr.commit()
    print(f"N={count}: data built in {time.perf_counter() - started:.0f} s", flush=True)
    sides = {"ours": ours, "native": native}
    rows = {label: [] for label in sides}
    for rep in range(reps):
        for label in benchlib.side_order(sides, rep):
            # native on its first native_max jobs only (set-up: the others leave the run)
            left_out = job_ids[native_max:] if label == "native" else []
            with registry.cursor() as cr:
                retire_jobs(cr, left_out)
                cr.commit()
            odoo.sql_db.close_all()
            benchlib.vacuum_analyze(DB)
            _r, seconds, peak = benchlib.run_parallel(DB, sides[label], 1)
            with registry.cursor() as cr:
                decisions, emails, sms = count_results(cr, job_ids)
                clear_messages(api.Environment(cr, SUPERUSER_ID, {}))
                retire_jobs(cr, left_out, "accepted")
                cr.commit()
            row = (seconds, peak, decisions, emails + sms, count - len(left_out))
            rows[label].append(row)
            print(
                f"  rep {rep + 1} {label}: {seconds:.1f} s, {decisions} decisions, "
                f"{emails} emails, {sms} SMS, {row[3] / seconds:.1f} messages/s, "
                f"peak {peak:.0f} MB",
                flush=True,
            )
            if (label == "ours" and decisions < count) or (
                label == "native" and row[3] != 2 * row[4]
            ):
                raise RuntimeError(f"N={count}: {label} did not process every job: {row}")
    with registry.cursor() as cr:
        retire_jobs(cr, job_ids)
        cr.commit()
    return rows, job_ids


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--odoo-config", required=True)
    arguments.add_argument("--sizes", default="5000,50000")
    arguments.add_argument("--batch-sizes", default="100,500")
    arguments.add_argument("--reps", type=int, default=3, help="repetitions of each size")
    arguments.add_argument(
        "--native-max",
        type=int,
        default=50000,
        help="time the native side on at most this many of the N jobs (it is slow)",
    )
    arguments.add_argument("--keep-db", action="store_true")
    arguments.add_argument(
        "--reuse-db", action="store_true", help="run on the database a --keep-db run left"
    )
    options = arguments.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    batch_sizes = [int(size) for size in options.batch_sizes.split(",")]

    results = {}
    modules = ["service_model_comms"]
    if options.reuse_db:
        odoo.tools.config.parse_config(["-c", options.odoo_config, "-d", DB, "--log-level=warn"])
        database = contextlib.nullcontext(odoo.modules.registry.Registry(DB))
    else:
        database = benchlib.own_database(DB, options.odoo_config, modules, keep=options.keep_db)
    with database as registry:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
            *pools, _automation = setup_database(env)
            cr.commit()
        job_ids = []
        for count in sizes:
            results[count], job_ids = bench_size(
                registry, count, pools, options.native_max, options.reps
            )
            print_results({count: results[count]})
        # the last size's jobs, back in the run for the query count
        with registry.cursor() as cr:
            retire_jobs(cr, job_ids, "accepted")
            cr.commit()
        queries = {}
        for batch_size in batch_sizes:
            queries[batch_size], _s, _p = benchlib.run_forked(
                DB, dispatch_queries, job_ids, batch_size
            )
    print("\nall sizes:")
    ok = print_results(results)
    return 0 if print_queries(queries) and ok else 1


def print_results(results):
    """The table of ``{N: {side: [(seconds, peak MB, decisions, messages, jobs)]}}``,
    medians [lowest-highest] of the repetitions; True when ours is at least
    ``TARGET_RATIO`` times native (the median of the repetitions' ratios) and its
    peak memory is flat."""
    print(
        f"\n{'N':>7}  {'side':8}{'jobs':>7}{'messages/s':>22}{'decisions/s':>14}"
        f"{'messages':>10}{'seconds':>18}{'peak MB':>14}",
        flush=True,
    )
    ok = True
    for count, rows in results.items():
        for side, runs in rows.items():
            rates = [messages / seconds for seconds, _p, _d, messages, _j in runs]
            decisions = (
                f"{benchlib.median_spread([d / s for s, _p, d, _m, _j in runs])[0]:>14.0f}"
                if side == "ours"
                else f"{'-':>14}"
            )
            print(
                f"{count:>7}  {side:8}{runs[0][4]:>7}{benchlib.fmt_spread(rates, 9):>22}"
                f"{decisions}{runs[0][3]:>10}"
                f"{benchlib.fmt_spread([r[0] for r in runs], 7):>18}"
                f"{benchlib.fmt_spread([r[1] for r in runs], 5):>14}"
            )
        # paired by repetition: the load of a shared machine drifts between repetitions
        ratio, low, high = benchlib.median_spread(
            [
                (o[3] / o[0]) / (n[3] / n[0])
                for o, n in zip(rows["ours"], rows["native"], strict=True)
            ]
        )
        print(
            f"{'':9}ours / native: {ratio:.1f}x messages per second [{low:.1f}-{high:.1f}] "
            f"(target {TARGET_RATIO}x){'' if ratio >= TARGET_RATIO else ': BELOW'}"
        )
        ok = ok and ratio >= TARGET_RATIO
    peaks = [benchlib.median_spread([r[1] for r in rows["ours"]])[0] for rows in results.values()]
    if len(peaks) > 1:
        growth = peaks[-1] - peaks[0]
        flat = growth <= MEMORY_TOLERANCE_MB
        print(
            f"{'':9}our peak memory (median) from N={min(results)} to N={max(results)}: "
            f"{growth:+.0f} MB (target: within {MEMORY_TOLERANCE_MB} MB) "
            f"{'flat' if flat else 'NOT flat'}"
        )
        ok = ok and flat
    sys.stdout.flush()
    return ok


def print_queries(queries):
    """``{batch size: (statements, INSERT statements, decisions)}``; True when the
    statements other than the ORM's multi-row INSERTs do not change with the batch."""
    print(f"\n{'batch':>7}{'queries':>9}{'INSERTs':>9}{'others':>8}  (one dispatch cron call)")
    for batch_size, (statements, inserts, _decisions) in queries.items():
        print(f"{batch_size:>7}{statements:>9}{inserts:>9}{statements - inserts:>8}")
    others = {statements - inserts for statements, inserts, _d in queries.values()}
    constant = len(others) == 1
    print(
        f"queries per batch other than multi-row INSERTs: "
        f"{'constant' if constant else 'NOT constant'} in the batch size"
    )
    return constant


if __name__ == "__main__":
    sys.exit(main())
