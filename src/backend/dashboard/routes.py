"""Dashboard pages: the estate ranked by risk, a flat's explanation and trend, device
health, quarantine."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backend.auth import Admin, EstateViewer, check_landlord, landlord_filter
from backend.auth.deps import template_context
from backend.dashboard.charts import Line, line_chart
from backend.deps import ReadingsDep, SessionDep
from backend.params import CODE_PATTERN, MAX_OFFSET, TEXT_PATTERN, FlatIdPath
from backend.queries import (
    blocks,
    flat_assessments,
    flat_devices,
    level_counts,
    quarantine_counts,
    ranked_flats,
    recent_quarantine,
)
from backend.readings import ReadingRow, ReadingStore, ReadingsUnavailable
from backend.registry import list_devices
from dampwatch_core.models import Flat

__all__ = ["PER_PAGE", "error_page", "router"]

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    directory=str(Path(__file__).parent / "templates"), context_processors=[template_context]
)

PER_PAGE = 100
#: the flat page charts raw readings up to a week, hourly means beyond
RAW_CHART_S = 7 * 86400 + 1
CHART_ROWS = 20_000
MAX_PAGE = MAX_OFFSET // PER_PAGE
TITLES = {
    403: "Not permitted",
    404: "Not found",
    422: "Cannot show that",
    503: "Temporarily unavailable",
}


def _when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%d %b %Y %H:%M UTC")


templates.env.filters["when"] = _when


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The page for an error (the app factory answers every error of a page with it)."""
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": TITLES.get(status, "Something went wrong"), "message": message},
        status_code=status,
    )


@router.get("/", response_class=HTMLResponse)
def estate(
    request: Request,
    session: SessionDep,
    user: EstateViewer,
    block: Annotated[str | None, Query(max_length=128, pattern=TEXT_PATTERN)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    per_page = PER_PAGE
    landlord = landlord_filter(user)
    # one more than a page, to know whether there is a next one
    rows = ranked_flats(
        session,
        sort="risk",
        block=block or None,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
        landlord=landlord,
    )
    return templates.TemplateResponse(
        request,
        "estate.html",
        {
            "rows": rows[:per_page],
            "has_next": len(rows) > per_page,
            "blocks": blocks(session, landlord),
            "block": block or "",
            "counts": level_counts(session, landlord),
            "page": page,
            "per_page": per_page,
        },
    )


@router.get("/flats/{flat_id}", response_class=HTMLResponse)
def flat_page(
    request: Request,
    flat_id: FlatIdPath,
    session: SessionDep,
    user: EstateViewer,
    readings: ReadingsDep,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> HTMLResponse:
    flat = session.get(Flat, flat_id)
    check_landlord(user, flat.landlord if flat is not None else None, f"flat {flat_id!r}")
    assessments = flat_assessments(session, flat_id, 90)
    end = int(time.time())
    try:
        rows = _chart_rows(readings, flat_id, end - days * 86400, end + 1)
        readings_unavailable = False
    except ReadingsUnavailable:
        rows, readings_unavailable = [], True
    rooms = sorted({r.room for r in rows})
    temp_chart = line_chart(
        [Line(room, [(r.ts, r.temp_c) for r in rows if r.room == room]) for room in rooms]
        + [
            Line(
                f"{room} wall",
                [(r.ts, r.surface_c) for r in rows if r.room == room and r.surface_c is not None],
            )
            for room in rooms
            if any(r.surface_c is not None for r in rows if r.room == room)
        ],
        title=f"Temperature, last {days} days",
        unit="°C",
    )
    rh_chart = line_chart(
        [Line(room, [(r.ts, r.rh_pct) for r in rows if r.room == room]) for room in rooms],
        title=f"Relative humidity, last {days} days",
        unit="%",
    )
    return templates.TemplateResponse(
        request,
        "flat.html",
        {
            "flat": flat,
            "latest": assessments[0] if assessments else None,
            "history": list(reversed(assessments)),
            "devices": flat_devices(session, flat_id),
            "temp_chart": temp_chart,
            "rh_chart": rh_chart,
            "days": days,
            "reading_count": len(rows),
            "readings_unavailable": readings_unavailable,
        },
    )


def _chart_rows(readings: ReadingStore, flat_id: str, start: int, end: int) -> list[ReadingRow]:
    """Raw readings for up to a week, else (or when a week holds more than a page) hourly
    means: a chart of a few thousand points per line at most."""
    if end - start <= RAW_CHART_S:
        page = readings.page(flat_id, start, end, limit=CHART_ROWS, resolution="raw")
        if page.next is None:
            return page.rows
    return readings.page(flat_id, start, end, limit=CHART_ROWS, resolution="hourly").rows


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, session: SessionDep, user: EstateViewer) -> HTMLResponse:
    found = list_devices(session, landlord=landlord_filter(user))
    return templates.TemplateResponse(request, "devices.html", {"devices": found})


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    session: SessionDep,
    _user: Admin,
    reason: Annotated[str | None, Query(max_length=64, pattern=CODE_PATTERN)] = None,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "quarantine.html",
        {
            "items": recent_quarantine(session, reason=reason or None, limit=200),
            "counts": quarantine_counts(session),
            "reason": reason or "",
        },
    )
