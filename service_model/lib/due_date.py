"""The due-date engine: the decision matrix of the design, as plain functions.

Everything here works on :class:`datetime.date` values (never datetimes) and
plain settings, so that a test can call it with an anchor ``A``, a policy and
a frozen "today" ``T`` and read the due date and its flags.

Matrix (``service_model/readme/USAGE.md`` shows the same table for CS):

==  ==========================================  ========================================
#   situation                                   result
==  ==========================================  ========================================
1   nominal due date                            A + I months, same day of month; a day
                                                the target month lacks becomes its last
                                                day (31 Jan + 1 month = 28/29 Feb)
2   nominal date on a weekend or holiday        moved by the rule (previous working day
                                                by default, next, or none); if that lands
                                                on or before T: next working day after T
3   nominal date on or before T                 first working day on or after T + G;
                                                flagged overdue-at-creation
4   due date within L days of T (inclusive)     kept; flagged short-notice
5   A after T                                   rejected: service date in the future
6   A older than the plausibility limit         rejected: implausible date
7   A equal to the current anchor               unchanged, never a second job
8   A newer than the current anchor             open job not started: recomputed;
                                                job in progress: conflict; no open job:
                                                a job is created
9   A older than the current anchor             rejected (regression) unless backdating
                                                is allowed
10  account not active                          date stored, no job yet
==  ==========================================  ========================================

Row 11 (the same property twice in one file) belongs to the import, which
merges identical rows before it calls the engine.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

PREVIOUS = "previous"
NEXT = "next"
NONE = "none"
NONWORKING_RULES = (PREVIOUS, NEXT, NONE)

# How far the engine looks for a working day before it gives up: a calendar
# without a single working day in a year is a configuration error.
_SEARCH_LIMIT_DAYS = 366

# Outcomes of an anchor change (rows 5-10)
CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
STORED = "stored"
CONFLICT = "conflict"
REJECTED = "rejected"

# Reasons for a rejection
FUTURE = "future"
IMPLAUSIBLE = "implausible"
REGRESSION = "regression"

# Job states that count as "open" and whether they were started
OPEN_NOT_STARTED = ("pending", "accepted")
IN_PROGRESS = "in_progress"


class CalendarError(ValueError):
    """The working calendar has no working day where one is needed."""


def add_months(day, months):
    """Return ``day`` moved by ``months`` calendar months (matrix row 1).

    The day of month is kept; a day the target month lacks becomes its last
    day: 31 Jan + 1 month = 28 Feb (29 in a leap year), 29 Feb + 12 months =
    28 Feb. Always computed from ``day`` itself, so repeated use never drifts.
    """
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last_day))


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days: weekdays worked (0 = Monday) and holidays."""

    working_weekdays: frozenset = frozenset(range(5))
    holidays: frozenset = frozenset()

    def is_working_day(self, day):
        return day.weekday() in self.working_weekdays and day not in self.holidays

    def next_working_day(self, day, *, inclusive=True):
        """The first working day on (``inclusive``) or after ``day``."""
        current = day if inclusive else day + timedelta(days=1)
        for _step in range(_SEARCH_LIMIT_DAYS):
            if self.is_working_day(current):
                return current
            current += timedelta(days=1)
        raise CalendarError(f"no working day within a year after {day.isoformat()}")

    def previous_working_day(self, day, *, inclusive=True):
        """The last working day on (``inclusive``) or before ``day``."""
        current = day if inclusive else day - timedelta(days=1)
        for _step in range(_SEARCH_LIMIT_DAYS):
            if self.is_working_day(current):
                return current
            current -= timedelta(days=1)
        raise CalendarError(f"no working day within a year before {day.isoformat()}")


@dataclass(frozen=True)
class DuePolicy:
    """The settings the engine reads (company settings and service type)."""

    interval_months: int = 12
    grace_days: int = 7
    short_notice_days: int = 14
    nonworking_rule: str = PREVIOUS
    plausibility_years: int = 5
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)

    def __post_init__(self):
        if self.nonworking_rule not in NONWORKING_RULES:
            raise ValueError(f"unknown non-working-day rule {self.nonworking_rule!r}")
        if self.interval_months < 1:
            raise ValueError("the service interval must be at least one month")
        if self.grace_days < 0 or self.short_notice_days < 0 or self.plausibility_years < 1:
            raise ValueError(
                "grace and short-notice days cannot be negative; the plausibility limit is at least one year"
            )


@dataclass(frozen=True)
class DueDate:
    """A computed due date, the nominal date it came from and why it moved."""

    due_date: date
    nominal_date: date
    overdue_at_creation: bool = False
    short_notice: bool = False
    # which rule set the date: nominal, moved_previous, moved_next,
    # after_today (row 2 fallback) or grace (row 3)
    rule: str = "nominal"


def compute_due_date(anchor, today, policy):
    """Due date of the cycle anchored on ``anchor`` (rows 1-4 of the matrix)."""
    cal = policy.calendar
    nominal = add_months(anchor, policy.interval_months)
    if nominal <= today:
        # Row 3: already due when it is created; CS gets a grace period.
        due = cal.next_working_day(today + timedelta(days=policy.grace_days))
        return DueDate(due, nominal, overdue_at_creation=True, rule="grace")
    due, rule = nominal, "nominal"
    if not cal.is_working_day(nominal) and policy.nonworking_rule != NONE:
        if policy.nonworking_rule == PREVIOUS:
            due, rule = cal.previous_working_day(nominal), "moved_previous"
        else:
            due, rule = cal.next_working_day(nominal), "moved_next"
        if due <= today:
            # Row 2 fallback: moving back must not make it overdue.
            due, rule = cal.next_working_day(today, inclusive=False), "after_today"
    short_notice = (due - today).days <= policy.short_notice_days
    return DueDate(due, nominal, short_notice=short_notice, rule=rule)


def plausibility_limit(today, policy):
    """The oldest service date accepted (row 6): exactly the limit is accepted."""
    return add_months(today, -12 * policy.plausibility_years)


@dataclass(frozen=True)
class AnchorDecision:
    """What a new service date does to an account (rows 5-10)."""

    outcome: str
    reason: str | None = None
    due: DueDate | None = None

    @property
    def changes_anchor(self):
        return self.outcome in (CREATED, UPDATED, STORED, CONFLICT)


def decide_anchor(
    anchor,
    today,
    policy,
    *,
    current_anchor=None,
    account_active=True,
    open_job_state=None,
    allow_backdating=False,
    create_jobs=True,
):
    """Decide what a new service date ``anchor`` does (rows 5-10).

    :param current_anchor: the account's current last-service date, or None
    :param open_job_state: the state of the account's open job, or None
    :param create_jobs: False when automatic job creation is switched off:
        the date is stored and the job waits for a person (outcome ``stored``)
    """
    if anchor > today:
        return AnchorDecision(REJECTED, FUTURE)
    if anchor < plausibility_limit(today, policy):
        return AnchorDecision(REJECTED, IMPLAUSIBLE)
    if current_anchor is not None:
        if anchor == current_anchor:
            return AnchorDecision(UNCHANGED)
        if anchor < current_anchor and not allow_backdating:
            return AnchorDecision(REJECTED, REGRESSION)
    if not account_active:
        return AnchorDecision(STORED)
    due = compute_due_date(anchor, today, policy)
    if open_job_state == IN_PROGRESS:
        return AnchorDecision(CONFLICT, due=due)
    if open_job_state in OPEN_NOT_STARTED:
        return AnchorDecision(UPDATED, due=due)
    if not create_jobs:
        return AnchorDecision(STORED, due=due)
    return AnchorDecision(CREATED, due=due)
