"""Work orders, for the contractors they were sent to: the open ones, and reports back
(HACT ``JobStatusUpdate`` and ``WorkOrderComplete``). Only the contractor role may call
these, and only about its own organisation's work orders for its landlord's flats;
another's work order and one that does not exist are refused alike (403)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerting.cases.contractor_reports import (
    CompletionReport,
    EvidenceLink,
    JobStatusReport,
    JobStatusType,
    NotYourWorkOrder,
    ReportRefused,
    WorkOrderClosed,
    bound_contractor,
    contractor_work_order,
    open_work_orders,
    record_completion,
    record_status,
)
from backend.api.schemas import BAD_BODY, ERRORS, ErrorPublic
from backend.auth import Principal, require_role
from backend.deps import SessionDep
from backend.params import TEXT_PATTERN
from dampwatch_core.models import Flat, utcnow
from dampwatch_core.models_cases import Contractor, WorkOrder

router = APIRouter(prefix="/api/v1/work-orders", tags=["work orders"], responses=ERRORS)

ContractorUser = Annotated[Principal, require_role("contractor")]

#: ``DM-000123-1``: the case's reference and the work order's number
WorkOrderRef = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9]{1,8}-[0-9]{1,12}-[0-9]{1,6}$",
        max_length=40,
        description="work order reference",
    ),
]
REFUSED: dict[int | str, dict[str, Any]] = {
    **BAD_BODY,
    409: {"model": ErrorPublic, "description": "The work order is complete or cancelled"},
}

#: free text of several lines: tabs and line breaks, no other control character
_Text = Annotated[str, Field(max_length=4000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
_Short = Annotated[str, Field(max_length=256, pattern=TEXT_PATTERN)]
_Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
_Time = Annotated[
    AwareDatetime,
    Field(
        ge=datetime.fromisoformat("2000-01-01T00:00:00+00:00"),
        le=datetime.fromisoformat("2100-01-01T00:00:00+00:00"),
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidenceIn(_Strict):
    """A link to a photo or a report (HACT ``Evidence``)."""

    URI: Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s\x00]+$")]
    Title: _Short = ""
    CreationDateTime: _Time | None = None

    def link(self) -> EvidenceLink:
        return EvidenceLink(self.URI, self.Title, self.CreationDateTime)


class AppointmentWindowIn(_Strict):
    StartTime: _Time
    EndTime: _Time


class JobStatusUpdateIn(_Strict):
    """HACT ``JobStatusUpdate``; ``RelatedWorkOrderReference`` may be left out (the
    path names the work order) and must match it when given."""

    RelatedWorkOrderReference: _Short | None = None
    TypeCode: Literal["Assigned", "Scheduled", "Hold", "NoAccess"]
    EventTime: _Time
    Comments: _Text = ""
    RefinedAppointmentWindow: AppointmentWindowIn | None = None
    Evidence: Annotated[list[EvidenceIn], Field(max_length=20)] = []


class CompletedWorkElementIn(_Strict):
    WorkElementCode: _Code | None = None
    Description: _Short = ""
    Quantity: Annotated[float, Field(ge=0, le=1_000_000)] | None = None


class WorkOrderCompleteIn(_Strict):
    """HACT ``WorkOrderComplete``, with the time, comments and evidence of the visit."""

    RelatedWorkOrderReference: _Short | None = None
    EventTime: _Time
    CompletedWorkElements: Annotated[
        list[CompletedWorkElementIn], Field(min_length=1, max_length=100)
    ]
    OperativesUsed: Annotated[int, Field(ge=0, le=1000)] | None = None
    FollowOnWorkOrderReference: _Short | None = None
    Comments: _Text = ""
    Evidence: Annotated[list[EvidenceIn], Field(max_length=20)] = []


class WorkOrderPublic(BaseModel):
    """A work order as its contractor sees it (no tenant's contact details)."""

    reference: str
    case_reference: str
    status: str
    priority_code: str
    required_completion_at: datetime | None
    raised_at: datetime
    status_updated_at: datetime
    flat_id: str
    address: str
    postcode: str | None
    description: str


class StatusRecordedPublic(BaseModel):
    reference: str
    status: str
    update_id: int
    received_at: datetime


def _contractor(session: SessionDep, user: Principal) -> Contractor:
    found = bound_contractor(session, user.contractor)
    if found is None:
        raise HTTPException(
            403, "your organisation is not a registered contractor; ask the landlord's admin"
        )
    return found


def _order(session: SessionDep, user: Principal, reference: str) -> WorkOrder:
    try:
        return contractor_work_order(session, _contractor(session, user), user.landlord, reference)
    except NotYourWorkOrder as exc:
        raise HTTPException(403, str(exc)) from None


def _public(session: SessionDep, order: WorkOrder) -> WorkOrderPublic:
    case = order.case
    flat = session.get(Flat, case.flat_id)
    assert flat is not None  # a foreign key
    return WorkOrderPublic(
        reference=order.reference,
        case_reference=case.reference,
        status=order.status,
        priority_code=order.priority_code,
        required_completion_at=order.required_completion_at,
        raised_at=order.raised_at,
        status_updated_at=order.status_updated_at,
        flat_id=case.flat_id,
        address=flat.address,
        postcode=flat.postcode,
        description=case.description,
    )


def _check_related(reference: str, related: str | None) -> None:
    if related is not None and related != reference:
        raise HTTPException(
            422, f"RelatedWorkOrderReference {related!r} is not the work order {reference!r}"
        )


def _recorded(order: WorkOrder, update_id: int, at: datetime) -> StatusRecordedPublic:
    return StatusRecordedPublic(
        reference=order.reference, status=order.status, update_id=update_id, received_at=at
    )


@router.get("")
def my_open_work_orders(session: SessionDep, user: ContractorUser) -> list[WorkOrderPublic]:
    """Your organisation's open work orders (raised, assigned, scheduled, on hold, no
    access), oldest first."""
    contractor = _contractor(session, user)
    return [_public(session, o) for o in open_work_orders(session, contractor, user.landlord)]


@router.post("/{reference}/status", responses=REFUSED)
def job_status_update(
    reference: WorkOrderRef, body: JobStatusUpdateIn, session: SessionDep, user: ContractorUser
) -> StatusRecordedPublic:
    """Report a job's status (HACT ``JobStatusUpdate``): ``Scheduled`` with its
    appointment window, ``Hold``, ``NoAccess`` or ``Assigned``."""
    _check_related(reference, body.RelatedWorkOrderReference)
    order = _order(session, user, reference)
    window = body.RefinedAppointmentWindow
    report = JobStatusReport(
        type_code=JobStatusType(body.TypeCode),
        event_time=body.EventTime,
        comments=body.Comments,
        appointment_start=window.StartTime if window else None,
        appointment_end=window.EndTime if window else None,
        evidence=tuple(e.link() for e in body.Evidence),
    )
    now = utcnow()
    try:
        update = record_status(session, order, report, actor=user.email, now=now)
    except WorkOrderClosed as exc:
        session.rollback()
        raise HTTPException(409, str(exc)) from None
    except ReportRefused as exc:
        session.rollback()
        raise HTTPException(422, str(exc)) from None
    result = _recorded(order, update.id, now)
    session.commit()
    return result


@router.post("/{reference}/complete", responses=REFUSED)
def work_order_complete(
    reference: WorkOrderRef,
    body: WorkOrderCompleteIn,
    session: SessionDep,
    user: ContractorUser,
) -> StatusRecordedPublic:
    """Report the work done (HACT ``WorkOrderComplete``). The work order is complete;
    the case stays open until an officer resolves it."""
    _check_related(reference, body.RelatedWorkOrderReference)
    order = _order(session, user, reference)
    report = CompletionReport(
        event_time=body.EventTime,
        completed_work_elements=[
            e.model_dump(exclude_none=True) for e in body.CompletedWorkElements
        ],
        operatives_used=body.OperativesUsed,
        follow_on_work_order_reference=body.FollowOnWorkOrderReference,
        comments=body.Comments,
        evidence=tuple(e.link() for e in body.Evidence),
    )
    now = utcnow()
    try:
        update = record_completion(session, order, report, actor=user.email, now=now)
    except WorkOrderClosed as exc:
        session.rollback()
        raise HTTPException(409, str(exc)) from None
    except ReportRefused as exc:
        session.rollback()
        raise HTTPException(422, str(exc)) from None
    result = _recorded(order, update.id, now)
    session.commit()
    return result
