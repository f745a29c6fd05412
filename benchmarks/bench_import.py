"""Contractor date import benchmark: ours against Odoo's native import.

    bash scripts/sm.sh bench import [--rows 5000] [--reps 3] [--profile] [--keep-db]

Creates its own database (``sm_bench_import``, dropped at the end), with
``--rows`` active service accounts whose external ids equal their property
references, and one CSV file of new last-service dates for all of them
(``id,last_service_date``, ISO dates a month old: every row creates a job).

Each side runs in a forked process on the same starting data and rolls back
at the end, so neither sees the other's writes; before each side the database
is vacuumed and analysed, the order of the sides alternates between the
``--reps`` repetitions, and each figure is their median with its spread:

- native: ``base_import.import.execute_import`` loading the file onto
  ``service.account`` in one call (the most favourable way to call it: the
  web client sends batches and re-reads the file for each);
- ours: ``service.import`` parse, validate (the preview, engine dry run) and
  apply (engine, jobs created), as the background job runs it.

Both sides do the same work: every row goes through the due-date engine,
creates its job (with its creation message) and tracks the new anchor.

Prints rows per second, the throughput of the first and the last tenth of the
rows (timed at each job creation), and peak memory (growth of the process's
peak resident set during the run) for both, and the ratio of the medians;
exits non-zero below the 3x target. ``--profile`` adds one profiled run of
each side (top functions by cumulative and by own time), not counted.
"""

import argparse
import csv
import io
import sys
import time
from datetime import timedelta
from unittest.mock import patch

import benchlib

from odoo import SUPERUSER_ID, api

DB = "sm_bench_import"
TARGET_RATIO = 3.0


def build_data(env, rows):
    """Active accounts PR-000001.. with external ids, a contractor; the CSV."""
    today = env["res.company"]._service_today()
    contractor = env["res.partner"].create(
        {"name": "Bench Gas Ltd", "is_service_contractor": True, "service_auto_accept": "always"}
    )
    end_user = env["res.partner"].create({"name": "Bench Owner", "email": "owner@example.com"})
    service_type = env["service.type"].create({"name": "Bench inspection", "interval_months": 12})
    template = (
        env["service.account"]
        .with_context(tracking_disable=True)
        .create(
            {
                "property_reference": "PR-000000",
                "name": "Template",
                "street": "1 High Street",
                "city": "Leeds",
                "end_user_id": end_user.id,
                "contractor_id": contractor.id,
                "service_type_id": service_type.id,
            }
        )
    )
    env.flush_all()
    cr = env.cr
    cr.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_name = 'service_account' AND column_name NOT IN ('id', 'property_reference')"""
    )
    columns = [row[0] for row in cr.fetchall()]
    column_list = ", ".join(f'"{name}"' for name in columns)
    # Bulk set-up data: SQL, not the object under test.
    cr.execute(
        f"""INSERT INTO service_account (property_reference, {column_list})
            SELECT 'PR-' || lpad(g::text, 6, '0'), {column_list}
              FROM service_account, generate_series(1, %s) AS g
             WHERE service_account.id = %s""",  # column names come from the catalogue
        (rows, template.id),
    )
    cr.execute(
        """UPDATE service_account SET stage = 'active', last_service_date = %s
            WHERE property_reference != 'PR-000000'""",
        (today - timedelta(days=400),),
    )
    cr.execute(
        """INSERT INTO ir_model_data (module, name, model, res_id, noupdate)
           SELECT '__import__', property_reference, 'service.account', id, FALSE
             FROM service_account WHERE property_reference != 'PR-000000'"""
    )
    cr.execute("DELETE FROM service_account WHERE id = %s", (template.id,))
    env.invalidate_all()
    new_date = (today - timedelta(days=30)).isoformat()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "last_service_date"])
    for number in range(1, rows + 1):
        writer.writerow([f"PR-{number:06d}", new_date])
    return contractor.id, buffer.getvalue().encode()


def native_import(env, data):
    importer = env["base_import.import"].create(
        {
            "res_model": "service.account",
            "file": data,
            "file_name": "dates.csv",
            "file_type": "text/csv",
        }
    )
    result = importer.execute_import(
        ["id", "last_service_date"],
        ["id", "last_service_date"],
        {
            "quoting": '"',
            "separator": ",",
            "has_headers": True,
            "encoding": "utf-8",
            "date_format": "%Y-%m-%d",
            "datetime_format": "",
            "float_thousand_separator": ",",
            "float_decimal_separator": ".",
            "fallback_values": {},
            "name_create_enabled_fields": {},
            "import_set_empty_fields": [],
            "import_skip_records": [],
        },
    )
    errors = [m for m in result.get("messages", []) if m.get("type") == "error"]
    if errors:
        raise RuntimeError(errors[:3])
    return {"updated": len(result["ids"])}


def our_import(env, contractor_id, data):
    contractor = env["res.partner"].browse(contractor_id)
    # Measure the engine itself in one go, not the background job's batches.
    env["ir.config_parameter"].set_param("service_model.import_background_rows", str(10**9))
    record = env["service.import"]._create_from_file(contractor, data, "dates.csv")
    record._validate()
    record._apply()
    record.invalidate_recordset()
    jobs = env["service.job"].search_count([("account_id.property_reference", "like", "PR-%")])
    return {"created": record.created_count, "rejected": record.rejected_count, "jobs": jobs}


def timed(function):
    """``function`` with the job creations timed: returns its result and the
    progress points ``(seconds, jobs created so far)`` for the tenths."""
    from odoo.addons.service_model.models.service_job import ServiceJob

    def run(env, *args):
        original = ServiceJob._create_from_engine
        progress, started = [], time.perf_counter()

        def counting(self, anchors, policies):
            jobs = original(self, anchors, policies)
            done = (progress[-1][1] if progress else 0) + len(jobs)
            progress.append((time.perf_counter() - started, done))
            return jobs

        with patch.object(ServiceJob, "_create_from_engine", counting):
            result = function(env, *args)
            # the run is rolled back, not committed: write what a commit would
            # (the anchors' tracking messages) inside the timed window
            env.cr.precommit.run()
        env.flush_all()
        progress.append((time.perf_counter() - started, progress[-1][1] if progress else 0))
        return result, progress

    return run


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--odoo-config", required=True)
    arguments.add_argument("--rows", type=int, default=5000)
    arguments.add_argument("--reps", type=int, default=3, help="repetitions of each side")
    arguments.add_argument("--keep-db", action="store_true")
    arguments.add_argument(
        "--profile", action="store_true", help="also print each side's top functions (one run each)"
    )
    options = arguments.parse_args()
    rows = options.rows

    modules = ["service_model", "base_import"]
    with benchlib.own_database(DB, options.odoo_config, modules, keep=options.keep_db) as registry:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
            contractor_id, data = build_data(env, rows)
            cr.commit()
        print(
            f"{rows} accounts, file of {len(data) / 1024:.0f} KB, {options.reps} repetitions",
            flush=True,
        )

        sides = {
            "native base_import": (timed(native_import), (data,)),
            "service.import": (timed(our_import), (contractor_id, data)),
        }
        figures = {label: {"rate": [], "first": [], "last": [], "mb": []} for label in sides}
        for rep in range(options.reps):
            for label in benchlib.side_order(sides, rep):
                function, args = sides[label]
                benchlib.vacuum_analyze(DB)
                (result, progress), seconds, peak_mb = benchlib.run_forked(DB, function, *args)
                jobs = progress[-1][1]
                if jobs != rows:
                    raise RuntimeError(f"{label} created {jobs} jobs out of {rows}: {result}")
                first, last = benchlib.progress_tenths(progress, rows)
                figures[label]["rate"].append(rows / seconds)
                figures[label]["first"].append(first)
                figures[label]["last"].append(last)
                figures[label]["mb"].append(peak_mb)
                print(
                    f"  rep {rep + 1}: {label:<20} {rows / seconds:>7.0f} rows/s {seconds:>7.1f} s",
                    flush=True,
                )

        print("median [lowest-highest] of the repetitions")
        benchlib.print_figures(
            figures,
            [
                ("rate", "rows/s"),
                ("first", "first tenth"),
                ("last", "last tenth"),
                ("mb", "peak MB"),
            ],
        )
        ratio = benchlib.median_ratio(figures, "service.import", "native base_import")
        print(
            f"ours / native: {ratio:.2f}x rows per second (target: {TARGET_RATIO:g}x)", flush=True
        )

        if options.profile:
            benchlib.run_forked(DB, benchlib.profiled(native_import, "native base_import"), data)
            benchlib.run_forked(
                DB, benchlib.profiled(our_import, "service.import"), contractor_id, data
            )
        return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
