"""Flats and their readings."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from backend.api.deps import ReadingsDep, SessionDep
from backend.api.schemas import FlatPublic, ReadingPublic, ReadingsPublic
from backend.api.timeparams import parse_time
from dampwatch_core.models import Flat

router = APIRouter(prefix="/api/v1/flats", tags=["flats"])

MAX_WINDOW_S = 400 * 24 * 3600


@router.get("")
def list_flats(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[FlatPublic]:
    flats = session.scalars(select(Flat).order_by(Flat.id).limit(limit).offset(offset))
    return [FlatPublic.model_validate(f) for f in flats]


@router.get("/{flat_id}")
def get_flat(flat_id: str, session: SessionDep) -> FlatPublic:
    flat = session.get(Flat, flat_id)
    if flat is None:
        raise HTTPException(404, f"flat {flat_id!r} not found")
    return FlatPublic.model_validate(flat)


@router.get("/{flat_id}/readings")
def flat_readings(
    flat_id: str,
    session: SessionDep,
    readings: ReadingsDep,
    start: Annotated[str | None, Query(alias="from", description="Unix s or ISO 8601")] = None,
    end: Annotated[str | None, Query(alias="to", description="Unix s or ISO 8601")] = None,
) -> ReadingsPublic:
    """Readings of every device in the flat, ``from <= ts < to`` (default: last 24 h)."""
    if session.get(Flat, flat_id) is None:
        raise HTTPException(404, f"flat {flat_id!r} not found")
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
