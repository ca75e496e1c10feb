"""Officers' notices: a new high-risk case, and a statutory deadline due within 24
hours, queued in the outbox for the officers' channel (a Teams/Slack-style incoming
webhook today; an email channel is one more channel name for the dispatcher).

A notice names the case, the flat's id, the kind, the risk level and the deadline,
never a tenant. Each deadline is noticed once per due time (an assessment that moves
the due time gets a fresh notice); the case's audit trail records each notice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.cases.states import ACTIVE_STATES
from alerting.channels import OFFICER_WEBHOOK
from alerting.outbox import enqueue
from dampwatch_core.models_cases import CaseDeadline, CaseStatusChange, HazardCase

__all__ = [
    "DEADLINE_EVENT",
    "DUE_SOON",
    "NEW_CASE_EVENT",
    "deadline_notice",
    "new_case_notice",
    "notify_deadlines_due",
    "notify_new_case",
]

#: a deadline this close is noticed
DUE_SOON = dt.timedelta(hours=24)
NEW_CASE_EVENT = "officer.case_opened"
DEADLINE_EVENT = "officer.deadline_due"
_NOTICE = "officer_notice"

_STEP_WORDS = {
    "investigate": "investigation",
    "written_summary": "written summary to the tenant",
    "make_safe": "making safe",
    "works_begin": "further works to begin",
    "works_start": "further works to start",
}


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def new_case_notice(case: HazardCase) -> dict[str, Any]:
    """The incoming-webhook body announcing ``case`` (pure)."""
    text = (
        f"New {case.risk_level or ''} risk {case.kind} case {case.reference} for flat "
        f"{case.flat_id} ({case.trigger_source}); severity pending your assessment. "
        f"{case.description}"
    )
    return {"text": text.replace("  ", " ")}


def deadline_notice(case: HazardCase, deadline: CaseDeadline, now: dt.datetime) -> dict[str, Any]:
    """The incoming-webhook body for a deadline due soon (pure)."""
    assert deadline.due_at is not None
    hours = max(0.0, (deadline.due_at - now).total_seconds() / 3600)
    step = _STEP_WORDS.get(deadline.step, deadline.step)
    clock = (
        f"if assessed {deadline.severity}" if case.severity == "pending" else deadline.severity
    )
    return {
        "text": f"Case {case.reference} (flat {case.flat_id}, {case.state}): the {step} "
        f"is due by {_utc(deadline.due_at)}, in {hours:.0f} h ({clock} clock)."
    }


def notify_new_case(session: Session, case: HazardCase, *, now: dt.datetime) -> None:
    """Queue the notice of a new case (in the caller's transaction)."""
    enqueue(
        session,
        event_type=NEW_CASE_EVENT,
        payload=new_case_notice(case),
        contractor_id=None,
        case_id=case.id,
        now=now,
        channel=OFFICER_WEBHOOK,
    )
    session.add(
        CaseStatusChange(
            case=case, at=now, actor="system", event=_NOTICE, from_state=case.state,
            to_state=case.state, reason="officers notified: new high-risk case",
            detail={"notice": NEW_CASE_EVENT},
        )
    )


def _key(severity: str, step: str, due_at: dt.datetime) -> str:
    return f"{severity}/{step}/{due_at.astimezone(dt.UTC).isoformat()}"


def notify_deadlines_due(session: Session, *, now: dt.datetime) -> int:
    """Queue a notice for each open case's deadline due within :data:`DUE_SOON` that
    was not noticed yet; returns how many were queued."""
    rows = session.execute(
        select(CaseDeadline, HazardCase)
        .join(HazardCase, HazardCase.id == CaseDeadline.case_id)
        .where(
            HazardCase.state.in_([s.value for s in ACTIVE_STATES]),
            CaseDeadline.due_at.is_not(None),
            CaseDeadline.due_at > now,
            CaseDeadline.due_at <= now + DUE_SOON,
        )
        .order_by(CaseDeadline.due_at, CaseDeadline.id)
    ).all()
    queued = 0
    for deadline, case in rows:
        assert deadline.due_at is not None
        key = _key(deadline.severity, deadline.step, deadline.due_at)
        done = {
            str(h.detail.get("deadline"))
            for h in case.history
            if h.event == _NOTICE and h.detail.get("notice") == DEADLINE_EVENT
        }
        if key in done:
            continue
        enqueue(
            session,
            event_type=DEADLINE_EVENT,
            payload=deadline_notice(case, deadline, now),
            contractor_id=None,
            case_id=case.id,
            now=now,
            channel=OFFICER_WEBHOOK,
        )
        notice = CaseStatusChange(
            case=case, at=now, actor="system", event=_NOTICE, from_state=case.state,
            to_state=case.state,
            reason=f"officers notified: {deadline.step} ({deadline.severity}) due "
            f"{deadline.due_at.isoformat()}",
            detail={"notice": DEADLINE_EVENT, "deadline": key},
        )
        session.add(notice)
        queued += 1
    return queued
