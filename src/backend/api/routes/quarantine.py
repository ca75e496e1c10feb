"""Quarantined messages: what broke the contract, with the reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from backend.api.deps import SessionDep
from backend.api.schemas import QuarantinePublic
from dampwatch_core.models import QuarantinedMessage

router = APIRouter(prefix="/api/v1/quarantine", tags=["quarantine"])

PREVIEW_BYTES = 512


@router.get("")
def quarantine(
    session: SessionDep,
    reason: str | None = None,
    device: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantinePublic]:
    query = select(QuarantinedMessage).order_by(QuarantinedMessage.id.desc()).limit(limit)
    if reason:
        query = query.where(QuarantinedMessage.reason == reason)
    if device:
        query = query.where(QuarantinedMessage.device_id == device)
    out = []
    for q in session.scalars(query):
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
def quarantine_counts(session: SessionDep) -> dict[str, int]:
    rows = session.execute(
        select(QuarantinedMessage.reason, func.count()).group_by(QuarantinedMessage.reason)
    ).all()
    return {reason: count for reason, count in rows}
