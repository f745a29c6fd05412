"""Suppression evaluation: who gets a message on which channel, and why not.

A pure function over plain values, so that every rule is tested without the
database: the dispatcher gathers the facts in batches, calls :func:`evaluate`
for each (stakeholder, channel) of the matrix and logs what it returns.

The rules run in the order the caller passes (the suppression rule records,
by sequence); each one may stop the evaluation of a channel with a decision,
or change what the next rules see (the agency redirect changes the
recipient, the SMS fallback changes the channel).
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

SEND = "send"
SUPPRESS = "suppress"
DEFER = "defer"
FALLBACK = "fallback"

EMAIL = "email"
SMS = "sms"

EVENTS = (
    "account_onboarding",
    "account_activated",
    "job_created",
    "job_accepted",
    "job_due_soon",
    "job_overdue",
    "job_completed",
    "subscription_created",
    "invoice_issued",
    "offer_eligible",
    "import_finished",
)
STAKEHOLDERS = ("end_user", "agency", "contractor", "cs", "finance")
# Opt-out and blacklists stop these only; transactional messages still go out.
MARKETING_EVENTS = frozenset({"offer_eligible"})
# No message reaches the end user of an account before it is live.
PRE_LIVE_STAGES = frozenset({"draft", "onboarding"})

# The rule codes, in their default (and shipped) order.
CHANNEL_OFF = "channel_off"
DO_NOT_CONTACT = "do_not_contact"
ACCOUNT_STAGE = "account_stage"
AUTO_ACCEPTED = "auto_accepted"
AGENCY_MANAGED = "agency_managed"
NO_CONTACT = "no_contact"
BLACKLISTED = "blacklisted"
DUPLICATE = "duplicate"
QUIET_HOURS = "quiet_hours"
RULE_ORDER = (
    CHANNEL_OFF,
    DO_NOT_CONTACT,
    ACCOUNT_STAGE,
    AUTO_ACCEPTED,
    AGENCY_MANAGED,
    NO_CONTACT,
    BLACKLISTED,
    DUPLICATE,
    QUIET_HOURS,
)


@dataclass(frozen=True)
class Recipient:
    """A partner as the rules see it: ``key`` identifies it (its id); a false
    key is a role nobody holds (an account without agency)."""

    key: object
    email: str = ""
    phone: str = ""  # E.164, empty when missing or invalid
    tz: str = ""
    do_not_contact: bool = False
    email_blacklisted: bool = False
    phone_blacklisted: bool = False


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about the record behind the event."""

    account_stage: str = ""
    account_do_not_contact: bool = False
    agency_managed: bool = False  # end-user messages go to the agency
    agency: Recipient = None
    job_auto_accepted: bool = False


@dataclass(frozen=True)
class Settings:
    email_enabled: bool = True
    sms_enabled: bool = True
    quiet_start: float = 0.0  # hours, as Odoo's float_time widget: 21.5 is 21:30
    quiet_end: float = 0.0  # equal to quiet_start: no quiet hours
    tz: str = "UTC"  # the company's, for recipients without their own
    duplicate_window_hours: int = 24


@dataclass(frozen=True)
class Decision:
    stakeholder: str
    recipient: Recipient
    channel: str
    outcome: str
    reason_code: str = ""
    rule_code: str = ""
    params: dict = field(default_factory=dict)
    scheduled_at: datetime = None  # naive UTC, set on deferred messages


@dataclass
class _Draft:
    """A channel under evaluation; the rules move it along or decide."""

    stakeholder: str
    recipient: Recipient
    channel: str
    params: dict


def evaluate(
    event,
    stakeholder,
    channels,
    recipient,
    facts,
    settings,
    now,
    rules=RULE_ORDER,
    last_sent=None,
):
    """Decide each channel of one (event, stakeholder) for one recipient.

    :param channels: the matrix's channels for this event and stakeholder
    :param now: naive UTC datetime
    :param rules: the active rule codes, in evaluation order
    :param last_sent: ``{(recipient key, channel): naive UTC datetime}`` of the
        last message of this event for this record
    :return: a list of :class:`Decision`, one per channel (a fallback adds the
        decision of the channel it falls back to)
    """
    context = {
        "event": event,
        "facts": facts,
        "settings": settings,
        "channels": tuple(channels),
        "last_sent": last_sent or {},
        "now": now,
    }
    decisions = []
    pending = [_Draft(stakeholder, recipient, channel, {}) for channel in channels]
    while pending:
        draft = pending.pop(0)
        decision = None
        for code in rules:
            decision = _CHECKS[code](draft, context)
            if decision is None:
                continue
            decision = replace(decision, rule_code=code)
            if decision.outcome == FALLBACK:
                pending.append(_Draft(draft.stakeholder, draft.recipient, EMAIL, {"fallback": SMS}))
            break
        decisions.append(decision or _decide(draft, SEND))
    return decisions


def _decide(draft, outcome, reason_code="", scheduled_at=None, **params):
    return Decision(
        stakeholder=draft.stakeholder,
        recipient=draft.recipient,
        channel=draft.channel,
        outcome=outcome,
        reason_code=reason_code,
        params={**draft.params, **params},
        scheduled_at=scheduled_at,
    )


def _check_channel_off(draft, context):
    enabled = {EMAIL: context["settings"].email_enabled, SMS: context["settings"].sms_enabled}
    if not enabled[draft.channel]:
        return _decide(draft, SUPPRESS, "channel_off")
    return None


def _check_do_not_contact(draft, context):
    if context["facts"].account_do_not_contact:
        return _decide(draft, SUPPRESS, "account_do_not_contact")
    if draft.recipient.do_not_contact:
        return _decide(draft, SUPPRESS, "partner_do_not_contact")
    return None


def _check_account_stage(draft, context):
    stage = context["facts"].account_stage
    if draft.stakeholder == "end_user" and stage in PRE_LIVE_STAGES:
        return _decide(draft, SUPPRESS, "account_not_live", stage=stage)
    return None


def _check_auto_accepted(draft, context):
    if (
        context["event"] == "job_accepted"
        and draft.stakeholder == "contractor"
        and context["facts"].job_auto_accepted
    ):
        return _decide(draft, SUPPRESS, "auto_accepted")
    return None


def _check_agency_managed(draft, context):
    facts = context["facts"]
    if draft.stakeholder == "end_user" and facts.agency_managed and facts.agency:
        # the end user's message goes to the agency: the next rules judge the agency
        draft.params = {**draft.params, "redirected_from": draft.recipient.key}
        draft.recipient = facts.agency
    return None


def _check_no_contact(draft, context):
    recipient = draft.recipient
    if not recipient.key:
        return _decide(draft, SUPPRESS, "no_recipient")
    if draft.channel == EMAIL and not recipient.email:
        return _decide(draft, SUPPRESS, "no_email")
    if draft.channel == SMS and not recipient.phone:
        if not recipient.email:
            return _decide(draft, SUPPRESS, "no_contact")
        if EMAIL in context["channels"]:
            return _decide(draft, SUPPRESS, "no_phone_email_sent")
        return _decide(draft, FALLBACK, "no_phone_fallback")
    return None


def _check_blacklisted(draft, context):
    if context["event"] not in MARKETING_EVENTS:
        return None
    recipient = draft.recipient
    if draft.channel == EMAIL and recipient.email_blacklisted:
        return _decide(draft, SUPPRESS, "email_blacklisted")
    if draft.channel == SMS and recipient.phone_blacklisted:
        return _decide(draft, SUPPRESS, "phone_blacklisted")
    return None


def _check_duplicate(draft, context):
    sent_at = context["last_sent"].get((draft.recipient.key, draft.channel))
    window = timedelta(hours=context["settings"].duplicate_window_hours)
    if sent_at and context["now"] - sent_at < window:
        return _decide(draft, SUPPRESS, "duplicate", sent_at=sent_at)
    return None


def _check_quiet_hours(draft, context):
    if draft.channel != SMS:
        return None
    settings = context["settings"]
    until = quiet_hours_end(
        context["now"], settings.quiet_start, settings.quiet_end, draft.recipient.tz or settings.tz
    )
    if until:
        return _decide(draft, DEFER, "quiet_hours", scheduled_at=until)
    return None


_CHECKS = {
    CHANNEL_OFF: _check_channel_off,
    DO_NOT_CONTACT: _check_do_not_contact,
    ACCOUNT_STAGE: _check_account_stage,
    AUTO_ACCEPTED: _check_auto_accepted,
    AGENCY_MANAGED: _check_agency_managed,
    NO_CONTACT: _check_no_contact,
    BLACKLISTED: _check_blacklisted,
    DUPLICATE: _check_duplicate,
    QUIET_HOURS: _check_quiet_hours,
}


def _float_time(hours):
    minutes = round(hours * 60)
    return time(minutes // 60 % 24, minutes % 60)


def quiet_hours_end(now, start, end, tz):
    """The end of the quiet hours ``now`` falls in (naive UTC), or None.

    ``start`` and ``end`` are wall-clock hours in ``tz``; a period with
    start after end runs across midnight. The end is a wall-clock time on its
    own day, so a DST change inside the period moves it in UTC.
    """
    if start == end:
        return None
    zone = ZoneInfo(tz or "UTC")
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    start_t, end_t, clock = _float_time(start), _float_time(end), local.time()
    if start < end:
        if not start_t <= clock < end_t:
            return None
        end_day = local.date()
    elif clock >= start_t:
        end_day = local.date() + timedelta(days=1)
    elif clock < end_t:
        end_day = local.date()
    else:
        return None
    end_local = datetime.combine(end_day, end_t, tzinfo=zone)
    return end_local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
