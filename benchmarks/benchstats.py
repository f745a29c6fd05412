"""How the benchmarks compare like with like: repetitions, order, spread.

Every side of a comparison runs ``reps`` times; the order of the sides
alternates between repetitions (so neither always runs on a warmer or a more
bloated database), PostgreSQL's statistics and dead rows are reset before each
side (``VACUUM ANALYZE``), and each figure is the median of the repetitions,
printed with its spread (lowest to highest).
"""

import statistics

import odoo


def side_order(sides, rep):
    """The sides in the order of repetition ``rep``: as given, then reversed, and so on."""
    return list(sides) if rep % 2 == 0 else list(reversed(sides))


def vacuum_analyze(db):
    """``VACUUM ANALYZE`` the whole database, so that each side starts alike.

    VACUUM cannot run inside a transaction block, hence a connection of its
    own in autocommit mode (the ORM has no way to say it).
    """
    odoo.sql_db.close_all()
    connection = odoo.sql_db.db_connect(db)
    with connection.cursor() as cr:
        cr._cnx.autocommit = True
        cr.execute("VACUUM ANALYZE")
    odoo.sql_db.close_all()


def median_spread(values):
    """``(median, lowest, highest)`` of ``values``."""
    values = list(values)
    return statistics.median(values), min(values), max(values)


def fmt_rate(values, width=9):
    """``median [low-high]`` of rates, right-aligned in ``width`` for the median."""
    median, low, high = median_spread(values)
    return f"{median:>{width}.0f} [{low:.0f}-{high:.0f}]"


def tenth_rates(progress, total):
    """Throughput of the first and the last tenth of a run.

    ``progress`` lists ``(seconds since the start, units done so far)`` points
    (the last one is the end of the run). The first tenth is the time until a
    tenth of ``total`` was done, the last tenth the time from nine tenths to
    the end; each is returned in units per second.
    """
    progress = sorted(progress)
    if not progress or total <= 0:
        return 0.0, 0.0

    def time_at(units):
        previous_time, previous_done = 0.0, 0
        for seconds, done in progress:
            if done >= units:
                if done == previous_done:
                    return seconds
                share = (units - previous_done) / (done - previous_done)
                return previous_time + share * (seconds - previous_time)
            previous_time, previous_done = seconds, done
        return progress[-1][0]

    tenth = total / 10
    first = time_at(tenth)
    last = progress[-1][0] - time_at(total - tenth)
    return (tenth / first if first > 0 else 0.0), (tenth / last if last > 0 else 0.0)


def print_figures(figures, columns):
    """One line per side: the median [lowest-highest] of each column.

    ``figures`` maps a side's label to ``{key: [one value per repetition]}``;
    ``columns`` lists ``(key, heading)`` in the order to print.
    """
    print(f"{'side':<24}" + "".join(f"{heading:>22}" for _key, heading in columns))
    for label, values in figures.items():
        print(f"{label:<24}" + "".join(f"{fmt_rate(values[key], 9):>22}" for key, _h in columns))


def median_ratio(figures, ours, theirs, key="rate"):
    """The ratio of two sides' medians of ``key``."""
    return median_spread(figures[ours][key])[0] / median_spread(figures[theirs][key])[0]
