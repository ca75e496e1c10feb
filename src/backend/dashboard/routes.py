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

from backend.api.deps import ReadingsDep, SessionDep
from backend.auth import Admin, EstateViewer, check_landlord, landlord_filter
from backend.auth.deps import template_context
from backend.dashboard.charts import Line, line_chart
from backend.queries import (
    blocks,
    flat_assessments,
    flat_devices,
    level_counts,
    quarantine_counts,
    ranked_flats,
    recent_quarantine,
)
from backend.registry import list_devices
from dampwatch_core.models import Flat

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    directory=str(Path(__file__).parent / "templates"), context_processors=[template_context]
)


def _when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%d %b %Y %H:%M UTC")


templates.env.filters["when"] = _when


@router.get("/", response_class=HTMLResponse)
def estate(
    request: Request,
    session: SessionDep,
    user: EstateViewer,
    block: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    per_page = 100
    landlord = landlord_filter(user)
    rows = ranked_flats(
        session,
        sort="risk",
        block=block or None,
        limit=per_page,
        offset=(page - 1) * per_page,
        landlord=landlord,
    )
    return templates.TemplateResponse(
        request,
        "estate.html",
        {
            "rows": rows,
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
    flat_id: str,
    session: SessionDep,
    user: EstateViewer,
    readings: ReadingsDep,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> HTMLResponse:
    flat = session.get(Flat, flat_id)
    check_landlord(user, flat.landlord if flat is not None else None, f"flat {flat_id!r}")
    assessments = flat_assessments(session, flat_id, 90)
    end = int(time.time())
    rows = readings.for_flat(flat_id, end - days * 86400, end + 1)
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
        },
    )


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, session: SessionDep, user: EstateViewer) -> HTMLResponse:
    found = list_devices(session, landlord=landlord_filter(user))
    return templates.TemplateResponse(request, "devices.html", {"devices": found})


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request, session: SessionDep, _user: Admin, reason: str | None = None
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
