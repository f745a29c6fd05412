"""Portal benchmark: the contractor's jobs against Odoo's own /my/invoices.

    bash scripts/sm.sh bench portal [--sizes 1000,10000] [--requests 30] [--keep-db]

Creates its own database (``sm_bench_portal``, dropped at the end) with
service_model_contractor_portal and no demo data, and two portal users,
each logged in over HTTP with a real session (``/web/login``):

- a contractor with N jobs (one service account each; a sixth overdue, some
  due this week, a tenth done);
- a customer with N posted invoices.

One record of each is made through the ORM (the job by the due-date engine,
the invoice posted); the others are SQL copies of it (see ``grow``). Odoo's
HTTP server runs in a subprocess (``odoo-bin``, threaded, no cron), and for
each size the same number of requests goes to each page, interleaved, so
that both sides meet the same load:

    ours                                      Odoo's own
    /my/counters (the three job counters)     /my/counters (invoice counters)
    /my/jobs                                  /my/invoices
    /my/jobs?filterby=due_soon                /my/invoices?filterby=overdue_invoices
    /my/jobs/<id>                             /my/invoices/<id>

The figures are the server's own, from Odoo's request log (``werkzeug``
lines carry each request's query count, SQL time and Python time): median
and p95 of SQL + Python time, and queries per request. It exits non-zero
when one of our three pages (the list, the filtered list, the job page: the
target) has a higher median than Odoo's page beside it, or when a query
count of ours at the largest size differs from the smallest. The counters
are shown beside Odoo's for information only: ours are three real counts
over the jobs, Odoo's an existence check (``limit=1``) and one count.
"""

import argparse
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import benchlib
import requests

from odoo import SUPERUSER_ID, Command, api

DB = "sm_bench_portal"
PASSWORD = "bench-portal"
# werkzeug's request line, then Odoo's perf columns: queries, SQL seconds, other seconds
REQUEST_LOG = re.compile(
    r'"(?:GET|POST) \S*[?&]bench=(\d+)\S* HTTP/[\d.]+" (\d+) \S+ (\d+) ([\d.]+) ([\d.]+)'
)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
JOB_COUNTERS = ["service_job_count", "service_job_due_soon_count", "service_job_overdue_count"]
INVOICE_COUNTERS = ["invoice_count", "overdue_invoice_count"]


# -- fixtures ----------------------------------------------------------------------------


def portal_user(env, partner, login):
    """Odoo's portal user on ``partner``: the portal group only."""
    env["res.users"].with_context(no_reset_password=True).create(
        {
            "login": login,
            "password": PASSWORD,
            "partner_id": partner.id,
            "groups_id": [Command.set([env.ref("base.group_portal").id])],
        }
    )


def build_templates(env):
    """The contractor's first job and the customer's first invoice, through the ORM."""
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True))
    company = env.company
    company.write({"fiscalyear_lock_date": False, "sale_lock_date": False})
    Partner = env["res.partner"]
    contractor = Partner.create(
        {"name": "Bench Contractor", "is_company": True, "is_service_contractor": True}
    )
    engineer = Partner.create({"name": "Bench engineer", "parent_id": contractor.id})
    portal_user(env, engineer, "bench_contractor")
    # billed to the user's own partner: Odoo's overdue filter lists only those
    customer = Partner.create({"name": "Bench Customer", "email": "customer@bench.example"})
    portal_user(env, customer, "bench_customer")
    owner = env["res.partner"].create({"name": "Bench owner", "email": "owner@bench.example"})
    product = env["product.product"].create(
        {"name": "Bench plan", "type": "service", "list_price": 100.0}
    )
    service_type = env["service.type"].create({"name": "Bench", "product_id": product.id})
    account = env["service.account"].create(
        {
            "property_reference": "BENCH-000000",
            "street": "1 Bench Road",
            "city": "Leeds",
            "end_user_id": owner.id,
            "contractor_id": contractor.id,
            "service_type_id": service_type.id,
            "plan_product_id": product.id,
            "plan_yearly_price": 100.0,
        }
    )
    account.action_start_onboarding()
    account.checklist_item_ids.write({"done": True})
    account.action_activate()
    today = company._service_today()
    account._apply_service_dates(
        [{"account": account, "service_date": today - timedelta(days=200)}]
    )
    invoice = env["account.move"].create(
        {
            "move_type": "out_invoice",
            "partner_id": customer.id,
            "invoice_date": today,
            "invoice_line_ids": [
                Command.create({"product_id": product.id, "quantity": 1, "price_unit": 100.0})
            ],
        }
    )
    invoice.action_post()
    env.flush_all()
    return {
        "job": account.open_job_id.id,
        "account": account.id,
        "invoice": invoice.id,
        "customer": customer.id,
        "today": today,
    }


def grow(env, templates, count, first):
    """``count`` more jobs and invoices, numbered from ``first``.

    Bulk set-up data in SQL: the pages read these records through the ORM
    and the portal's record rules; making 10,000 jobs and invoices through
    the workflow would take far longer than the runs that read them, and no
    business event should fire for a fixture. Accounts are copied column by
    column (their property reference must be unique); jobs and invoices are
    copies of the ORM-made one, then spread over dates and states.
    """
    cr = env.cr
    today = templates["today"]
    cr.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = 'service_account' AND column_name NOT IN ('id', 'property_reference')"
    )
    columns = [f'"{row[0]}"' for row in cr.fetchall()]  # names from the catalogue
    cr.execute(
        f"""INSERT INTO service_account (property_reference, {", ".join(columns)})
            SELECT 'BENCH-' || lpad(n::text, 6, '0'), {", ".join(f"t.{c}" for c in columns)}
              FROM service_account t, generate_series(%s, %s) AS n
             WHERE t.id = %s
          ORDER BY n
         RETURNING id""",
        (first, first + count - 1, templates["account"]),
    )
    account_ids = [row[0] for row in cr.fetchall()]
    job_ids = benchlib.clone_rows(
        cr, "service_job", templates["job"], count, {"access_token": None, "state": "cancelled"}
    )
    # set-up, as above (copied cancelled: one open job per account): one job
    # per account, a sixth overdue, a tenth done
    cr.execute(
        """UPDATE service_job j
              SET account_id = a.account_id,
                  due_date = %s::date + (a.n %% 120) - 20,
                  state = CASE WHEN a.n %% 10 = 0 THEN 'done' ELSE 'accepted' END,
                  completion_date = CASE WHEN a.n %% 10 = 0 THEN %s::date END
             FROM unnest(%s::int[], %s::int[], %s::int[]) AS a(job_id, account_id, n)
            WHERE j.id = a.job_id""",
        (
            today,
            today,
            job_ids,
            account_ids,
            list(range(first, first + count)),
        ),
    )
    move_ids = benchlib.clone_rows(
        cr, "account_move", templates["invoice"], count, {"state": "draft", "access_token": None}
    )
    # set-up, as above: posted under names of their own, a third overdue, and
    # followed by the customer (Odoo's portal rule on invoices reads followers)
    cr.execute(
        """UPDATE account_move m
              SET name = 'BENCH/' || m.id,
                  state = 'posted',
                  invoice_date = %s::date - (m.id %% 700),
                  invoice_date_due = %s::date - (m.id %% 700) + 30,
                  payment_state = CASE WHEN m.id %% 3 = 0 THEN 'paid' ELSE 'not_paid' END
            WHERE m.id = ANY(%s)""",
        (today, today, move_ids),
    )
    cr.execute(
        """INSERT INTO mail_followers (res_model, res_id, partner_id)
           SELECT 'account.move', id, %s FROM unnest(%s::int[]) AS id""",
        (templates["customer"], move_ids),
    )
    cr.execute("ANALYZE")
    return job_ids[len(job_ids) // 2]


# -- the HTTP server and its log ---------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(config, port, logfile):
    odoo_bin = os.path.join(os.environ.get("ODOO_SRC", "/opt/odoo-18.0"), "odoo-bin")
    server = subprocess.Popen(
        [
            sys.executable, odoo_bin, "-c", config, "-d", DB, f"--db-filter=^{DB}$",
            f"--http-port={port}", "--workers=0", "--max-cron-threads=0",
            "--log-level=warn", "--log-handler=werkzeug:INFO", f"--logfile={logfile}",
        ],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if requests.get(f"{url}/web/login", timeout=30).status_code == 200:
                return server, url
        except requests.ConnectionError:
            pass
        if server.poll() is not None:
            raise RuntimeError("the Odoo server stopped while starting; see " + logfile)
        time.sleep(1)
    server.terminate()
    raise RuntimeError("the Odoo server did not answer within 3 minutes")


def login(url, user):
    session = requests.Session()
    csrf = CSRF.search(session.get(f"{url}/web/login", timeout=60).text).group(1)
    response = session.post(
        f"{url}/web/login",
        data={"login": user, "password": PASSWORD, "csrf_token": csrf, "redirect": "/my"},
        timeout=60,
    )
    if response.status_code != 200 or "/web/login" in response.url:
        raise RuntimeError(f"{user} could not log in")
    return session


class Client:
    """Requests tagged with a number that the server's log repeats."""

    def __init__(self, url, logfile):
        self.url, self.logfile, self.tag = url, logfile, 0

    def request(self, session, path, counters=None):
        self.tag += 1
        tagged = f"{path}{'&' if '?' in path else '?'}bench={self.tag}"
        if counters:
            response = session.post(
                f"{self.url}{tagged}",
                data=json.dumps(
                    {"jsonrpc": "2.0", "method": "call", "params": {"counters": counters}}
                ),
                headers={"Content-Type": "application/json"},
                timeout=300,
            )
        else:
            response = session.get(f"{self.url}{tagged}", timeout=300)
        if response.status_code != 200 or (counters and "error" in response.json()):
            raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:500]}")
        return self.tag

    def server_figures(self):
        """``{tag: (queries, seconds)}`` from the server's log."""
        time.sleep(0.5)  # the log line is written after the response
        with open(self.logfile, encoding="utf-8") as log:
            return {
                int(match[1]): (int(match[3]), float(match[4]) + float(match[5]))
                for match in REQUEST_LOG.finditer(log.read())
            }


def percentile(values, share):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(client, pairs, rounds):
    """Interleaved requests of every page; ``{label: (median s, p95 s, queries)}``."""
    tags = {label: [] for pair in pairs for label, _session, _path, _counters in pair}
    for round_ in range(rounds + 2):
        for pair in pairs:
            for label, session, path, counters in pair:
                tag = client.request(session, path, counters)
                if round_ >= 2:  # two warm-up rounds: templates, caches
                    tags[label].append(tag)
    figures = client.server_figures()
    results = {}
    for label, label_tags in tags.items():
        missing = [tag for tag in label_tags if tag not in figures]
        if missing:
            raise RuntimeError(f"{label}: no server log line for {len(missing)} requests")
        seconds = [figures[tag][1] for tag in label_tags]
        queries = sorted({figures[tag][0] for tag in label_tags})
        results[label] = (statistics.median(seconds), percentile(seconds, 0.95), queries)
    return results


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--odoo-config", required=True)
    arguments.add_argument("--sizes", default="1000,10000")
    arguments.add_argument("--requests", type=int, default=30, help="per page and size")
    arguments.add_argument("--keep-db", action="store_true")
    options = arguments.parse_args()
    sizes = sorted(int(size) for size in options.sizes.split(","))

    failures = []
    with benchlib.own_database(
        DB, options.odoo_config, ["service_model_contractor_portal"], keep=options.keep_db
    ) as registry:
        with registry.cursor() as cr:
            templates = build_templates(api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"}))
        handle, logfile = tempfile.mkstemp(prefix="bench_portal_", suffix=".log")
        os.close(handle)
        server, url = start_server(options.odoo_config, free_port(), logfile)
        try:
            client = Client(url, logfile)
            contractor = login(url, "bench_contractor")
            customer = login(url, "bench_customer")
            built, queries_by_size = 1, {}
            print(
                f"{'N':>7}  {'page':<44}{'median ms':>10}{'p95 ms':>9}{'queries':>9}"
                "   (server time: SQL + Python, from Odoo's request log)"
            )
            for size in sizes:
                with registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
                    job_id = grow(env, templates, size - built, built)
                built = size
                pairs = [
                    (
                        ("ours  /my/counters (jobs)", contractor, "/my/counters", JOB_COUNTERS),
                        ("Odoo  /my/counters (invoices)", customer, "/my/counters", INVOICE_COUNTERS),
                    ),
                    (
                        ("ours  /my/jobs", contractor, "/my/jobs", None),
                        ("Odoo  /my/invoices", customer, "/my/invoices", None),
                    ),
                    (
                        ("ours  /my/jobs?filterby=due_soon", contractor,
                         "/my/jobs?filterby=due_soon", None),
                        ("Odoo  /my/invoices?filterby=overdue_invoices", customer,
                         "/my/invoices?filterby=overdue_invoices", None),
                    ),
                    (
                        ("ours  /my/jobs/<id>", contractor, f"/my/jobs/{job_id}", None),
                        ("Odoo  /my/invoices/<id>", customer,
                         f"/my/invoices/{templates['invoice']}", None),
                    ),
                ]  # fmt: skip
                results = measure(client, pairs, options.requests)
                for ours, theirs in pairs:
                    for label, *_rest in (ours, theirs):
                        median, p95, queries = results[label]
                        shown = "/".join(str(q) for q in queries)
                        print(
                            f"{size:>7}  {label:<44}{median * 1000:>10.1f}{p95 * 1000:>9.1f}{shown:>9}"
                        )
                        if label.startswith("ours"):
                            queries_by_size.setdefault(label, {})[size] = queries
                    timed = ours[3] is None  # the counters are shown, not part of the target
                    if timed and results[ours[0]][0] > results[theirs[0]][0]:
                        failures.append(f"N={size}: {ours[0]} is slower than {theirs[0]}")
                print(flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
            os.unlink(logfile)
    for label, by_size in queries_by_size.items():
        if len(set(map(tuple, by_size.values()))) > 1:
            failures.append(f"{label}: queries per request grow with N ({by_size})")
    for failure in failures:
        print(f"FAILED: {failure}")
    if not failures:
        print("OK: each of our pages is no slower than Odoo's beside it; query counts do not grow")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
