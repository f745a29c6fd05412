"""The billing schedule of a subscription: which yearly periods exist and which are due.

The rule, in one place (DESIGN.md, "Billing schedule"):

- A subscription starts on S and runs for a term of Y years; Y = 0 means it runs
  until it is cancelled.
- Period n (1-based) starts on S + (n - 1) years, always computed from S, never
  from the previous period, so that month ends do not drift: a 29 February start
  gives 28 February in common years and 29 February again in leap years; a
  31 January start stays on 31 January.
- Period n ends the day before period n + 1 starts.
- Invoices are issued in advance: a period is due as soon as its start is on or
  before today T. A run catches up every period that has come due.
- A term of Y years has exactly Y periods. Cancellation on date C stops every
  period that starts after C; periods that started on or before C stay due.

Every function takes plain values (``datetime.date``, ``int``) and returns
plain values, so that the rule is tested without a database and used by the
models, the cron and the forecast alike.
"""

from collections import namedtuple
from datetime import timedelta

from dateutil.relativedelta import relativedelta

Period = namedtuple("Period", ["sequence", "date_start", "date_end"])
Period.__doc__ = "One yearly billing period: its 1-based sequence, first and last day."


def _check_sequence(sequence):
    if sequence < 1:
        raise ValueError(f"a billing period sequence starts at 1, got {sequence}")


def period_start(start, sequence):
    """First day of period ``sequence`` (1-based) of a subscription started on ``start``."""
    _check_sequence(sequence)
    return start + relativedelta(years=sequence - 1)


def period_end(start, sequence):
    """Last day of period ``sequence``: the day before the next period starts."""
    return period_start(start, sequence + 1) - timedelta(days=1)


def period(start, sequence):
    """The :class:`Period` ``sequence`` of a subscription started on ``start``."""
    return Period(sequence, period_start(start, sequence), period_end(start, sequence))


def period_count(term_years):
    """Number of periods of a term of ``term_years`` years; ``None`` when unbounded (0)."""
    if term_years < 0:
        raise ValueError(f"a term is a number of years, 0 or more, got {term_years}")
    return term_years or None


def periods_started_by(start, on_date):
    """How many periods have started on or before ``on_date`` (0 before ``start``).

    Computed directly from the number of whole years between the dates, then
    corrected by one, so that it costs the same for year 2 or year 200.
    """
    if on_date < start:
        return 0
    count = relativedelta(on_date, start).years + 1
    # relativedelta measures from the start day (29 Feb to 28 Feb is 11 months
    # and 30 days), while period n starts on the clamped anniversary: correct
    # the count against period_start, the one definition of a period start.
    while period_start(start, count + 1) <= on_date:
        count += 1
    while count > 1 and period_start(start, count) > on_date:
        count -= 1
    return count


def last_billable_sequence(start, term_years, today, date_cancel=None):
    """Sequence of the last period that is due on ``today`` (0 when none is).

    A period is due when it starts on or before ``today``, is within the term,
    and, for a cancelled subscription, starts on or before the cancellation date.
    """
    horizon = min(today, date_cancel) if date_cancel else today
    count = periods_started_by(start, horizon)
    limit = period_count(term_years)
    return min(count, limit) if limit else count


def due_periods(start, term_years, today, billed_up_to=0, date_cancel=None):
    """The periods due on ``today`` that come after sequence ``billed_up_to``.

    ``billed_up_to`` is the highest sequence already in the ledger; the result
    lists every period still to invoice, oldest first (a catch-up of several
    years gives several periods).
    """
    last = last_billable_sequence(start, term_years, today, date_cancel=date_cancel)
    return [period(start, seq) for seq in range(billed_up_to + 1, last + 1)]


def next_billing_date(start, term_years, billed_up_to, date_cancel=None):
    """Start of the first period after ``billed_up_to``; ``None`` when billing is over.

    Billing is over when the term is exhausted or the next period would start
    after the cancellation date.
    """
    limit = period_count(term_years)
    sequence = billed_up_to + 1
    if limit and sequence > limit:
        return None
    next_start = period_start(start, sequence)
    if date_cancel and next_start > date_cancel:
        return None
    return next_start


def schedule(start, term_years, until, date_cancel=None):
    """Every period that starts on or before ``until``, within the term and cancellation.

    Used to show past and future periods and to forecast amounts by year; for
    an unbounded term, ``until`` is the forecast horizon.
    """
    return due_periods(start, term_years, until, date_cancel=date_cancel)


def first_open_date(invoice_date, lock_date):
    """The date to put on an invoice: its period start, or the first day after the lock date.

    An invoice cannot be dated on or before the accounting lock date, so a
    period that started in a locked period is invoiced on the first open date.
    """
    if lock_date and invoice_date <= lock_date:
        return lock_date + timedelta(days=1)
    return invoice_date
