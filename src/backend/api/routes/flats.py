"""Flats and their readings."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy.orm import Session

from backend.api.deps import ReadingsDep, SessionDep
from backend.api.schemas import (
    FlatPublic,
    FlatRiskPublic,
    FlatRiskSummary,
    ReadingPublic,
    ReadingsPublic,
    RiskHistoryPoint,
)
from backend.api.timeparams import parse_time
from backend.auth import EstateViewer, Principal, check_landlord, landlord_filter
from backend.queries import flat_assessments, ranked_flats
from dampwatch_core.models import Flat

router = APIRouter(prefix="/api/v1/flats", tags=["flats"])

MAX_WINDOW_S = 400 * 24 * 3600


def _visible_flat(session: Session, user: Principal, flat_id: str) -> Flat:
    """The flat, if it is ``user``'s landlord's (403 otherwise, and for no such flat)."""
    flat = session.get(Flat, flat_id)
    check_landlord(user, flat.landlord if flat is not None else None, f"flat {flat_id!r}")
    assert flat is not None
    return flat


@router.get("")
def list_flats(
    session: SessionDep,
    user: EstateViewer,
    sort: Literal["id", "risk"] = "id",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[FlatRiskSummary]:
    """Flats with their latest risk; ``sort=risk`` puts the highest risk first."""
    rows = ranked_flats(
        session, sort=sort, limit=limit, offset=offset, landlord=landlord_filter(user)
    )
    return [
        FlatRiskSummary(
            id=flat.id,
            block=flat.block,
            address=flat.address,
            damp_level=risk.damp_level if risk else None,
            cold_level=risk.cold_level if risk else None,
            assessed_at=risk.assessed_at if risk else None,
            score=risk.score if risk else None,
        )
        for flat, risk in rows
    ]


@router.get("/{flat_id}/risk")
def flat_risk(
    flat_id: str,
    session: SessionDep,
    user: EstateViewer,
    history: Annotated[int, Query(ge=0, le=1000, description="past assessments to include")] = 90,
) -> FlatRiskPublic:
    """The latest assessment with its reasons and per-room metrics, and the trend."""
    _visible_flat(session, user, flat_id)
    latest = flat_assessments(session, flat_id, max(history, 1))
    if not latest:
        raise HTTPException(404, f"flat {flat_id!r} has not been assessed yet")
    a = latest[0]
    return FlatRiskPublic(
        flat_id=flat_id,
        assessed_at=a.assessed_at,
        period_start=a.period_start,
        period_end=a.period_end,
        damp_level=a.damp_level,
        cold_level=a.cold_level,
        score=a.score,
        reasons=a.reasons,
        flags=a.flags,
        rooms=a.rooms,
        thresholds_version=a.thresholds_version,
        history=[
            RiskHistoryPoint(
                assessed_at=h.assessed_at,
                damp_level=h.damp_level,
                cold_level=h.cold_level,
                score=h.score,
            )
            for h in reversed(latest[:history])
        ],
    )


@router.get("/{flat_id}")
def get_flat(flat_id: str, session: SessionDep, user: EstateViewer) -> FlatPublic:
    return FlatPublic.model_validate(_visible_flat(session, user, flat_id))


@router.get("/{flat_id}/readings")
def flat_readings(
    flat_id: str,
    session: SessionDep,
    user: EstateViewer,
    readings: ReadingsDep,
    start: Annotated[str | None, Query(alias="from", description="Unix s or ISO 8601")] = None,
    end: Annotated[str | None, Query(alias="to", description="Unix s or ISO 8601")] = None,
) -> ReadingsPublic:
    """Readings of every device in the flat, ``from <= ts < to`` (default: last 24 h)."""
    _visible_flat(session, user, flat_id)
    now = int(time.time())
    t_end = parse_time(end, "to") if end is not None else now + 1
    t_start = parse_time(start, "from") if start is not None else t_end - 24 * 3600
    if t_start >= t_end:
        raise HTTPException(422, "'from' must be before 'to'")
    if t_end - t_start > MAX_WINDOW_S:
        raise HTTPException(422, f"the window may span at most {MAX_WINDOW_S // 86400} days")
    rows = readings.for_flat(flat_id, t_start, t_end)
    return ReadingsPublic(
        flat_id=flat_id,
        start=t_start,
        end=t_end,
        count=len(rows),
        readings=[
            ReadingPublic(
                ts=r.ts,
                device_id=r.device_id,
                room=r.room,
                temp_c=r.temp_c,
                rh_pct=r.rh_pct,
                surface_c=r.surface_c,
            )
            for r in rows
        ],
    )
