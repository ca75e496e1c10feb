"""Awaab's Law clocks: when each statutory step falls due. Pure: no I/O, no clock.

The Hazards in Social Housing (Prescribed Requirements) (England) Regulations 2025
set, from the moment the landlord becomes *aware* of a hazard:

================  ===========================  =======================================
step              emergency hazard             significant hazard
================  ===========================  =======================================
investigate       24 hours from aware          10 working days from aware
written summary   (none)                       3 working days after the investigation
make safe         24 hours from aware          5 working days after the investigation
works begin       5 working days after the investigation (both)
works start       12 weeks after the investigation (both, calendar weeks)
================  ===========================  =======================================

Working-day periods count from the day after the start and end at the close of the
last working day in the landlord's time zone (see :mod:`alerting.cases.calendar`);
hour periods run from the instant. Whether a hazard is emergency or significant is
the landlord's assessment: :func:`deadlines_if_pending` shows both until an officer
decides. Steps that run from the investigation's conclusion have no due time until
it has concluded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from alerting.cases.calendar import WorkingCalendar
from alerting.errors import AlertingError

__all__ = [
    "Deadline",
    "Severity",
    "Step",
    "deadlines",
    "deadlines_if_pending",
    "is_breached",
    "time_left",
]


class Severity(StrEnum):
    EMERGENCY = "emergency"
    SIGNIFICANT = "significant"


class Step(StrEnum):
    INVESTIGATE = "investigate"
    WRITTEN_SUMMARY = "written_summary"
    MAKE_SAFE = "make_safe"
    WORKS_BEGIN = "works_begin"
    WORKS_START = "works_start"


class _From(StrEnum):
    AWARE = "aware"
    INVESTIGATED = "investigation concluded"


@dataclass(frozen=True)
class _Rule:
    step: Step
    start: _From
    hours: int = 0
    working_days: int = 0
    weeks: int = 0

    @property
    def period(self) -> str:
        if self.hours:
            return f"{self.hours} hours"
        if self.working_days:
            return f"{self.working_days} working days"
        return f"{self.weeks} weeks"


RULES: dict[Severity, tuple[_Rule, ...]] = {
    Severity.EMERGENCY: (
        _Rule(Step.INVESTIGATE, _From.AWARE, hours=24),
        _Rule(Step.MAKE_SAFE, _From.AWARE, hours=24),
        _Rule(Step.WORKS_BEGIN, _From.INVESTIGATED, working_days=5),
        _Rule(Step.WORKS_START, _From.INVESTIGATED, weeks=12),
    ),
    Severity.SIGNIFICANT: (
        _Rule(Step.INVESTIGATE, _From.AWARE, working_days=10),
        _Rule(Step.WRITTEN_SUMMARY, _From.INVESTIGATED, working_days=3),
        _Rule(Step.MAKE_SAFE, _From.INVESTIGATED, working_days=5),
        _Rule(Step.WORKS_BEGIN, _From.INVESTIGATED, working_days=5),
        _Rule(Step.WORKS_START, _From.INVESTIGATED, weeks=12),
    ),
}


@dataclass(frozen=True)
class Deadline:
    """One statutory step's clock.

    ``due_at`` is the first instant at which the step is late (for a working-day
    period, midnight after the last day); ``due_date`` the last civil day it may be
    done. Both are ``None`` while the clock waits for the investigation to conclude.
    """

    step: Step
    severity: Severity
    period: str
    runs_from: str
    starts_at: dt.datetime | None
    due_at: dt.datetime | None
    due_date: dt.date | None

    @property
    def waiting(self) -> bool:
        return self.due_at is None


def _require_aware_tz(name: str, value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise AlertingError(f"{name} must carry a time zone (got {value.isoformat()})")


def deadlines(
    aware: dt.datetime,
    severity: Severity,
    calendar: WorkingCalendar,
    *,
    investigated: dt.datetime | None = None,
) -> tuple[Deadline, ...]:
    """Every statutory step for a hazard the landlord became aware of at ``aware``."""
    _require_aware_tz("aware", aware)
    if investigated is not None:
        _require_aware_tz("investigated", investigated)
        if investigated < aware:
            raise AlertingError(
                f"the investigation cannot conclude ({investigated.isoformat()}) before the "
                f"landlord became aware ({aware.isoformat()})"
            )
    out: list[Deadline] = []
    for rule in RULES[severity]:
        start = aware if rule.start is _From.AWARE else investigated
        due_at: dt.datetime | None = None
        due_date: dt.date | None = None
        if start is not None:
            if rule.hours:
                due_at = start + dt.timedelta(hours=rule.hours)
                due_date = calendar.local_date(due_at)
            elif rule.working_days:
                due_date = calendar.add_working_days(calendar.local_date(start), rule.working_days)
                due_at = calendar.end_of_day(due_date)
            else:
                due_date = calendar.local_date(start) + dt.timedelta(weeks=rule.weeks)
                due_at = calendar.end_of_day(due_date)
        out.append(
            Deadline(
                step=rule.step,
                severity=severity,
                period=rule.period,
                runs_from=rule.start.value,
                starts_at=start,
                due_at=due_at,
                due_date=due_date,
            )
        )
    return tuple(out)


def deadlines_if_pending(
    aware: dt.datetime, calendar: WorkingCalendar
) -> dict[Severity, tuple[Deadline, ...]]:
    """Both sets of clocks, for a case whose severity the landlord has not yet assessed."""
    return {severity: deadlines(aware, severity, calendar) for severity in Severity}


def time_left(deadline: Deadline, now: dt.datetime) -> dt.timedelta | None:
    """How long until the step is late (negative once it is), or None while waiting."""
    _require_aware_tz("now", now)
    return None if deadline.due_at is None else deadline.due_at - now


def is_breached(
    deadline: Deadline, *, now: dt.datetime, done_at: dt.datetime | None = None
) -> bool:
    """Whether the step was (or, not yet done, now is) late."""
    _require_aware_tz("now", now)
    if deadline.due_at is None:
        return False
    if done_at is not None:
        _require_aware_tz("done_at", done_at)
        return done_at >= deadline.due_at
    return now >= deadline.due_at
