"""The KPIs page and the CSV exports."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from backend.auth import EstateViewer, landlord_filter
from backend.dashboard.actions import ROOT_CAUSES
from backend.dashboard.estate import EstateFilter, coverage, estate_page
from backend.dashboard.exports import CASE_COLUMNS, FLAT_COLUMNS, csv_rows
from backend.dashboard.kpis import KPIS_DAYS, compute_kpis, load_cases
from backend.dashboard.queue import next_clock
from backend.dashboard.templating import templates
from backend.deps import SessionDep
from backend.params import TEXT_PATTERN
from dampwatch_core.models import Flat, utcnow
from dampwatch_core.models_cases import HazardCase, WorkOrder

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
EXPORT_BATCH = 1000
STEPS = ("investigate", "written_summary", "make_safe", "works_begin", "works_start")


@router.get("/kpis", response_class=HTMLResponse)
def kpis_page(request: Request, session: SessionDep, user: EstateViewer) -> HTMLResponse:
    now = utcnow()
    landlord = landlord_filter(user)
    k = compute_kpis(
        load_cases(session, since=now - dt.timedelta(days=KPIS_DAYS), landlord=landlord), now
    )
    reporting, with_sensor = coverage(session, now=now, landlord=landlord)
    months = list(k.monthly)
    chart = {
        "months": months,
        "opened": [k.monthly[m]["opened"] for m in months],
        "sensor": [k.monthly[m]["sensor"] for m in months],
        "resolved": [k.monthly[m]["resolved"] for m in months],
        "median_investigate_days": [k.monthly[m].get("median_investigate_days") for m in months],
    }
    return templates.TemplateResponse(
        request,
        "kpis.html",
        {
            "section": "kpis",
            "k": k,
            "steps": STEPS,
            "root_causes": ROOT_CAUSES,
            "coverage_pct": 100 * reporting / with_sensor if with_sensor else None,
            "reporting": reporting,
            "with_sensor": with_sensor,
            "chart_json": json.dumps(chart),
            "days": KPIS_DAYS,
        },
    )


def _csv(body: Iterator[str], name: str) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/exports/flats.csv")
def flats_csv(
    request: Request,
    user: EstateViewer,
    block: Annotated[str | None, Query(max_length=128, pattern=TEXT_PATTERN)] = None,
    band: Annotated[str | None, Query(pattern="^(high|medium|low|pending)?$")] = None,
    case: Annotated[str | None, Query(max_length=24, pattern="^[a-z_]*$")] = None,
    landlord: Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN)] = None,
) -> StreamingResponse:
    """Every flat under the estate page's filters, with its risk."""
    scope = landlord_filter(user)
    if scope is None and landlord:
        scope = landlord
    f = EstateFilter(block or None, scope, band or None, case or None)
    sessions: sessionmaker[Session] = request.app.state.sessions

    def rows() -> Iterator[list[object]]:
        with sessions() as session:
            offset = 0
            while True:
                page = estate_page(session, f, limit=EXPORT_BATCH, offset=offset)
                for flat, risk, b in page:
                    yield [
                        flat.id,
                        flat.address,
                        flat.block,
                        flat.postcode,
                        flat.landlord,
                        b,
                        risk.damp_level if risk else None,
                        risk.cold_level if risk else None,
                        risk.score if risk else None,
                        risk.assessed_at if risk else None,
                    ]
                if len(page) < EXPORT_BATCH:
                    return
                offset += EXPORT_BATCH
                session.expunge_all()

    return _csv(csv_rows(FLAT_COLUMNS, rows()), "flats.csv")


@router.get("/exports/cases.csv")
def cases_csv(request: Request, user: EstateViewer) -> StreamingResponse:
    """Every case (open and closed) with its next deadline."""
    landlord = landlord_filter(user)
    sessions: sessionmaker[Session] = request.app.state.sessions
    now = utcnow()

    def rows() -> Iterator[list[object]]:
        with sessions() as session:
            last = 0
            while True:
                query = (
                    select(HazardCase, Flat)
                    .join(Flat, Flat.id == HazardCase.flat_id)
                    .where(HazardCase.id > last)
                    .order_by(HazardCase.id)
                    .limit(EXPORT_BATCH)
                    .options(
                        selectinload(HazardCase.deadlines),
                        selectinload(HazardCase.history),
                        selectinload(HazardCase.work_orders).selectinload(WorkOrder.contractor),
                    )
                )
                if landlord is not None:
                    query = query.where(Flat.landlord == landlord)
                batch = session.execute(query).all()
                for case, flat in batch:
                    clock = next_clock(case, now)
                    orders = sorted(case.work_orders, key=lambda w: w.id)
                    order = orders[-1] if orders else None
                    yield [
                        case.reference,
                        flat.id,
                        flat.block,
                        case.kind,
                        case.state,
                        case.severity,
                        case.trigger_source,
                        case.aware_at,
                        case.investigated_at,
                        case.made_safe_at,
                        case.resolved_at,
                        clock.step if clock else None,
                        clock.due_at if clock else None,
                        "yes" if clock and clock.breached else "no",
                        order.contractor.name if order else None,
                        order.status if order else None,
                        case.closed_reason,
                    ]
                if len(batch) < EXPORT_BATCH:
                    return
                last = batch[-1][0].id
                session.expunge_all()

    return _csv(csv_rows(CASE_COLUMNS, rows()), "cases.csv")
