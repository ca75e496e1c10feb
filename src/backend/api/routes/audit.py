"""The audit trail, for admins: as JSON, or as CSV to keep or open in a spreadsheet."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from backend.api.schemas import ERRORS
from backend.auth import require_role
from backend.auth.audit import audit_csv, query_events
from backend.deps import SessionDep

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    dependencies=[require_role("admin")],
    responses=ERRORS,
)


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_user_id: int | None
    action: str
    subject_type: str | None
    subject_id: str | None
    landlord: str | None
    detail: dict[str, Any]


Action = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")]


@router.get("")
def audit_events(
    session: SessionDep,
    action: Action = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AuditEventPublic]:
    """Newest first; page back with ``before_id`` = the last id seen."""
    return [
        AuditEventPublic.model_validate(e, from_attributes=True)
        for e in query_events(session, action=action, before_id=before_id, limit=limit)
    ]


@router.get(
    "/export.csv",
    response_model=None,
    responses={
        200: {
            "description": "The events as CSV (header first), newest first",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def audit_export(
    session: SessionDep,
    action: Action = None,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
) -> StreamingResponse:
    events = query_events(session, action=action, limit=limit)
    return StreamingResponse(
        audit_csv(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="dampwatch-audit.csv"'},
    )
