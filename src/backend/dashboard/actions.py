"""What an officer does to a case from the dashboard: each action goes through the
alerting desk where it has a verb for it, is written to the case's history (who, when,
why) and to the audit trail, in the caller's transaction.

Two actions have no verb on the desk yet, and are done here on the desk's own records
(marked ``SEAM``; they belong in ``alerting.cases.desk`` and move there when it has
them): *record the investigation* (sets when it concluded and recomputes the clocks
that run from it, with the desk's own clock calculator) and *written summary sent*
(a history entry, which the queue reads as that step met).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from alerting.cases.clocks import Severity
from alerting.cases.desk import CaseDesk, case_clocks
from alerting.cases.states import CaseState
from alerting.errors import AlertingError
from backend.auth import audit
from backend.auth.deps import Principal
from backend.dashboard.queue import SUMMARY_EVENT
from dampwatch_core.models_cases import CaseDeadline, CaseStatusChange, HazardCase

__all__ = ["ROOT_CAUSES", "ActionRequest", "CaseAction", "apply_action"]

#: the inspection's finding on the cause (the regulator's split)
ROOT_CAUSES = {
    "condensation": "Condensation",
    "penetrating": "Penetrating damp",
    "rising": "Rising damp",
    "leak": "Leak",
    "ventilation": "Ventilation defect",
    "heating": "Heating defect",
    "none_found": "No hazard found",
}
REASON_MAX = 2000


class CaseAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSESS = "assess"
    RECORD_INVESTIGATION = "record_investigation"
    SUMMARY_SENT = "summary_sent"
    MADE_SAFE = "made_safe"
    WORKS_SCHEDULED = "works_scheduled"
    RESOLVE = "resolve"
    CLOSE = "close"


_MOVES = {
    CaseAction.ACKNOWLEDGE: CaseState.ACKNOWLEDGED,
    CaseAction.MADE_SAFE: CaseState.MADE_SAFE,
    CaseAction.WORKS_SCHEDULED: CaseState.WORKS_SCHEDULED,
    CaseAction.RESOLVE: CaseState.RESOLVED,
    CaseAction.CLOSE: CaseState.CLOSED,
}


@dataclass(frozen=True)
class ActionRequest:
    """A posted action form, checked: ``severity`` for assess, ``root_cause`` for the
    investigation, ``reason`` (required to close)."""

    action: CaseAction
    reason: str = ""
    severity: Severity | None = None
    root_cause: str | None = None

    @classmethod
    def from_form(cls, form: dict[str, str]) -> ActionRequest:
        try:
            action = CaseAction(form.get("action", ""))
        except ValueError:
            choices = ", ".join(a.value for a in CaseAction)
            raise AlertingError(f"action: choose one of {choices}") from None
        reason = form.get("reason", "").strip()
        if len(reason) > REASON_MAX:
            raise AlertingError(f"reason: at most {REASON_MAX} characters")
        if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in reason):
            raise AlertingError("reason: no control characters")
        severity = None
        if action is CaseAction.ASSESS:
            try:
                severity = Severity(form.get("severity", ""))
            except ValueError:
                raise AlertingError("severity: choose emergency or significant") from None
        root_cause = None
        if action is CaseAction.RECORD_INVESTIGATION:
            root_cause = form.get("root_cause", "")
            if root_cause not in ROOT_CAUSES:
                raise AlertingError("root cause: choose one of " + ", ".join(ROOT_CAUSES))
        if action is CaseAction.CLOSE and not reason:
            raise AlertingError("reason: closing a case with no action needs a reason")
        return cls(action, reason, severity, root_cause)


def apply_action(
    session: Session,
    desk: CaseDesk,
    case: HazardCase,
    request: ActionRequest,
    *,
    user: Principal,
    landlord: str,
    now: dt.datetime,
) -> None:
    """Do ``request`` to ``case`` as ``user``; raises AlertingError (422) for a move
    the case's life does not allow."""
    actor = user.email
    a = request.action
    if a in _MOVES:
        desk.move(session, case, _MOVES[a], actor=actor, now=now, reason=request.reason)
    elif a is CaseAction.ASSESS:
        assert request.severity is not None
        desk.assess(session, case, request.severity, actor=actor, now=now, reason=request.reason)
    elif a is CaseAction.RECORD_INVESTIGATION:
        assert request.root_cause is not None
        _record_investigation(session, desk, case, request, actor=actor, now=now)
    elif a is CaseAction.SUMMARY_SENT:
        _summary_sent(session, case, request, actor=actor, now=now)
    audit.record(
        session,
        f"case.{a.value}",
        user,
        subject_type="case",
        subject_id=case.reference,
        landlord=landlord,
        detail={
            "state": case.state,
            **({"severity": request.severity.value} if request.severity else {}),
            **({"root_cause": request.root_cause} if request.root_cause else {}),
        },
        at=now,
    )


def _record_investigation(
    session: Session,
    desk: CaseDesk,
    case: HazardCase,
    request: ActionRequest,
    *,
    actor: str,
    now: dt.datetime,
) -> None:
    """SEAM (belongs on the desk): the investigation concluded now. An acknowledged
    case moves to investigating first (through the desk); the clocks that run from the
    investigation get their due times from the desk's calculator."""
    if case.investigated_at is not None:
        raise AlertingError(f"case {case.reference}: the investigation is already recorded")
    if case.state == CaseState.ACKNOWLEDGED.value:
        desk.move(
            session,
            case,
            CaseState.INVESTIGATING,
            actor=actor,
            now=now,
            reason="investigation started",
        )
    if case.state != CaseState.INVESTIGATING.value:
        raise AlertingError(
            f"case {case.reference} is {case.state}: acknowledge it before recording "
            "the investigation"
        )
    case.investigated_at = now
    case.updated_at = now
    case.last_touched_at = now
    case.reminders_sent = 0
    case.deadlines.clear()
    session.flush()
    for d in case_clocks(case, desk.calendar):
        case.deadlines.append(
            CaseDeadline(
                severity=d.severity.value,
                step=d.step.value,
                period=d.period,
                runs_from=d.runs_from,
                starts_at=d.starts_at,
                due_at=d.due_at,
                due_date=d.due_date,
            )
        )
    if desk.after_investigation is not None:  # e.g. the tenant's written summary
        desk.after_investigation(session, case, now)
    label = ROOT_CAUSES[request.root_cause or ""]
    _history(
        session,
        case,
        now=now,
        actor=actor,
        event="investigated",
        reason=request.reason or f"investigation concluded: {label}",
        detail={"root_cause": request.root_cause},
    )


def _summary_sent(
    session: Session, case: HazardCase, request: ActionRequest, *, actor: str, now: dt.datetime
) -> None:
    """SEAM (belongs on the desk): the written summary went to the tenant."""
    if case.investigated_at is None:
        raise AlertingError(
            f"case {case.reference}: record the investigation before its written summary"
        )
    if any(h.event == SUMMARY_EVENT for h in case.history):
        raise AlertingError(f"case {case.reference}: the written summary is already recorded")
    case.updated_at = now
    case.last_touched_at = now
    _history(
        session,
        case,
        now=now,
        actor=actor,
        event=SUMMARY_EVENT,
        reason=request.reason or "written summary of the investigation sent to the tenant",
    )


def _history(
    session: Session,
    case: HazardCase,
    *,
    now: dt.datetime,
    actor: str,
    event: str,
    reason: str,
    detail: dict[str, object] | None = None,
) -> None:
    entry = CaseStatusChange(
        case_id=case.id,
        at=now,
        actor=actor,
        event=event,
        from_state=case.state,
        to_state=case.state,
        reason=reason,
        detail=dict(detail or {}),
    )
    # appended to the collection only (which adds it to the session): added first, the
    # collection's lazy load would flush it and then hold it twice
    case.history.append(entry)
