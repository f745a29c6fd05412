"""Offer eligibility: whether a service account qualifies for an offer, and why not.

The rule, in one place (DESIGN.md, "Eligibility"): an account is eligible for
an offer when every criterion the offer sets passes. A criterion the offer
leaves empty passes. Each criterion is one function over plain values that
returns a :class:`Check`: passed or not, the reason sentence when it fails,
and the value it looked at.

Sentences are built with the ``_`` argument, a callable with the signature of
``env._`` (``_(template, **params)``): the models pass ``self.env._`` so that
the reasons are in the user's language; without it they are plain English.

:func:`evaluate` applies every criterion of a :class:`Criteria` to the
:class:`Facts` of one account and returns an :class:`Evaluation`;
:class:`Evaluator` does the same for many accounts, deciding each criterion
once per distinct value it looks at (a few stages, types, agencies...).
"""

import hashlib
from collections import namedtuple


def plain(template, **params):
    """The untranslated sentence: what ``_`` does when no translation is given."""
    return template % params if params else template


Check = namedtuple("Check", ["name", "passed", "reason", "value"])
Check.__doc__ = "One criterion's verdict: its name, passed, the reason it failed, the value seen."

Criteria = namedtuple(
    "Criteria",
    [
        "date_start",  # first day of the offer, or None
        "date_end",  # last day of the offer, or None
        "stages",  # stage codes the account must be in; empty = any
        "year_from",  # first subscription year; 0 = no lower bound
        "year_to",  # last subscription year; 0 = no upper bound
        "no_overdue",  # True: no invoice overdue by more than overdue_days
        "overdue_days",  # days of tolerance past an invoice's due date
        "property_types",  # property type codes; empty = any
        "agency_in",  # agency ids the account must have one of; empty = any
        "agency_out",  # agency ids the account must not have
        "contractor_in",  # contractor ids the account must have one of; empty = any
        "contractor_out",  # contractor ids the account must not have
        "has_domain",  # the offer has an extra domain on the account
    ],
    defaults=(None, None, frozenset(), 0, 0, False, 0, frozenset(), (), (), (), (), False),
)
Criteria.__doc__ = "What an offer asks of an account, as plain values."

Facts = namedtuple(
    "Facts",
    [
        "stage",  # stage code
        "subscription_year",  # year of the running subscription (1-based), or None
        "overdue_days",  # days the oldest unpaid invoice is past due; 0 when none is
        "overdue_since",  # due date of the oldest unpaid invoice, or None
        "property_type",  # property type code
        "agency_id",  # agency id or None
        "agency_name",
        "contractor_id",  # contractor id or None
        "contractor_name",
        "domain_match",  # the account matches the offer's domain (None: not asked)
    ],
    defaults=(None, 0, None, None, None, "", None, "", None),
)
Facts.__doc__ = "What is known of one account, as plain values."

Evaluation = namedtuple("Evaluation", ["eligible", "checks"])
Evaluation.__doc__ = "The verdict for one account and offer, with every criterion's check."


def _pass(name, value):
    return Check(name, True, "", value)


def check_period(today, date_start, date_end, _=plain):
    """The offer runs today: ``date_start <= today <= date_end`` (either may be open).

    It looks at no value of the account: its value is None.
    """
    if date_start and today < date_start:
        return Check(
            "period", False, _("The offer starts on %(date)s.", date=date_start.isoformat()), None
        )
    if date_end and today > date_end:
        return Check(
            "period", False, _("The offer ended on %(date)s.", date=date_end.isoformat()), None
        )
    return _pass("period", None)


def check_stage(stage, stages, labels=None, _=plain):
    """The account is in one of ``stages`` (any stage when empty)."""
    if not stages or stage in stages:
        return _pass("stage", stage)
    labels = labels or {}
    return Check(
        "stage",
        False,
        _(
            "The account is in stage %(stage)s; the offer is for %(stages)s.",
            stage=labels.get(stage, stage),
            stages=", ".join(labels.get(s, s) for s in _ordered(stages, labels)),
        ),
        stage,
    )


def check_subscription_year(year, year_from, year_to, _=plain):
    """The running subscription is in year ``year_from``..``year_to`` (0 = open bound)."""
    if not (year_from or year_to):
        return _pass("subscription_year", year)
    if not year:
        return Check(
            "subscription_year",
            False,
            _("The account has no running subscription."),
            year,
        )
    if year_from and year < year_from:
        return Check(
            "subscription_year",
            False,
            _(
                "The subscription is in year %(year)s; the offer starts at year %(first)s.",
                year=year,
                first=year_from,
            ),
            year,
        )
    if year_to and year > year_to:
        return Check(
            "subscription_year",
            False,
            _(
                "The subscription is in year %(year)s; the offer ends at year %(last)s.",
                year=year,
                last=year_to,
            ),
            year,
        )
    return _pass("subscription_year", year)


def check_no_overdue(overdue_days, enabled, threshold, since=None, _=plain):
    """No invoice is overdue by more than ``threshold`` days (when ``enabled``).

    ``since`` is the due date of the oldest unpaid invoice: the reason names
    it rather than the days, so that it reads the same every day.
    """
    value = since.isoformat() if since else None
    if not enabled or overdue_days <= threshold:
        return _pass("no_overdue", value)
    return Check(
        "no_overdue",
        False,
        _(
            "An invoice due on %(date)s is unpaid; the offer allows %(threshold)s days past due.",
            date=value,
            threshold=threshold,
        ),
        value,
    )


def check_property_type(property_type, property_types, labels=None, _=plain):
    """The property is of one of ``property_types`` (any type when empty)."""
    if not property_types or property_type in property_types:
        return _pass("property_type", property_type)
    labels = labels or {}
    return Check(
        "property_type",
        False,
        _(
            "The property is a %(type)s; the offer is for %(types)s.",
            type=labels.get(property_type, property_type),
            types=", ".join(labels.get(t, t) for t in _ordered(property_types, labels)),
        ),
        property_type,
    )


def check_agency(agency_id, agency_name, included, excluded, _=plain):
    """The agency is among ``included`` (when any) and not among ``excluded``."""
    if agency_id and agency_id in excluded:
        return Check(
            "agency",
            False,
            _("The agency %(agency)s is excluded from the offer.", agency=agency_name),
            agency_name,
        )
    if included and agency_id not in included:
        reason = (
            _("The agency %(agency)s is not one of the offer's agencies.", agency=agency_name)
            if agency_id
            else _("The account has no agency; the offer is for some agencies only.")
        )
        return Check("agency", False, reason, agency_name)
    return _pass("agency", agency_name)


def check_contractor(contractor_id, contractor_name, included, excluded, _=plain):
    """The contractor is among ``included`` (when any) and not among ``excluded``."""
    if contractor_id and contractor_id in excluded:
        return Check(
            "contractor",
            False,
            _(
                "The contractor %(contractor)s is excluded from the offer.",
                contractor=contractor_name,
            ),
            contractor_name,
        )
    if included and contractor_id not in included:
        reason = (
            _(
                "The contractor %(contractor)s is not one of the offer's contractors.",
                contractor=contractor_name,
            )
            if contractor_id
            else _("The account has no contractor; the offer is for some contractors only.")
        )
        return Check("contractor", False, reason, contractor_name)
    return _pass("contractor", contractor_name)


def check_domain(has_domain, domain_match, error=None, _=plain):
    """The account matches the offer's extra domain; an unusable domain fails with its error."""
    if not has_domain:
        return _pass("domain", None)
    if error:
        return Check(
            "domain",
            False,
            _("The offer's extra conditions cannot be evaluated: %(error)s", error=error),
            None,
        )
    if domain_match:
        return _pass("domain", True)
    return Check(
        "domain", False, _("The account does not match the offer's extra conditions."), False
    )


def _ordered(codes, labels):
    """Codes in the order of ``labels`` (the selection's order), unknown ones last."""
    order = {code: index for index, code in enumerate(labels)}
    return sorted(codes, key=lambda code: (order.get(code, len(order)), str(code)))


def evaluate(criteria, facts, today, labels=None, domain_error=None, _=plain):
    """Every criterion of ``criteria`` applied to ``facts``: an :class:`Evaluation`.

    :param labels: ``{"stage": {code: label}, "property_type": {code: label}}``
        to name stages and property types in the reasons
    :param domain_error: why the offer's domain could not be evaluated, if so
    """
    labels = labels or {}
    checks = (
        check_period(today, criteria.date_start, criteria.date_end, _=_),
        check_stage(facts.stage, criteria.stages, labels.get("stage"), _=_),
        check_subscription_year(facts.subscription_year, criteria.year_from, criteria.year_to, _=_),
        check_no_overdue(
            facts.overdue_days,
            criteria.no_overdue,
            criteria.overdue_days,
            facts.overdue_since,
            _=_,
        ),
        check_property_type(
            facts.property_type, criteria.property_types, labels.get("property_type"), _=_
        ),
        check_agency(
            facts.agency_id, facts.agency_name, criteria.agency_in, criteria.agency_out, _=_
        ),
        check_contractor(
            facts.contractor_id,
            facts.contractor_name,
            criteria.contractor_in,
            criteria.contractor_out,
            _=_,
        ),
        check_domain(criteria.has_domain, facts.domain_match, domain_error, _=_),
    )
    return Evaluation(all(check.passed for check in checks), checks)


def reasons_text(evaluation):
    """The reasons of the failed criteria, one line each (empty when eligible)."""
    return "\n".join(check.reason for check in evaluation.checks if not check.passed)


def values_text(evaluation, names):
    """The values the criteria looked at, one line each, named by ``names[check name]``.

    The offer's period looks at no value of the account, and the domain line
    appears only when the offer has an extra domain.
    """
    return "\n".join(
        f"{names[check.name]}: {check.value if check.value not in (None, '') else '-'}"
        for check in evaluation.checks
        if check.name != "period" and (check.name != "domain" or check.value is not None)
    )


def digest(text):
    """The md5 of ``text``, as PostgreSQL's ``md5()`` gives it (stored texts are compared by it)."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def account_digest(entries):
    """One digest for every stored result of an account.

    :param entries: ``(offer id, eligible, reasons, values seen, error)`` for
        each offer of the account, any order
    :return: the md5 of them all in offer order: equal digests, equal results
    """
    return digest(
        "\x1e".join(
            "\x1f".join((str(offer_id), "1" if eligible else "0", reasons, values, error or ""))
            for offer_id, eligible, reasons, values, error in sorted(entries)
        )
    )


class Evaluator:
    """:func:`evaluate` for many accounts and one offer, each check decided once per value.

    Accounts share few distinct values per criterion, so each check is
    computed the first time a value is seen and reused after; the checks of
    two accounts with the same value are the same object.
    """

    def __init__(self, criteria, today, labels=None, domain_error=None, _=plain):
        labels = labels or {}
        stage_labels, type_labels = labels.get("stage"), labels.get("property_type")
        c = criteria
        self._period = check_period(today, c.date_start, c.date_end, _=_)
        self._rules = (
            ("stage", lambda f: check_stage(f.stage, c.stages, stage_labels, _=_)),
            (
                "subscription_year",
                lambda f: check_subscription_year(f.subscription_year, c.year_from, c.year_to, _=_),
            ),
            (
                # one company per offer, so one today: the date decides the days
                "overdue_since",
                lambda f: check_no_overdue(
                    f.overdue_days, c.no_overdue, c.overdue_days, f.overdue_since, _=_
                ),
            ),
            (
                "property_type",
                lambda f: check_property_type(f.property_type, c.property_types, type_labels, _=_),
            ),
            (
                "agency_id",
                lambda f: check_agency(f.agency_id, f.agency_name, c.agency_in, c.agency_out, _=_),
            ),
            (
                "contractor_id",
                lambda f: check_contractor(
                    f.contractor_id, f.contractor_name, c.contractor_in, c.contractor_out, _=_
                ),
            ),
            (
                "domain_match",
                lambda f: check_domain(c.has_domain, f.domain_match, domain_error, _=_),
            ),
        )
        self._seen = [{} for _rule in self._rules]

    def __call__(self, facts):
        checks = [self._period]
        for (fname, rule), seen in zip(self._rules, self._seen, strict=True):
            value = getattr(facts, fname)
            check = seen.get(value)
            if check is None:
                check = seen[value] = rule(facts)
            checks.append(check)
        checks = tuple(checks)
        return Evaluation(all(check.passed for check in checks), checks)
