"""Quarantined messages: what broke the contract, with the reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.schemas import ERRORS, QuarantinePublic
from backend.auth import require_role
from backend.deps import SessionDep
from backend.params import CODE_PATTERN, TEXT_PATTERN
from backend.queries import quarantine_counts, recent_quarantine

# payloads can come from any landlord's devices, or from none: admins only
router = APIRouter(
    prefix="/api/v1/quarantine",
    tags=["quarantine"],
    dependencies=[require_role("admin")],
    responses=ERRORS,
)

PREVIEW_BYTES = 512


@router.get("")
def quarantine(
    session: SessionDep,
    reason: Annotated[
        str | None, Query(max_length=64, pattern=CODE_PATTERN, description="e.g. not_json")
    ] = None,
    device: Annotated[
        str | None,
        Query(max_length=64, pattern=TEXT_PATTERN, description="device id as it was sent"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantinePublic]:
    rows = recent_quarantine(session, reason=reason, device=device, limit=limit)
    out = []
    for q in rows:
        out.append(
            QuarantinePublic(
                id=q.id,
                received_at=q.received_at,
                topic=q.topic,
                device_id=q.device_id,
                reason=q.reason,
                detail=q.detail,
                reading_index=q.reading_index,
                payload_preview=q.payload[:PREVIEW_BYTES].decode("utf-8", errors="replace"),
            )
        )
    return out


@router.get("/counts")
def counts(session: SessionDep) -> dict[str, int]:
    return quarantine_counts(session)
