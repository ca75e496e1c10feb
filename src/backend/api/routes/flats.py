"""Flats and their readings."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy.orm import Session

from backend.api.cursor import CURSOR_PATTERN, ReadingsCursor, decode_cursor, encode_cursor
from backend.api.schemas import (
    ERRORS,
    NOT_FOUND,
    FlatPublic,
    FlatRiskPublic,
    FlatRiskSummary,
    ReadingPublic,
    ReadingsPublic,
    RiskHistoryPoint,
)
from backend.api.timeparams import check_range, parse_time
from backend.auth import EstateViewer, Principal, check_landlord, landlord_filter
from backend.deps import ReadingsDep, SessionDep
from backend.params import FlatIdPath, Offset, invalid
from backend.queries import flat_assessments, ranked_flats
from dampwatch_core.models import Flat

router = APIRouter(prefix="/api/v1/flats", tags=["flats"], responses=ERRORS)

MAX_WINDOW_S = 400 * 24 * 3600
#: ``resolution=auto`` answers longer windows from the hourly aggregates
HOURLY_AFTER_S = 7 * 24 * 3600
#: rows in one page of readings, across all of a flat's devices
DEFAULT_ROWS = 10_000
MAX_ROWS = 20_000


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
    offset: Offset = 0,
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


@router.get("/{flat_id}/risk", responses=NOT_FOUND)
def flat_risk(
    flat_id: FlatIdPath,
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
    stored = {name: getattr(a, name) for name in FlatRiskPublic.model_fields if name != "history"}
    return FlatRiskPublic.model_validate(
        {
            **stored,
            "history": [RiskHistoryPoint.model_validate(h) for h in reversed(latest[:history])],
        }
    )


@router.get("/{flat_id}", responses=NOT_FOUND)
def get_flat(flat_id: FlatIdPath, session: SessionDep, user: EstateViewer) -> FlatPublic:
    return FlatPublic.model_validate(_visible_flat(session, user, flat_id))


@router.get("/{flat_id}/readings", responses=NOT_FOUND)
def flat_readings(
    flat_id: FlatIdPath,
    session: SessionDep,
    user: EstateViewer,
    readings: ReadingsDep,
    start: Annotated[
        str | None, Query(alias="from", max_length=64, description="Unix s or ISO 8601")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=64, description="Unix s or ISO 8601")
    ] = None,
    resolution: Annotated[
        Literal["auto", "raw", "hourly"],
        Query(description=f"auto: hourly for windows over {HOURLY_AFTER_S // 86400} days"),
    ] = "auto",
    limit: Annotated[
        int, Query(ge=1, le=MAX_ROWS, description="rows in this page, across all devices")
    ] = DEFAULT_ROWS,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page"),
    ] = None,
) -> ReadingsPublic:
    """Readings of every device in the flat, ``from <= ts < to`` (default: the last
    24 h), oldest first, at most ``limit`` a page. A page that does not reach ``to`` is
    ``partial`` and has a ``next_cursor``; the cursor carries the window, so the next
    page is ``?cursor=`` alone. Windows over a week are answered from hourly aggregates
    unless ``resolution=raw``."""
    _visible_flat(session, user, flat_id)
    if cursor is not None:
        c = decode_cursor(cursor)
        for name, given, carried in (("from", start, c.start), ("to", end, c.end)):
            if given is not None and parse_time(given, name) != carried:
                raise invalid(name, f"'{name}' differs from the window the cursor belongs to")
        if resolution not in ("auto", c.resolution):
            raise invalid("resolution", "differs from the resolution the cursor belongs to")
        t_start, t_end, res, after = c.start, c.end, c.resolution, c.position
    else:
        now = int(time.time())
        t_end = parse_time(end, "to", bounded=False) if end is not None else now + 1
        t_start = parse_time(start, "from", bounded=False) if start is not None else t_end - 86400
        if t_start >= t_end:
            raise invalid("from", "'from' must be before 'to'")
        check_range(t_start, "from")
        check_range(t_end, "to")
        if t_end - t_start > MAX_WINDOW_S:
            raise invalid("to", f"the window may span at most {MAX_WINDOW_S // 86400} days")
        if resolution == "auto":
            res = "hourly" if t_end - t_start > HOURLY_AFTER_S else "raw"
        else:
            res = resolution
        after = None
    page = readings.page(flat_id, t_start, t_end, limit=limit, resolution=res, after=after)
    next_cursor = (
        None if page.next is None else encode_cursor(ReadingsCursor(t_start, t_end, res, page.next))
    )
    return ReadingsPublic(
        flat_id=flat_id,
        start=t_start,
        end=t_end,
        resolution=res,
        count=len(page.rows),
        partial=next_cursor is not None,
        next_cursor=next_cursor,
        readings=[ReadingPublic.model_validate(r, from_attributes=True) for r in page.rows],
    )
