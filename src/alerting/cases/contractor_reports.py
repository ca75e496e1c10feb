"""What contractors report back about their work orders: job status updates (HACT
``JobStatusUpdate``) and the completion (HACT ``WorkOrderComplete``).

A report is recorded in the work order's status history
(``work_order_status_history``), moves the work order's own status, and is written on
the case's audit trail with the contractor user as the actor, in the caller's
transaction. It never moves the *case*: whether the hazard is made safe or resolved is
the landlord's call, made by an officer, who sees the contractor's report on the trail.

A contractor user is bound to a ``contractors`` row by its organisation name (the
``--contractor`` given to ``dampwatch users add``) and to a landlord (the user's own):
it sees and reports on only the work orders sent to that organisation for that
landlord's flats. Anything else, including a reference that does not exist, is refused
with the same words, so a contractor cannot learn which other work orders exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from alerting.errors import AlertingError
from dampwatch_core.models import Flat
from dampwatch_core.models_cases import (
    CaseStatusChange,
    Contractor,
    HazardCase,
    WorkOrder,
    WorkOrderStatusUpdate,
)

__all__ = [
    "CLOSED_WORK_ORDER_STATUSES",
    "OPEN_WORK_ORDER_STATUSES",
    "CompletionReport",
    "EvidenceLink",
    "JobStatusReport",
    "JobStatusType",
    "NotYourWorkOrder",
    "ReportRefused",
    "WorkOrderClosed",
    "bound_contractor",
    "contractor_work_order",
    "open_work_orders",
    "record_completion",
    "record_status",
]

#: a work order still being worked on (amendments and cancellations are sent for it)
OPEN_WORK_ORDER_STATUSES = ("raised", "assigned", "scheduled", "hold", "no_access")
#: a work order nobody reports on any more
CLOSED_WORK_ORDER_STATUSES = ("complete", "cancelled")

#: how far ahead of DampWatch's clock a contractor's event time may be (clock skew)
EVENT_TIME_SKEW = dt.timedelta(minutes=5)


class JobStatusType(StrEnum):
    """The ``TypeCode`` of a ``JobStatusUpdate`` a contractor may send (Hackney's work
    status codes, without ``Complete``, which is a completion, and ``Cancelled``, which
    only the landlord does)."""

    ASSIGNED = "Assigned"
    SCHEDULED = "Scheduled"
    HOLD = "Hold"
    NO_ACCESS = "NoAccess"


_WORK_ORDER_STATUS = {
    JobStatusType.ASSIGNED: "assigned",
    JobStatusType.SCHEDULED: "scheduled",
    JobStatusType.HOLD: "hold",
    JobStatusType.NO_ACCESS: "no_access",
}


class ReportRefused(AlertingError):
    """A report that cannot be recorded as sent (the API answers 409 or 422)."""


class NotYourWorkOrder(AlertingError):
    """The work order is not this contractor's (or does not exist): 403."""


class WorkOrderClosed(ReportRefused):
    """The work order is complete or cancelled: nothing more is recorded (409)."""


@dataclass(frozen=True, slots=True)
class EvidenceLink:
    uri: str
    title: str = ""
    created_at: dt.datetime | None = None

    def as_hact(self) -> dict[str, Any]:
        return {
            "URI": self.uri,
            "Title": self.title,
            "CreationDateTime": self.created_at.isoformat() if self.created_at else None,
        }


@dataclass(frozen=True, slots=True)
class JobStatusReport:
    type_code: JobStatusType
    event_time: dt.datetime
    comments: str = ""
    appointment_start: dt.datetime | None = None
    appointment_end: dt.datetime | None = None
    evidence: Sequence[EvidenceLink] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class CompletionReport:
    event_time: dt.datetime
    completed_work_elements: Sequence[Mapping[str, Any]]
    operatives_used: int | None = None
    follow_on_work_order_reference: str | None = None
    comments: str = ""
    evidence: Sequence[EvidenceLink] = field(default_factory=tuple)


def bound_contractor(session: Session, organisation: str | None) -> Contractor | None:
    """The contractors row a contractor user's organisation names, if there is one."""
    if not organisation:
        return None
    return session.scalars(select(Contractor).where(Contractor.name == organisation)).first()


def _theirs(contractor: Contractor, landlord: str) -> Select[WorkOrder]:
    return (
        select(WorkOrder)
        .join(HazardCase, HazardCase.id == WorkOrder.case_id)
        .join(Flat, Flat.id == HazardCase.flat_id)
        .where(WorkOrder.contractor_id == contractor.id, Flat.landlord == landlord)
    )


def open_work_orders(session: Session, contractor: Contractor, landlord: str) -> list[WorkOrder]:
    """The contractor's work orders for ``landlord``'s flats that are still open,
    oldest first."""
    query = _theirs(contractor, landlord).where(WorkOrder.status.in_(OPEN_WORK_ORDER_STATUSES))
    return list(session.scalars(query.order_by(WorkOrder.raised_at, WorkOrder.id)))


def contractor_work_order(
    session: Session, contractor: Contractor, landlord: str, reference: str
) -> WorkOrder:
    """The contractor's work order ``reference``; :class:`NotYourWorkOrder` for one
    that is another's or does not exist (the same words for both)."""
    order = session.scalars(
        _theirs(contractor, landlord).where(WorkOrder.reference == reference)
    ).first()
    if order is None:
        raise NotYourWorkOrder(f"work order {reference!r} is not among your work orders")
    return order


def _check_event_time(order: WorkOrder, event_time: dt.datetime, now: dt.datetime) -> None:
    if event_time.tzinfo is None:
        raise ReportRefused("EventTime needs a UTC offset (e.g. 2026-01-05T09:30:00Z)")
    if event_time > now + EVENT_TIME_SKEW:
        raise ReportRefused(f"EventTime {event_time.isoformat()} is in the future")
    if event_time < order.raised_at:
        raise ReportRefused(
            f"EventTime {event_time.isoformat()} is before the work order was raised "
            f"({order.raised_at.isoformat()})"
        )


def _check_open(order: WorkOrder) -> None:
    if order.status in CLOSED_WORK_ORDER_STATUSES:
        raise WorkOrderClosed(f"work order {order.reference} is {order.status}: no further reports")


def _trail(
    session: Session,
    order: WorkOrder,
    *,
    actor: str,
    now: dt.datetime,
    reason: str,
    detail: Mapping[str, Any],
) -> None:
    case = order.case
    session.add(
        CaseStatusChange(
            case=case,
            at=now,
            actor=actor,
            event="contractor_report",
            from_state=case.state,
            to_state=case.state,
            reason=reason,
            detail=dict(detail),
        )
    )


def record_status(
    session: Session,
    order: WorkOrder,
    report: JobStatusReport,
    *,
    actor: str,
    now: dt.datetime,
) -> WorkOrderStatusUpdate:
    """Record a ``JobStatusUpdate`` for ``order`` (not committed)."""
    _check_open(order)
    _check_event_time(order, report.event_time, now)
    start, end = report.appointment_start, report.appointment_end
    if report.type_code is JobStatusType.SCHEDULED and (start is None or end is None):
        raise ReportRefused("a Scheduled update needs its RefinedAppointmentWindow")
    if (start is None) != (end is None):
        raise ReportRefused("RefinedAppointmentWindow needs both StartTime and EndTime")
    if start is not None and end is not None and end <= start:
        raise ReportRefused("RefinedAppointmentWindow ends before it starts")
    update = WorkOrderStatusUpdate(
        work_order_id=order.id,
        received_at=now,
        event_time=report.event_time,
        type_code=report.type_code.value,
        comments=report.comments,
        appointment_start=start,
        appointment_end=end,
        evidence=[e.as_hact() for e in report.evidence],
        completion=None,
        reported_by=actor,
    )
    session.add(update)
    before = order.status
    order.status = _WORK_ORDER_STATUS[report.type_code]
    order.status_updated_at = now
    window = (
        f", appointment {start.isoformat()} to {end.isoformat()}"
        if start is not None and end is not None
        else ""
    )
    _trail(
        session,
        order,
        actor=actor,
        now=now,
        reason=f"work order {order.reference}: {report.type_code.value}{window}",
        detail={
            "work_order": order.reference,
            "type_code": report.type_code.value,
            "work_order_status_before": before,
            "event_time": report.event_time.isoformat(),
            "evidence": len(report.evidence),
        },
    )
    session.flush()
    return update


def record_completion(
    session: Session,
    order: WorkOrder,
    report: CompletionReport,
    *,
    actor: str,
    now: dt.datetime,
) -> WorkOrderStatusUpdate:
    """Record a ``WorkOrderComplete`` for ``order`` (not committed): the work order is
    complete; the case waits for an officer to resolve it."""
    _check_open(order)
    _check_event_time(order, report.event_time, now)
    if not report.completed_work_elements:
        raise ReportRefused("CompletedWorkElements lists at least one element")
    completion = {
        "CompletedWorkElements": [dict(e) for e in report.completed_work_elements],
        "OperativesUsed": report.operatives_used,
        "FollowOnWorkOrderReference": report.follow_on_work_order_reference,
    }
    update = WorkOrderStatusUpdate(
        work_order_id=order.id,
        received_at=now,
        event_time=report.event_time,
        type_code="Complete",
        comments=report.comments,
        evidence=[e.as_hact() for e in report.evidence],
        completion=completion,
        reported_by=actor,
    )
    session.add(update)
    before = order.status
    order.status = "complete"
    order.status_updated_at = now
    follow_on = report.follow_on_work_order_reference
    _trail(
        session,
        order,
        actor=actor,
        now=now,
        reason=f"work order {order.reference}: Complete"
        + (f" (follow-on {follow_on})" if follow_on else "")
        + "; an officer confirms the case resolved",
        detail={
            "work_order": order.reference,
            "type_code": "Complete",
            "work_order_status_before": before,
            "event_time": report.event_time.isoformat(),
            "evidence": len(report.evidence),
        },
    )
    session.flush()
    return update
