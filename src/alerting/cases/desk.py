"""The case desk: opening, assessing and moving cases, with the audit trail, the
statutory deadlines and the contractor's work order written in the caller's
transaction. Nothing here commits; the caller does, once, so a case change and the
outbox message announcing it are stored together or not at all.

Every change records who made it (a user's email, or ``"system"``), when and why in
``case_status_history``.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.clocks import Deadline, Severity, deadlines
from alerting.cases.contractor_reports import OPEN_WORK_ORDER_STATUSES
from alerting.cases.notices import notify_new_case
from alerting.cases.states import (
    ACTIVE_STATES,
    CaseKind,
    CaseState,
    SeverityAssessment,
    TriggerSource,
    check_transition,
)
from alerting.cases.verification import WatchFigures, compare, figures_after, figures_before
from alerting.cases.workorders import MessageType, priority_for, work_order_payload
from alerting.errors import AlertingError
from alerting.outbox import enqueue
from dampwatch_core.errors import NotFoundError
from dampwatch_core.models import Flat
from dampwatch_core.models_cases import (
    CaseDeadline,
    CaseStatusChange,
    Contractor,
    HazardCase,
    WorkOrder,
)

__all__ = [
    "SYSTEM",
    "CaseDesk",
    "DuplicateCase",
    "active_case",
    "case_clocks",
    "get_case",
    "watched_case",
]

log = logging.getLogger(__name__)

#: The actor recorded for changes no person made.
SYSTEM = "system"



class DuplicateCase(AlertingError):
    """A flat already has an open case of that kind."""

    def __init__(self, existing: HazardCase) -> None:
        super().__init__(
            f"flat {existing.flat_id} already has an open {existing.kind} case "
            f"{existing.reference} ({existing.state})"
        )
        self.existing = existing


def active_case(session: Session, flat_id: str, kind: CaseKind) -> HazardCase | None:
    """The flat's open case of ``kind``, if it has one."""
    return session.scalars(
        select(HazardCase).where(
            HazardCase.flat_id == flat_id,
            HazardCase.kind == kind.value,
            HazardCase.state.in_([s.value for s in ACTIVE_STATES]),
        )
    ).first()


def watched_case(session: Session, flat_id: str, kind: CaseKind) -> HazardCase | None:
    """The flat's resolved case of ``kind`` still under post-repair watch, if any."""
    return session.scalars(
        select(HazardCase).where(
            HazardCase.flat_id == flat_id,
            HazardCase.kind == kind.value,
            HazardCase.state == CaseState.RESOLVED.value,
            HazardCase.verify_until.is_not(None),
            HazardCase.verification_outcome.is_(None),
        ).order_by(HazardCase.resolved_at.desc())
    ).first()


@dataclass
class CaseDesk:
    """Case operations under one landlord's settings.

    ``repair_trade`` is the trade a repair case's work order goes to;
    ``status_callback_base`` the public URL contractors report back to;
    ``after_investigation`` is called (in the same transaction) when a case's
    investigation is recorded, e.g. to queue the tenant's written summary.
    """

    calendar: WorkingCalendar
    repair_trade: str = "damp_mould"
    reference_prefix: str = "DM"
    status_callback_base: str | None = None
    #: how long a resolved repair case watches the flat (post-repair verification)
    verify_days: float = 28.0
    #: queue officers' notices (new high-risk cases) for the officers' channel
    officer_notices: bool = False
    after_investigation: Callable[[Session, HazardCase, dt.datetime], None] | None = None

    # -- opening --------------------------------------------------------------------

    def open_case(
        self,
        session: Session,
        *,
        flat_id: str,
        kind: CaseKind,
        trigger: TriggerSource,
        aware_at: dt.datetime,
        actor: str,
        now: dt.datetime,
        description: str,
        reason: str = "",
        evidence: Mapping[str, Any] | None = None,
        risk_level: str | None = None,
    ) -> HazardCase:
        """Open a case, its deadlines and (for a repair) its work order and outbox
        message. ``aware_at`` is when the landlord became aware: the finding's time,
        or a tenant's report time, which may be earlier than ``now``."""
        if aware_at > now:
            raise AlertingError(
                f"aware time {aware_at.isoformat()} is after now ({now.isoformat()})"
            )
        flat = session.get(Flat, flat_id)
        if flat is None:
            raise NotFoundError(f"no flat {flat_id!r}")
        existing = active_case(session, flat_id, kind)
        if existing is not None:
            raise DuplicateCase(existing)
        # routed before anything is added, so the query does not flush half a case
        sends_work_order = kind is CaseKind.REPAIR  # outreach never goes to a contractor
        contractor = self._route(session) if sends_work_order else None
        case = HazardCase(
            reference=f"tmp-{uuid.uuid4().hex[:24]}",
            flat_id=flat_id,
            kind=kind.value,
            trigger_source=trigger.value,
            aware_at=aware_at,
            severity=SeverityAssessment.PENDING.value,
            state=CaseState.OPEN.value,
            state_changed_at=now,
            description=description,
            risk_level=risk_level,
            evidence=dict(evidence or {}),
            opened_by=actor,
            last_touched_at=now,
            reminders_sent=0,
            escalation_level=0,
            created_at=now,
            updated_at=now,
        )
        # a new case's clocks are set before its first flush (no reload of the list)
        case.deadlines = [_deadline_row(d) for d in case_clocks(case, self.calendar)]
        session.add(case)
        session.flush()
        case.reference = f"{self.reference_prefix}-{case.id:06d}"
        self._history(
            session, case, at=now, actor=actor, event="opened", from_state=None,
            reason=reason or f"{trigger.value}: {description}",
        )
        if sends_work_order:
            self._raise_work_order(session, case, flat, now=now, contractor=contractor)
        if self.officer_notices and risk_level == "high":
            notify_new_case(session, case, now=now)
        log.debug("opened %s case %s for flat %s (%s)", kind.value, case.reference, flat_id,
                  trigger.value)
        return case

    def _route(self, session: Session) -> Contractor | None:
        """The enabled contractor of the repair trade given the fewest work orders so
        far (round robin; a counter, so routing does not scan the work orders)."""
        return session.scalars(
            select(Contractor)
            .where(Contractor.trade == self.repair_trade, Contractor.enabled.is_(True))
            .order_by(Contractor.work_orders_assigned, Contractor.id)
            .limit(1)
        ).first()

    def _raise_work_order(
        self,
        session: Session,
        case: HazardCase,
        flat: Flat,
        *,
        now: dt.datetime,
        contractor: Contractor | None,
    ) -> WorkOrder | None:
        if contractor is None:
            self._history(
                session, case, at=now, actor=SYSTEM, event="unrouted", from_state=case.state,
                reason=f"no enabled contractor for trade {self.repair_trade!r}: "
                "assign one by hand",
            )
            return None
        code, due = priority_for(SeverityAssessment(case.severity), case.deadlines)
        order = WorkOrder(
            reference=f"{case.reference}-{len(case.work_orders) + 1}",
            case_id=case.id,
            contractor_id=contractor.id,
            status="raised",
            priority_code=code,
            required_completion_at=due,
            raised_at=now,
            status_updated_at=now,
        )
        # through the relationship, so the case's list holds it (numbering, amendments)
        case.work_orders.append(order)
        session.add(order)
        # in SQL, so two writers routing at once both count
        contractor.work_orders_assigned = Contractor.work_orders_assigned + 1
        self._send(session, case, flat, order, MessageType.RAISE, now=now)
        self._history(
            session, case, at=now, actor=SYSTEM, event="work_order", from_state=case.state,
            reason=f"work order {order.reference} raised with {contractor.name}",
            detail={"work_order": order.reference, "contractor": contractor.name},
        )
        return order

    def _send(
        self,
        session: Session,
        case: HazardCase,
        flat: Flat,
        order: WorkOrder,
        message_type: str,
        *,
        now: dt.datetime,
    ) -> None:
        payload = work_order_payload(
            message_type=message_type,
            case=case,
            flat=flat,
            work_order=order,
            deadlines=case.deadlines,
            status_callback_base=self.status_callback_base,
        )
        enqueue(
            session,
            event_type=f"work_order.{message_type}",
            payload=payload,
            contractor_id=order.contractor_id,
            case_id=case.id,
            now=now,
        )

    # -- changing -------------------------------------------------------------------

    def move(
        self,
        session: Session,
        case: HazardCase,
        target: CaseState,
        *,
        actor: str,
        now: dt.datetime,
        reason: str = "",
    ) -> None:
        """Move a case to ``target`` if its life allows it (else IllegalTransition)."""
        current = CaseState(case.state)
        check_transition(current, target, reason)
        case.state = target.value
        case.state_changed_at = now
        case.updated_at = now
        if actor != SYSTEM:
            case.last_touched_at = now
            case.reminders_sent = 0
        if target is CaseState.MADE_SAFE:
            case.made_safe_at = now
            if case.investigated_at is None:
                case.investigated_at = now
                self._refresh_deadlines(session, case)
                if self.after_investigation is not None:
                    self.after_investigation(session, case, now)
        elif target is CaseState.RESOLVED:
            case.resolved_at = now
        elif target is CaseState.CLOSED:
            case.closed_reason = reason
            self._cancel_work_orders(session, case, now=now)
        self._history(
            session, case, at=now, actor=actor, event="transition", from_state=current.value,
            reason=reason,
        )
        if target is CaseState.RESOLVED and case.kind == CaseKind.REPAIR.value:
            self._start_watch(session, case, now=now)

    def assess(
        self,
        session: Session,
        case: HazardCase,
        severity: Severity,
        *,
        actor: str,
        now: dt.datetime,
        reason: str = "",
    ) -> None:
        """Record the landlord's assessment; the clocks become that severity's only."""
        if CaseState(case.state) not in ACTIVE_STATES:
            raise AlertingError(f"case {case.reference} is {case.state}: it cannot be assessed")
        before = case.severity
        case.severity = severity.value
        case.severity_assessed_by = actor
        case.severity_assessed_at = now
        case.updated_at = now
        case.last_touched_at = now
        case.reminders_sent = 0
        self._refresh_deadlines(session, case)
        self._history(
            session, case, at=now, actor=actor, event="assessed", from_state=case.state,
            reason=reason or f"assessed {severity.value} (was {before})",
            detail={"severity_before": before, "severity": severity.value},
        )
        flat = session.get(Flat, case.flat_id)
        assert flat is not None
        for order in case.work_orders:
            if order.status in OPEN_WORK_ORDER_STATUSES:
                order.priority_code, order.required_completion_at = priority_for(
                    SeverityAssessment(case.severity), case.deadlines
                )
                order.status_updated_at = now
                self._send(session, case, flat, order, MessageType.AMEND, now=now)

    def note_finding(
        self,
        session: Session,
        case: HazardCase,
        *,
        now: dt.datetime,
        reason: str,
        evidence: Mapping[str, Any],
        risk_level: str | None,
    ) -> None:
        """A new finding for an open case: the evidence is refreshed, the trail notes it."""
        case.evidence = dict(evidence)
        case.risk_level = risk_level
        case.updated_at = now
        self._history(
            session, case, at=now, actor=SYSTEM, event="finding", from_state=case.state,
            reason=reason,
        )

    # -- post-repair verification ---------------------------------------------------

    def _start_watch(self, session: Session, case: HazardCase, *, now: dt.datetime) -> None:
        case.verify_until = now + dt.timedelta(days=self.verify_days)
        case.verification_outcome = None
        case.verified_at = None
        before = figures_before(session, case.flat_id, now)
        case.verification = compare(before, None)
        self._history(
            session, case, at=now, actor=SYSTEM, event="watch", from_state=case.state,
            reason=f"post-repair verification: watching the flat until "
            f"{case.verify_until.isoformat()}",
            detail={"verify_until": case.verify_until.isoformat(),
                    "before": case.verification["before"]},
        )

    def verify(self, session: Session, case: HazardCase, *, now: dt.datetime) -> None:
        """End a watch with no recurrence: the fix is verified by the sensors."""
        if case.verify_until is None or case.verification_outcome is not None:
            raise AlertingError(f"case {case.reference} is not under post-repair watch")
        after = figures_after(session, case.flat_id, case.resolved_at or now)
        before_dict = (case.verification or {}).get("before")
        before = WatchFigures(**before_dict) if before_dict else None
        case.verification = compare(before, after)
        case.verification_outcome = "verified"
        case.verified_at = now
        case.updated_at = now
        self._history(
            session, case, at=now, actor=SYSTEM, event="verified", from_state=case.state,
            reason="post-repair verification: no recurrence in "
            f"{self.verify_days:g} days",
            detail=case.verification,
        )

    def reopen(
        self,
        session: Session,
        case: HazardCase,
        *,
        now: dt.datetime,
        aware_at: dt.datetime,
        reason: str,
        evidence: Mapping[str, Any] | None = None,
        risk_level: str | None = None,
    ) -> None:
        """A recurrence during the watch: the case opens again, aware from the
        recurrence, with fresh clocks and (a repair) a new work order; counted."""
        if case.verify_until is None or case.verification_outcome is not None:
            raise AlertingError(f"case {case.reference} is not under post-repair watch")
        flat = session.get(Flat, case.flat_id)
        if flat is None:
            raise NotFoundError(f"no flat {case.flat_id!r}")
        before_state = case.state
        after = figures_after(session, case.flat_id, case.resolved_at or now)
        before_dict = (case.verification or {}).get("before")
        before = WatchFigures(**before_dict) if before_dict else None
        case.verification = compare(before, after)
        case.verification_outcome = "recurred"
        case.verified_at = now
        case.verify_until = None
        case.reopened_count += 1
        first_aware = case.aware_at
        case.aware_at = min(aware_at, now)
        case.investigated_at = None
        case.made_safe_at = None
        case.state = CaseState.OPEN.value
        case.state_changed_at = now
        case.updated_at = now
        case.last_touched_at = now
        case.reminders_sent = 0
        if evidence is not None:
            case.evidence = dict(evidence)
        if risk_level is not None:
            case.risk_level = risk_level
        self._refresh_deadlines(session, case)
        self._history(
            session, case, at=now, actor=SYSTEM, event="reopened", from_state=before_state,
            reason=reason,
            detail={"reopened_count": case.reopened_count,
                    "first_aware_at": first_aware.isoformat(),
                    **case.verification},
        )
        contractor = self._route(session)
        self._raise_work_order(session, case, flat, now=now, contractor=contractor)
        if self.officer_notices and case.risk_level == "high":
            notify_new_case(session, case, now=now)

    def _cancel_work_orders(self, session: Session, case: HazardCase, *, now: dt.datetime) -> None:
        flat = session.get(Flat, case.flat_id)
        assert flat is not None
        for order in case.work_orders:
            if order.status in OPEN_WORK_ORDER_STATUSES:
                order.status = "cancelled"
                order.status_updated_at = now
                self._send(session, case, flat, order, MessageType.CANCEL, now=now)

    # -- records --------------------------------------------------------------------

    def _refresh_deadlines(self, session: Session, case: HazardCase) -> None:
        """Recompute the stored deadlines from the clocks (one calculator)."""
        case.deadlines.clear()
        session.flush()
        for d in case_clocks(case, self.calendar):
            case.deadlines.append(_deadline_row(d))

    def _history(
        self,
        session: Session,
        case: HazardCase,
        *,
        at: dt.datetime,
        actor: str,
        event: str,
        from_state: str | None,
        reason: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        session.add(
            CaseStatusChange(
                case_id=case.id,
                at=at,
                actor=actor,
                event=event,
                from_state=from_state,
                to_state=case.state,
                reason=reason,
                detail=dict(detail or {}),
            )
        )


def _deadline_row(d: Deadline) -> CaseDeadline:
    return CaseDeadline(
        severity=d.severity.value,
        step=d.step.value,
        period=d.period,
        runs_from=d.runs_from,
        starts_at=d.starts_at,
        due_at=d.due_at,
        due_date=d.due_date,
    )


def case_clocks(case: HazardCase, calendar: WorkingCalendar) -> list[Deadline]:
    """The case's statutory clocks, from the one calculator: both severities' while
    the assessment is pending, else its own."""
    severity = SeverityAssessment(case.severity)
    wanted = list(Severity) if severity is SeverityAssessment.PENDING else [Severity(severity)]
    return [
        d
        for sev in wanted
        for d in deadlines(case.aware_at, sev, calendar, investigated=case.investigated_at)
    ]


def get_case(session: Session, reference: str) -> HazardCase:
    case = session.scalars(select(HazardCase).where(HazardCase.reference == reference)).first()
    if case is None:
        raise NotFoundError(f"no case {reference!r}")
    return case
