"""The case pages: the queue (the page an officer opens first), a case with its clocks,
timeline and actions, and its evidence pack (HTML and PDF)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import CaseDesk
from alerting.cases.states import TRANSITIONS, CaseKind, CaseState
from backend.auth import EstateViewer, check_landlord, landlord_filter, require_role
from backend.auth.deps import Principal
from backend.auth.pages import SessionForm
from backend.dashboard import evidence
from backend.dashboard.actions import ROOT_CAUSES, ActionRequest, CaseAction, apply_action
from backend.dashboard.queue import (
    CaseFilter,
    case_clocks_now,
    contractors,
    queue_counts,
    queue_page,
    summary_sent,
    three_working_days,
    time_left,
)
from backend.dashboard.templating import STATIC_DIR, templates
from backend.deps import ReadingsDep, SessionDep
from backend.params import MAX_OFFSET, TEXT_PATTERN
from backend.queries import blocks
from backend.readings import ReadingsUnavailable
from dampwatch_core.models import Flat, utcnow
from dampwatch_core.models_cases import HazardCase

__all__ = ["CALENDAR", "QUEUE_PER_PAGE", "router"]

router = APIRouter(include_in_schema=False)

QUEUE_PER_PAGE = 50
CALENDAR = WorkingCalendar.england_and_wales()
#: landlord-facing case references, e.g. ``DM-000123``
REFERENCE_PATTERN = r"^[A-Za-z0-9]{1,16}-[0-9]{1,12}$"
KIND_PATTERN = "^(" + "|".join(k.value for k in CaseKind) + ")?$"
STATE_PATTERN = "^(" + "|".join(s.value for s in CaseState if TRANSITIONS[s]) + ")?$"
ReferencePath = Annotated[str, Path(pattern=REFERENCE_PATTERN, max_length=32)]
#: who may act on a case (an analyst sees the queue, and changes nothing)
CaseWorker = Annotated[Principal, require_role("admin", "officer")]
EVIDENCE_ROWS = 20_000


def _desk(request: Request) -> CaseDesk:
    """The app's case desk (the composition root's: recording an investigation there
    also queues the tenant's written summary)."""
    desk: CaseDesk = request.app.state.case_desk
    return desk


def _case_for(session: Session, user: Principal, reference: str) -> tuple[HazardCase, Flat]:
    """The case, refused like any record of another landlord (403; 404 for an admin)."""
    found = session.execute(
        select(HazardCase, Flat)
        .join(Flat, Flat.id == HazardCase.flat_id)
        .where(HazardCase.reference == reference)
    ).first()
    check_landlord(user, found[1].landlord if found else None, f"case {reference!r}")
    assert found is not None
    return found[0], found[1]


@router.get("/cases", response_class=HTMLResponse)
def queue(
    request: Request,
    session: SessionDep,
    user: EstateViewer,
    kind: Annotated[str | None, Query(pattern=KIND_PATTERN)] = None,
    state: Annotated[str | None, Query(pattern=STATE_PATTERN)] = None,
    block: Annotated[str | None, Query(max_length=128, pattern=TEXT_PATTERN)] = None,
    contractor: Annotated[str | None, Query(pattern=r"^([1-9][0-9]{0,8})?$")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_OFFSET // QUEUE_PER_PAGE)] = 1,
) -> HTMLResponse:
    now = utcnow()
    landlord = landlord_filter(user)
    # an empty field (the form's "all") is no filter
    f = CaseFilter(
        kind=kind or None,
        state=state or None,
        block=block or None,
        contractor_id=int(contractor) if contractor else None,
        landlord=landlord,
    )
    rows = queue_page(
        session, f, now=now, limit=QUEUE_PER_PAGE + 1, offset=(page - 1) * QUEUE_PER_PAGE
    )
    counts = queue_counts(session, f, now=now, calendar=CALENDAR)
    query = {
        "kind": f.kind or "",
        "state": f.state or "",
        "block": f.block or "",
        "contractor": str(contractor or ""),
    }
    return templates.TemplateResponse(
        request,
        "cases.html",
        {
            "section": "cases",
            "rows": rows[:QUEUE_PER_PAGE],
            "has_next": len(rows) > QUEUE_PER_PAGE,
            "page": page,
            "pages": max(1, math.ceil(counts.open / QUEUE_PER_PAGE)),
            "counts": counts,
            "now": now,
            "three_days": three_working_days(CALENDAR, now),
            "filters": query,
            "kinds": [k.value for k in CaseKind],
            "states": sorted(
                (s.value for s in CaseState if TRANSITIONS[s]),
                key=lambda s: list(CaseState).index(CaseState(s)),
            ),
            "blocks": blocks(session, landlord),
            "contractors": contractors(session),
            "time_left": time_left,
        },
    )


def _allowed_actions(case: HazardCase) -> list[str]:
    state = CaseState(case.state)
    moves = TRANSITIONS[state]
    out = []
    if CaseState.ACKNOWLEDGED in moves:
        out.append(CaseAction.ACKNOWLEDGE.value)
    if moves:
        out.append(CaseAction.ASSESS.value)
    if case.investigated_at is None and state in (CaseState.ACKNOWLEDGED, CaseState.INVESTIGATING):
        out.append(CaseAction.RECORD_INVESTIGATION.value)
    if case.investigated_at is not None and not summary_sent(case) and moves:
        out.append(CaseAction.SUMMARY_SENT.value)
    if CaseState.MADE_SAFE in moves:
        out.append(CaseAction.MADE_SAFE.value)
    if CaseState.WORKS_SCHEDULED in moves:
        out.append(CaseAction.WORKS_SCHEDULED.value)
    if CaseState.RESOLVED in moves:
        out.append(CaseAction.RESOLVE.value)
    if CaseState.CLOSED in moves:
        out.append(CaseAction.CLOSE.value)
    return out


@router.get("/cases/{reference}", response_class=HTMLResponse)
def case_page(
    request: Request,
    reference: ReferencePath,
    session: SessionDep,
    user: EstateViewer,
    done: Annotated[CaseAction | None, Query()] = None,
) -> HTMLResponse:
    case, flat = _case_for(session, user, reference)
    now = utcnow()
    return templates.TemplateResponse(
        request,
        "case.html",
        {
            "section": "cases",
            "case": case,
            "flat": flat,
            "clocks": case_clocks_now(case, now),
            "now": now,
            "time_left": time_left,
            "history": list(reversed(case.history)),
            "actions": _allowed_actions(case) if user.role in ("admin", "officer") else [],
            "root_causes": ROOT_CAUSES,
            "done": done.value if done else None,
        },
    )


@router.post("/cases/{reference}/actions")
def case_action(
    request: Request,
    reference: ReferencePath,
    user: CaseWorker,
    form: SessionForm,
) -> Response:
    """One action from the case page's forms (CSRF-checked), then back to the case."""
    action = ActionRequest.from_form(form)
    sessions = request.app.state.sessions
    with sessions.begin() as session:
        case, flat = _case_for(session, user, reference)
        apply_action(
            session, _desk(request), case, action, user=user, landlord=flat.landlord, now=utcnow()
        )
    back = form.get("back", "")
    target = "/cases" if back == "queue" else f"/cases/{reference}?done={action.action.value}"
    return RedirectResponse(target, status_code=303)


def _pack_context(
    session: Session, readings: ReadingsDep, case: HazardCase, flat: Flat, user: Principal
) -> dict[str, object]:
    now = utcnow()
    start, end = evidence.sensor_window(case, now)
    try:
        page = readings.page(flat.id, start, end, limit=EVIDENCE_ROWS, resolution="hourly")
        rows, unavailable = page.rows, False
    except ReadingsUnavailable:
        rows, unavailable = [], True
    rooms = [r for r in {x.room for x in rows}]
    return {
        "case": case,
        "flat": flat,
        "now": now,
        "generated_by": user.email,
        "window": (
            dt.datetime.fromtimestamp(start, dt.UTC),
            dt.datetime.fromtimestamp(end, dt.UTC),
        ),
        "triggers": [h for h in case.history if h.event in ("opened", "finding")],
        "history": list(case.history),
        "investigation": next((h for h in case.history if h.event == "investigated"), None),
        "summary": next((h for h in case.history if h.event == "written_summary"), None),
        "escalations": [
            h for h in case.history if h.event in ("reminder", "escalated", "escalation")
        ],
        "rooms": evidence.room_evidence(rows, start, end, step_s=3600),
        "room_count": len(rooms),
        "readings_unavailable": unavailable,
        "devices": evidence.devices_of(session, flat),
        "deadlines": evidence.deadline_outcomes(case, now),
        "work_orders": sorted(case.work_orders, key=lambda w: w.id),
        "deliveries": evidence.deliveries(session, case),
        "root_causes": ROOT_CAUSES,
    }


@router.get("/cases/{reference}/evidence", response_class=HTMLResponse)
def evidence_html(
    request: Request,
    reference: ReferencePath,
    session: SessionDep,
    readings: ReadingsDep,
    user: CaseWorker,
) -> HTMLResponse:
    case, flat = _case_for(session, user, reference)
    context = _pack_context(session, readings, case, flat, user)
    return templates.TemplateResponse(
        request, "evidence.html", {**context, "css_href": "/static/evidence.css", "pdf": False}
    )


@router.get("/cases/{reference}/evidence.pdf")
def evidence_pdf(
    request: Request,
    reference: ReferencePath,
    session: SessionDep,
    readings: ReadingsDep,
    user: CaseWorker,
) -> Response:
    case, flat = _case_for(session, user, reference)
    context = _pack_context(session, readings, case, flat, user)
    html = templates.get_template("evidence.html").render(
        {**context, "css_href": None, "pdf": True, "request": request}
    )
    return Response(
        evidence.pdf_bytes(html, STATIC_DIR / "evidence.css"),
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="evidence-{reference}.pdf"'},
    )
