"""Dashboard pages: the estate ranked by risk, a flat's explanation and trend, device
health, quarantine."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.auth import Admin, EstateViewer, check_landlord, landlord_filter
from backend.dashboard import case_pages, report_pages
from backend.dashboard.charts import Line, line_chart
from backend.dashboard.estate import (
    BANDS,
    DEVICE_PROBLEMS,
    EstateFilter,
    band_counts,
    coverage,
    device_health_page,
    device_problem_counts,
    estate_page,
)
from backend.dashboard.templating import templates
from backend.deps import ReadingsDep, SessionDep
from backend.params import CODE_PATTERN, MAX_OFFSET, TEXT_PATTERN, FlatIdPath
from backend.queries import (
    blocks,
    flat_assessments,
    flat_devices,
    landlords,
    level_counts,
    quarantine_counts,
    recent_quarantine,
)
from backend.readings import ReadingRow, ReadingStore, ReadingsUnavailable
from dampwatch_core.const import OUTDOOR_ROOM
from dampwatch_core.models import Device, Flat, utcnow
from dampwatch_core.models_cases import ACTIVE_CASE_STATES, HazardCase

__all__ = ["PER_PAGE", "error_page", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(case_pages.router)
router.include_router(report_pages.router)

PER_PAGE = 100
#: the flat page charts raw readings up to a week, hourly means beyond
RAW_CHART_S = 7 * 86400 + 1
CHART_ROWS = 20_000
MAX_PAGE = MAX_OFFSET // PER_PAGE
BAND_PATTERN = "^(" + "|".join(BANDS) + ")?$"
CASE_FILTERS = ("open", "none", *ACTIVE_CASE_STATES)
CASE_FILTER_PATTERN = "^(" + "|".join(CASE_FILTERS) + ")?$"
PROBLEM_PATTERN = "^(any|" + "|".join(DEVICE_PROBLEMS) + ")?$"
TITLES = {
    403: "Not permitted",
    404: "Not found",
    422: "Cannot show that",
    503: "Temporarily unavailable",
}


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
    band: Annotated[str | None, Query(pattern=BAND_PATTERN)] = None,
    case: Annotated[str | None, Query(pattern=CASE_FILTER_PATTERN)] = None,
    landlord: Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    per_page = PER_PAGE
    # an admin may pick a landlord; anyone else sees only their own
    scope = landlord_filter(user)
    if scope is None and landlord:
        scope = landlord
    f = EstateFilter(
        block=block or None, landlord=scope, band=band or None, case_state=case or None
    )
    # one more than a page, to know whether there is a next one
    rows = estate_page(session, f, limit=per_page + 1, offset=(page - 1) * per_page)
    return templates.TemplateResponse(
        request,
        "estate.html",
        {
            "section": "estate",
            "rows": rows[:per_page],
            "has_next": len(rows) > per_page,
            "blocks": blocks(session, landlord_filter(user)),
            "landlords": landlords(session) if user.sees_all_landlords else [],
            "block": block or "",
            "band": band or "",
            "case": case or "",
            "landlord": landlord or "",
            "bands": band_counts(session, f),
            "counts": level_counts(session, scope),
            "page": page,
            "per_page": per_page,
            "case_filters": CASE_FILTERS,
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
    cases = list(
        session.scalars(
            select(HazardCase)
            .where(HazardCase.flat_id == flat_id)
            .order_by(HazardCase.aware_at.desc())
            .options(selectinload(HazardCase.history))
        )
    )
    return templates.TemplateResponse(
        request,
        "flat.html",
        {
            "section": "estate",
            "cases": cases,
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


@router.get("/flats/{flat_id}/chart.json")
def flat_chart(
    flat_id: FlatIdPath,
    session: SessionDep,
    user: EstateViewer,
    readings: ReadingsDep,
    days: Annotated[int, Query(ge=1, le=90)] = 30,
) -> dict[str, Any]:
    """The flat's story as chart data, hourly (see ``backend.dashboard.story``)."""
    # imported here: the physics pulls in scipy, which the app need not load to start
    from backend.dashboard.story import flat_chart_data

    flat = session.get(Flat, flat_id)
    check_landlord(user, flat.landlord if flat is not None else None, f"flat {flat_id!r}")
    assert flat is not None
    end = int(time.time()) // 3600 * 3600 + 3600
    start = end - days * 86400
    rows = readings.page(flat_id, start, end, limit=CHART_ROWS, resolution="hourly").rows
    outdoor: list[ReadingRow] = []
    if flat.block:
        sources = session.scalars(
            select(Device.flat_id)
            .join(Flat, Flat.id == Device.flat_id)
            .where(Device.room == OUTDOOR_ROOM, Flat.block == flat.block)
            .distinct()
            .limit(3)
        ).all()
        for source in sources:
            got = readings.page(source, start, end, limit=CHART_ROWS, resolution="hourly").rows
            outdoor += [r for r in got if r.room == OUTDOOR_ROOM]
    return flat_chart_data(rows, outdoor, start, end)


def _chart_rows(readings: ReadingStore, flat_id: str, start: int, end: int) -> list[ReadingRow]:
    """Raw readings for up to a week, else (or when a week holds more than a page) hourly
    means: a chart of a few thousand points per line at most."""
    if end - start <= RAW_CHART_S:
        page = readings.page(flat_id, start, end, limit=CHART_ROWS, resolution="raw")
        if page.next is None:
            return page.rows
    return readings.page(flat_id, start, end, limit=CHART_ROWS, resolution="hourly").rows


@router.get("/devices", response_class=HTMLResponse)
def devices_page(
    request: Request,
    session: SessionDep,
    user: EstateViewer,
    problem: Annotated[str | None, Query(pattern=PROBLEM_PATTERN)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    now = utcnow()
    landlord = landlord_filter(user)
    found = device_health_page(
        session,
        now=now,
        landlord=landlord,
        problem=problem or None,
        limit=PER_PAGE + 1,
        offset=(page - 1) * PER_PAGE,
    )
    reporting, with_sensor = coverage(session, now=now, landlord=landlord)
    return templates.TemplateResponse(
        request,
        "devices.html",
        {
            "section": "devices",
            "devices": found[:PER_PAGE],
            "has_next": len(found) > PER_PAGE,
            "page": page,
            "problem": problem or "",
            "problems": device_problem_counts(session, now=now, landlord=landlord),
            "reporting": reporting,
            "with_sensor": with_sensor,
            "coverage_pct": 100 * reporting / with_sensor if with_sensor else None,
        },
    )


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
