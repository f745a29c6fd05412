"""What the benchmarks share: a database of their own and measured runs.

Each measured run happens in a forked child process on a fresh cursor, so
that its peak memory is its own (on Linux the peak resident set is reset when
the run starts) and so that several runs can work on one queue at once.
"""

import cProfile
import os
import pickle
import pstats
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, nullcontext

import psycopg2
import psycopg2.sql

import odoo
from odoo import SUPERUSER_ID, api


def rss_kb(field):
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in KB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss():
    # Linux >= 4.0: writing 5 to clear_refs resets VmHWM (the peak) to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def fork_measured(db, function, *args, commit=True):
    """Start ``function(env, *args)`` in a child process on a fresh cursor of ``db``.

    The child commits at the end (``commit``) or rolls back. Returns a handle
    for :func:`collect`.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    os.close(read_end)
    status = 0
    try:
        registry = odoo.modules.registry.Registry(db)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tz": "UTC"})
            reset_peak_rss()
            start_rss = rss_kb("VmRSS")
            started = time.time()
            result = function(env, *args)
            env.flush_all()
            if commit:
                cr.commit()
            ended = time.time()
            peak_mb = (rss_kb("VmHWM") - start_rss) / 1024
            if not commit:
                cr.rollback()
        payload = pickle.dumps((result, started, ended, peak_mb))
    except BaseException as error:  # reported by the parent
        payload = pickle.dumps(RuntimeError(repr(error)))
        status = 1
    with os.fdopen(write_end, "wb") as pipe:
        pipe.write(payload)
    os._exit(status)


def collect(children):
    """Wait for the children of :func:`fork_measured`: ``[(result, started, ended, peak MB)]``."""
    results = []
    for pid, read_end in children:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pickle.loads(pipe.read())
        os.waitpid(pid, 0)
        if isinstance(payload, Exception):
            raise payload
        results.append(payload)
    return results


def run_parallel(db, function, workers, *args, commit=True, alongside=None):
    """``function`` in ``workers`` processes at once: (results, wall seconds, largest peak MB).

    ``alongside``: a context manager factory, entered once the children are
    started and left when they are done (e.g. :func:`autoanalyze`)."""
    odoo.sql_db.close_all()  # a forked child must not share the parent's connections
    children = [fork_measured(db, function, *args, commit=commit) for _worker in range(workers)]
    with alongside() if alongside else nullcontext():
        results = collect(children)
    seconds = max(r[2] for r in results) - min(r[1] for r in results)
    return [r[0] for r in results], seconds, max(r[3] for r in results)


def run_forked(db, function, *args):
    """``function`` in one child process, rolled back: (result, seconds, peak MB)."""
    results, seconds, peak_mb = run_parallel(db, function, 1, *args, commit=False)
    return results[0], seconds, peak_mb


@contextmanager
def own_database(db, config, modules, keep=False):
    """Create ``db`` with ``modules`` and no demo data; yield its registry; drop it after."""
    odoo_bin = os.path.join(os.environ.get("ODOO_SRC", "/opt/odoo-18.0"), "odoo-bin")
    subprocess.run(["dropdb", "--if-exists", db], check=True)
    print(f"creating {db} ({', '.join(modules)}, no demo data)", flush=True)
    subprocess.run(
        [
            sys.executable, odoo_bin, "-c", config, "-d", db, "--log-level=warn",
            "-i", ",".join(modules), "--without-demo=all", "--stop-after-init",
        ],
        check=True,
    )  # fmt: skip
    try:
        odoo.tools.config.parse_config(["-c", config, "-d", db, "--log-level=warn"])
        yield odoo.modules.registry.Registry(db)
    finally:
        if not keep:
            odoo.sql_db.close_all()
            subprocess.run(["dropdb", "--if-exists", db], check=False)


def clone_rows(cr, table, template_id, count, overrides=None):
    """Insert ``count`` copies of row ``template_id`` of ``table``; return the new ids.

    Bulk set-up data in SQL: the benchmarks' fixtures, not the object under
    test; copying a row is far cheaper than creating it again through the ORM.
    """
    overrides = overrides or {}
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name != 'id'",
        (table,),
    )
    columns = [row[0] for row in cr.fetchall()]
    # names come from the catalogue, values are parameters
    select = ", ".join("%s" if name in overrides else f'"{name}"' for name in columns)
    params = [overrides[name] for name in columns if name in overrides]
    cr.execute(
        f"""INSERT INTO "{table}" ({", ".join(f'"{name}"' for name in columns)})
            SELECT {select} FROM "{table}", generate_series(1, %s)
             WHERE "{table}".id = %s
         RETURNING id""",
        [*params, count, template_id],
    )
    return [row[0] for row in cr.fetchall()]


# -- fair runs: the same starting state for every side, repeated -----------------------------


def copy_database(template, name):
    """``name`` as a fresh copy of ``template`` (``createdb -T``); any registry of ``name`` is
    forgotten, so that the next ``Registry(name)`` loads the copy."""
    drop_database(name)  # and createdb -T needs the template without connections
    subprocess.run(["createdb", "-T", template, name], check=True)


def drop_database(name):
    """Drop ``name`` if it exists (quietly) and forget its registry."""
    odoo.sql_db.close_all()
    odoo.modules.registry.Registry.delete(name)
    quiet = dict(os.environ, PGOPTIONS="-c client_min_messages=warning")
    subprocess.run(["dropdb", "--if-exists", name], check=False, env=quiet)


def vacuum_analyze(db):
    """``VACUUM ANALYZE`` of ``db``: no dead rows, fresh statistics (outside a transaction)."""
    # as the database's owner: the shared catalogs are skipped, say nothing of them
    quiet = dict(os.environ, PGOPTIONS="-c client_min_messages=error")
    subprocess.run(["psql", "-q", "-d", db, "-c", "VACUUM ANALYZE"], check=True, env=quiet)


@contextmanager
def autoanalyze(db, naptime=60, threshold=50, scale_factor=0.1):
    """While the block runs, what PostgreSQL's autovacuum does for the planner's
    statistics with its default settings (``autovacuum_naptime`` 1 min,
    ``autovacuum_analyze_threshold`` 50, ``autovacuum_analyze_scale_factor``
    0.1): every ``naptime`` seconds, ``ANALYZE`` each table of ``db`` changed by
    more than ``threshold + scale_factor * rows`` since its last analysis.

    Only where autovacuum is off (this machine's PostgreSQL has it off for CI):
    a production server refreshes its statistics as tables grow, and a run
    that starts on an empty table and adds tens of thousands of rows must not
    be measured with the plans of an empty table.
    """
    config = odoo.tools.config
    params = {
        "dbname": db,
        "host": config["db_host"] or None,
        "port": config["db_port"] or None,
        "user": config["db_user"] or None,
        "password": config["db_password"] or None,
    }
    connection = psycopg2.connect(**{k: v for k, v in params.items() if v is not None})
    connection.autocommit = True
    with connection.cursor() as cr:
        cr.execute("SHOW autovacuum")
        running = cr.fetchone()[0] == "on"
    stop = threading.Event()

    def analyze():
        while not stop.wait(naptime):
            with connection.cursor() as cr:
                cr.execute(
                    """SELECT s.relname FROM pg_stat_user_tables s
                         JOIN pg_class c ON c.oid = s.relid
                        WHERE s.n_mod_since_analyze > %s + %s * GREATEST(c.reltuples, 0)""",
                    (threshold, scale_factor),
                )
                for (table,) in cr.fetchall():
                    cr.execute(
                        psycopg2.sql.SQL("ANALYZE {}").format(psycopg2.sql.Identifier(table))
                    )

    worker = None if running else threading.Thread(target=analyze, daemon=True)
    if worker:
        worker.start()
    try:
        yield
    finally:
        stop.set()
        if worker:
            worker.join()
        connection.close()


def median_spread(values):
    """``(median, min, max)`` of ``values``."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return median, ordered[0], ordered[-1]


def tenth_rates(events, started, total):
    """Throughput of the first and of the last tenth of a run, in items per second.

    ``events``: ``(time, items done)`` at each commit, of every worker; ``started``: when the
    run began. The first tenth is measured up to the first commit that reaches a tenth of
    ``total``, the last from the last commit before nine tenths to the end.
    """
    events = sorted(events)
    done, timeline = 0, []
    for moment, items in events:
        done += items
        timeline.append((moment, done))
    first_at, first_done = next((t, d) for t, d in timeline if d >= total / 10)
    last_from, last_base = started, 0
    for moment, items in timeline:
        if items > total * 9 / 10:
            break
        last_from, last_base = moment, items
    ended = timeline[-1][0]
    return first_done / (first_at - started), (done - last_base) / (ended - last_from)


def side_order(sides, rep):
    """The sides in the order of repetition ``rep``: as given, then reversed, and so on
    (neither side always runs first, on a warmer or a more bloated database)."""
    return list(sides) if rep % 2 == 0 else list(reversed(sides))


def progress_tenths(progress, total):
    """:func:`tenth_rates` of a run whose ``progress`` lists ``(seconds since its
    start, items done so far)`` points, the last one at its end."""
    events, previous = [], 0
    for seconds, done in sorted(progress):
        events.append((seconds, done - previous))
        previous = done
    return tenth_rates(events, 0.0, total)


def fmt_spread(values, width=9):
    """``median [lowest-highest]`` of ``values``, the median right-aligned in ``width``."""
    median, low, high = median_spread(values)
    return f"{median:>{width}.0f} [{low:.0f}-{high:.0f}]"


def print_figures(figures, columns):
    """One line per side: the median [lowest-highest] of each column.

    ``figures`` maps a side's label to ``{key: [one value per repetition]}``;
    ``columns`` lists ``(key, heading)`` in the order to print.
    """
    print(f"{'side':<24}" + "".join(f"{heading:>22}" for _key, heading in columns))
    for label, values in figures.items():
        print(f"{label:<24}" + "".join(f"{fmt_spread(values[key]):>22}" for key, _h in columns))


def median_ratio(figures, ours, theirs, key="rate"):
    """The ratio of two sides' medians of ``key``."""
    return median_spread(figures[ours][key])[0] / median_spread(figures[theirs][key])[0]


def profiled(function, label):
    """``function`` run under cProfile, its top functions by cumulative time printed."""

    def run(env, *args):
        profile = cProfile.Profile()
        result = profile.runcall(function, env, *args)
        print(f"--- profile: {label} (top 25 by cumulative, 15 by own time)", flush=True)
        stats = pstats.Stats(profile, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        sys.stdout.flush()
        return result

    return run
