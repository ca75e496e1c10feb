"""The case queue: open cases by their next statutory deadline, the counts at the top
of the page, and each case's clocks with the time left.

A step is *met* once the case shows it done: the investigation once it concluded
(``investigated_at``), the written summary once it was recorded as sent (a
``written_summary`` entry in the case's history), making safe once ``made_safe_at``
is set, and the further works once they are scheduled. The next deadline is the
earliest due time of an unmet step; a case pending assessment carries both
severities' clocks, so the emergency one (the earliest) leads until an officer
decides. :func:`step_met` (Python, for a page's rows) and :func:`_unmet_sql` (SQL, for
sorting and counting every open case) say the same thing twice; a test holds them
together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, selectinload

from alerting.cases.calendar import WorkingCalendar
from dampwatch_core.models import Flat
from dampwatch_core.models_cases import (
    ACTIVE_CASE_STATES,
    CaseDeadline,
    CaseStatusChange,
    Contractor,
    HazardCase,
    WorkOrder,
)

__all__ = [
    "SUMMARY_EVENT",
    "CaseFilter",
    "Clock",
    "QueueCounts",
    "QueueRow",
    "case_clocks_now",
    "contractors",
    "next_clock",
    "queue_counts",
    "queue_page",
    "step_met",
    "time_left",
]

#: the history event that records the written summary as sent
SUMMARY_EVENT = "written_summary"
WORKS_STEPS = ("works_begin", "works_start")
WORKS_DONE_STATES = ("works_scheduled", "resolved")


@dataclass(frozen=True)
class CaseFilter:
    kind: str | None = None
    state: str | None = None
    block: str | None = None
    contractor_id: int | None = None
    landlord: str | None = None


@dataclass(frozen=True)
class Clock:
    """A statutory step of one case, as of ``now``."""

    step: str
    severity: str
    period: str
    runs_from: str
    starts_at: dt.datetime | None
    due_at: dt.datetime | None
    met: bool
    #: due and not met by ``now``
    breached: bool


@dataclass(frozen=True)
class QueueRow:
    case: HazardCase
    flat: Flat
    next_due: dt.datetime | None
    clock: Clock | None
    work_order: WorkOrder | None


@dataclass(frozen=True)
class QueueCounts:
    open: int
    overdue: int
    due_24h: int
    due_3_working_days: int


def summary_sent(case: HazardCase) -> bool:
    return any(h.event == SUMMARY_EVENT for h in case.history)


def step_met(case: HazardCase, step: str, *, summary: bool) -> bool:
    """Whether ``case`` shows ``step`` done (``summary``: the written summary was sent)."""
    if step == "investigate":
        return case.investigated_at is not None
    if step == "make_safe":
        return case.made_safe_at is not None
    if step == "written_summary":
        return summary
    if step in WORKS_STEPS:
        return case.state in WORKS_DONE_STATES
    return False


def case_clocks_now(case: HazardCase, now: dt.datetime) -> list[Clock]:
    """The case's stored deadlines as clocks at ``now``, earliest due first (steps
    still waiting for the investigation last)."""
    summary = summary_sent(case)
    clocks = []
    for d in case.deadlines:
        met = step_met(case, d.step, summary=summary)
        clocks.append(
            Clock(
                step=d.step,
                severity=d.severity,
                period=d.period,
                runs_from=d.runs_from,
                starts_at=d.starts_at,
                due_at=d.due_at,
                met=met,
                breached=(not met and d.due_at is not None and d.due_at <= now),
            )
        )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(clocks, key=lambda c: (c.due_at or far, c.step, c.severity))


def next_clock(case: HazardCase, now: dt.datetime) -> Clock | None:
    """The earliest unmet step with a due time; None when none is running."""
    for c in case_clocks_now(case, now):
        if not c.met and c.due_at is not None:
            return c
    return None


def time_left(due: dt.datetime | None, now: dt.datetime) -> str:
    """``3 d 4 h left``, ``5 h 10 min left``, ``2 d 1 h overdue``; ``—`` when no due time."""
    if due is None:
        return "—"
    seconds = int((due - now).total_seconds())
    word = "left" if seconds > 0 else "overdue"
    s = abs(seconds)
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return f"{text} {word}"


def _unmet_sql() -> ColumnElement[bool]:
    d, c = CaseDeadline, HazardCase
    summary = exists(
        select(CaseStatusChange.id).where(
            CaseStatusChange.case_id == c.id, CaseStatusChange.event == SUMMARY_EVENT
        )
    )
    return or_(
        and_(d.step == "investigate", c.investigated_at.is_(None)),
        and_(d.step == "make_safe", c.made_safe_at.is_(None)),
        and_(d.step == "written_summary", ~summary),
        and_(d.step.in_(WORKS_STEPS), c.state.not_in(WORKS_DONE_STATES)),
    )


def _next_due() -> Select[int, dt.datetime | None]:
    d, c = CaseDeadline, HazardCase
    return (
        select(d.case_id, func.min(d.due_at).label("next_due"))
        .join(c, c.id == d.case_id)
        .where(c.state.in_(ACTIVE_CASE_STATES), d.due_at.is_not(None), _unmet_sql())
        .group_by(d.case_id)
    )


def _filtered(query: Select, f: CaseFilter) -> Select:  # type: ignore[type-arg]
    query = query.where(HazardCase.state.in_(ACTIVE_CASE_STATES))
    if f.kind:
        query = query.where(HazardCase.kind == f.kind)
    if f.state:
        query = query.where(HazardCase.state == f.state)
    if f.block:
        query = query.where(Flat.block == f.block)
    if f.landlord is not None:
        query = query.where(Flat.landlord == f.landlord)
    if f.contractor_id is not None:
        query = query.where(
            exists(
                select(WorkOrder.id).where(
                    WorkOrder.case_id == HazardCase.id,
                    WorkOrder.contractor_id == f.contractor_id,
                )
            )
        )
    return query


def queue_page(
    session: Session, f: CaseFilter, *, now: dt.datetime, limit: int, offset: int
) -> list[QueueRow]:
    """Open cases matching ``f``, the next deadline first (cases with no running clock
    last, oldest first), ``limit`` from ``offset``."""
    nd = _next_due().subquery()
    query = (
        select(HazardCase, Flat, nd.c.next_due)
        .join(Flat, Flat.id == HazardCase.flat_id)
        .outerjoin(nd, nd.c.case_id == HazardCase.id)
        .options(
            selectinload(HazardCase.deadlines),
            selectinload(HazardCase.history),
            selectinload(HazardCase.work_orders).selectinload(WorkOrder.contractor),
        )
        .order_by(nd.c.next_due.asc().nulls_last(), HazardCase.aware_at, HazardCase.id)
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(_filtered(query, f)).all()
    out = []
    for case, flat, next_due in rows:
        orders = sorted(case.work_orders, key=lambda w: w.id)
        out.append(
            QueueRow(
                case=case,
                flat=flat,
                next_due=next_due,
                clock=next_clock(case, now),
                work_order=orders[-1] if orders else None,
            )
        )
    return out


def three_working_days(calendar: WorkingCalendar, now: dt.datetime) -> dt.datetime:
    """The end of the third working day after today (the landlord's time zone)."""
    return calendar.end_of_day(calendar.add_working_days(calendar.local_date(now), 3))


def queue_counts(
    session: Session, f: CaseFilter, *, now: dt.datetime, calendar: WorkingCalendar
) -> QueueCounts:
    """Open cases matching ``f``: all, overdue, due within 24 hours, and due by the end
    of the third working day (which includes those due within 24 hours)."""
    nd = _next_due().subquery()
    day = now + dt.timedelta(hours=24)
    three = three_working_days(calendar, now)

    def when(cond: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(sql_case((cond, 1), else_=0)), 0)

    query = (
        select(
            func.count(HazardCase.id),
            when(nd.c.next_due <= now),
            when(and_(nd.c.next_due > now, nd.c.next_due <= day)),
            when(and_(nd.c.next_due > now, nd.c.next_due <= three)),
        )
        .select_from(HazardCase)
        .join(Flat, Flat.id == HazardCase.flat_id)
        .outerjoin(nd, nd.c.case_id == HazardCase.id)
    )
    total, overdue, due_day, due_three = session.execute(_filtered(query, f)).one()
    return QueueCounts(int(total), int(overdue), int(due_day), int(due_three))


def contractors(session: Session) -> Sequence[Contractor]:
    return list(session.scalars(select(Contractor).order_by(Contractor.name)))
