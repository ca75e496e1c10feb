"""From findings to cases: the one module that reads scoring's findings.

Per flat and kind of case (damp -> repair, cold -> outreach) the rules keep a *signal*
(``case_signals``):

- **hysteresis**: the signal switches on when the level reaches ``open_at`` and off
  only when it falls to ``clear_at`` or below; a level in between keeps it as it was;
- **minimum duration**: a case opens only once the signal has stayed on for
  ``min_duration_hours`` (checked at each finding and by :meth:`CaseRulesEngine.tick`,
  because scoring reports changes, not a level that stays put);
- **cool-down**: for ``cooldown_days`` after a case of that kind ended, a returning
  signal is written on the ended case's trail instead of opening a new one.

A flat has at most one open case per kind; new findings for it refresh its evidence
and are noted on its trail. A signal switching off never closes a case: only a person
does. The landlord is taken to be aware from the moment the signal switched on (the
first qualifying finding), so the minimum duration never delays the statutory clock.

Findings about vacancy and device faults open nothing here.

**Consent.** Given a :class:`~dampwatch_core.models_tenants.ConsentGate`, a case from
sensor data is opened only if the gate does not refuse it (an outreach case needs the
household's ``underheating_outreach``); the gate records why it refused, and since the
signal stays on, a later tick opens the case once consent is given.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.config import CaseRules, KindRules, load_rules, rank
from alerting.cases.desk import SYSTEM, CaseDesk, active_case
from alerting.cases.states import ACTIVE_STATES, CaseKind, TriggerSource
from dampwatch_core.errors import DampWatchError
from dampwatch_core.findings import Finding, FindingKind
from dampwatch_core.models import utcnow
from dampwatch_core.models_cases import CaseSignal, CaseStatusChange, HazardCase
from dampwatch_core.models_tenants import ConsentGate

__all__ = [
    "CaseFindingSink",
    "CaseRulesEngine",
    "SignalStep",
    "step_signal",
]

log = logging.getLogger(__name__)

_KIND_OF_FINDING = {FindingKind.DAMP: CaseKind.REPAIR, FindingKind.COLD: CaseKind.OUTREACH}

#: Words an outreach case never uses about a household (DLUHC/UKHSA guidance: damp,
#: mould and cold are not the result of lifestyle; tenants are not to be blamed).
OUTREACH_DESCRIPTION = (
    "Warm-home support: temperatures suggest the home may be hard to keep warm. "
    "Offer a visit and help: a heating and insulation check, energy and income advice."
)
REPAIR_DESCRIPTION = "Damp and mould investigation"


@dataclass(frozen=True)
class SignalStep:
    """A signal after one finding: its level, since when it is on (None: off), when it
    last went off, and whether this step switched it on."""

    level: str
    active_since: dt.datetime | None
    cleared_at: dt.datetime | None
    switched_on: bool


def step_signal(
    level: str,
    active_since: dt.datetime | None,
    cleared_at: dt.datetime | None,
    new_level: str,
    at: dt.datetime,
    rules: KindRules,
) -> SignalStep:
    """The signal after a finding at ``new_level`` (pure)."""
    r = rank(new_level)
    if r >= rank(rules.open_at):
        if active_since is None:
            return SignalStep(new_level, at, cleared_at, switched_on=True)
        return SignalStep(new_level, active_since, cleared_at, switched_on=False)
    if r <= rank(rules.clear_at):
        return SignalStep(new_level, None, at if active_since is not None else cleared_at, False)
    return SignalStep(new_level, active_since, cleared_at, switched_on=False)


def _evidence(finding: Finding) -> dict[str, Any]:
    # reasons are typed dicts: stored as they are (flat JSON objects)
    reasons = [dict(reason) for reason in finding.reasons]
    rooms = sorted({str(r["room"]) for r in reasons if r.get("room")})
    return {
        "level": finding.level_after.value,
        "level_before": finding.level_before.value,
        "reasons": reasons,
        "location": ", ".join(room.replace("_", " ") for room in rooms),
        "period": {
            "start": finding.period_start.isoformat(),
            "end": finding.period_end.isoformat(),
        },
        "assessment_id": finding.assessment_id,
        "thresholds_version": finding.thresholds_version,
    }


def _summary(evidence: dict[str, Any]) -> str:
    reasons = evidence.get("reasons") or []
    messages = [str(r.get("message", "")) for r in reasons if r.get("message")]
    return "; ".join(messages[:2])


class CaseRulesEngine:
    """Applies :class:`~alerting.cases.config.CaseRules` in a caller's session."""

    def __init__(
        self, desk: CaseDesk, rules: CaseRules, consent: ConsentGate | None = None
    ) -> None:
        self.desk = desk
        self.rules = rules
        self.consent = consent

    def _kind_rules(self, kind: CaseKind) -> KindRules:
        return self.rules.repair if kind is CaseKind.REPAIR else self.rules.outreach

    # -- findings -------------------------------------------------------------------

    def apply(self, session: Session, findings: Sequence[Finding], now: dt.datetime) -> int:
        """Apply each finding in its own savepoint: one that cannot be applied (a flat
        not in the registry, a racing writer's case) is logged and skipped, the rest
        stand. Returns how many were skipped."""
        skipped = 0
        for finding in findings:
            kind = _KIND_OF_FINDING.get(finding.kind)
            if kind is None:
                continue
            try:
                with session.begin_nested():
                    self._apply_one(session, finding, kind, now)
            except (DampWatchError, IntegrityError) as exc:
                skipped += 1
                log.warning("finding for flat %s (%s) not applied: %s", finding.flat_id,
                            finding.kind.value, exc)
        return skipped

    def _apply_one(
        self, session: Session, finding: Finding, kind: CaseKind, now: dt.datetime
    ) -> None:
        rules = self._kind_rules(kind)
        signal = session.get(CaseSignal, (finding.flat_id, kind.value))
        step = step_signal(
            signal.level if signal else "none",
            signal.active_since if signal else None,
            signal.cleared_at if signal else None,
            finding.level_after.value,
            now,
            rules,
        )
        evidence = _evidence(finding)
        if signal is None:
            signal = CaseSignal(flat_id=finding.flat_id, kind=kind.value)
            session.add(signal)
        signal.level = step.level
        signal.active_since = step.active_since
        signal.cleared_at = step.cleared_at
        signal.last_finding_at = now
        signal.evidence = evidence
        case = active_case(session, finding.flat_id, kind)
        if case is not None:
            self.desk.note_finding(
                session, case, now=now, evidence=evidence, risk_level=step.level,
                reason=f"finding: {kind.value} signal {finding.level_before.value} -> "
                f"{finding.level_after.value}",
            )
            return
        if step.switched_on:
            ended = self._in_cooldown(session, finding.flat_id, kind, rules, now)
            if ended is not None:
                session.add(CaseStatusChange(
                    case=ended, at=now, actor=SYSTEM, event="recurrence",
                    from_state=ended.state, to_state=ended.state,
                    reason=f"signal returned ({step.level}) during the cool-down; "
                    "no new case opened",
                    detail={"evidence": evidence},
                ))
        self._open_if_due(session, signal, kind, now)

    def _in_cooldown(
        self, session: Session, flat_id: str, kind: CaseKind, rules: KindRules, now: dt.datetime
    ) -> HazardCase | None:
        """The case of this kind that ended within the cool-down, if one did."""
        since = now - dt.timedelta(days=rules.cooldown_days)
        return session.scalars(
            select(HazardCase)
            .where(
                HazardCase.flat_id == flat_id,
                HazardCase.kind == kind.value,
                HazardCase.state.not_in([s.value for s in ACTIVE_STATES]),
                HazardCase.state_changed_at >= since,
            )
            .order_by(HazardCase.state_changed_at.desc())
            .limit(1)
        ).first()

    def _open_if_due(
        self, session: Session, signal: CaseSignal, kind: CaseKind, now: dt.datetime
    ) -> HazardCase | None:
        rules = self._kind_rules(kind)
        if signal.active_since is None:
            return None
        if now - signal.active_since < dt.timedelta(hours=rules.min_duration_hours):
            return None
        if active_case(session, signal.flat_id, kind) is not None:
            return None
        if self._in_cooldown(session, signal.flat_id, kind, rules, now) is not None:
            return None
        if self.consent is not None:
            if self.consent.refusal(session, signal.flat_id, kind.value, now) is not None:
                return None
            self.consent.cleared(session, signal.flat_id, kind.value)
        summary = _summary(signal.evidence)
        base = REPAIR_DESCRIPTION if kind is CaseKind.REPAIR else OUTREACH_DESCRIPTION
        description = f"{base}: {summary}" if kind is CaseKind.REPAIR and summary else base
        return self.desk.open_case(
            session,
            flat_id=signal.flat_id,
            kind=kind,
            trigger=TriggerSource.SENSOR,
            aware_at=signal.active_since,
            actor=SYSTEM,
            now=now,
            description=description,
            reason=f"sensor signal {signal.level} since {signal.active_since.isoformat()}",
            evidence=signal.evidence,
            risk_level=signal.level,
        )

    # -- the periodic job -----------------------------------------------------------

    def tick(self, session: Session, now: dt.datetime) -> dict[str, int]:
        """Open cases whose signal has now lasted long enough; remind about and
        escalate open cases no person has touched. Returns counts."""
        opened = reminded = escalated = 0
        for signal in session.scalars(
            select(CaseSignal).where(CaseSignal.active_since.is_not(None))
        ).all():
            if self._open_if_due(session, signal, CaseKind(signal.kind), now) is not None:
                opened += 1
        r = self.rules.reminders
        for case in session.scalars(
            select(HazardCase).where(HazardCase.state.in_([s.value for s in ACTIVE_STATES]))
        ).all():
            due = (
                case.last_touched_at
                + dt.timedelta(hours=r.remind_after_hours)
                + dt.timedelta(hours=r.repeat_every_hours) * case.reminders_sent
            )
            if now < due:
                continue
            case.reminders_sent += 1
            reminded += 1
            untouched = now - case.last_touched_at
            session.add(CaseStatusChange(
                case=case, at=now, actor=SYSTEM, event="reminder",
                from_state=case.state, to_state=case.state,
                reason=f"untouched for {untouched.total_seconds() / 3600:.0f} h "
                f"(reminder {case.reminders_sent})",
            ))
            if case.reminders_sent % r.escalate_after == 0:
                case.escalation_level += 1
                escalated += 1
                session.add(CaseStatusChange(
                    case=case, at=now, actor=SYSTEM, event="escalated",
                    from_state=case.state, to_state=case.state,
                    reason=f"escalated to level {case.escalation_level} after "
                    f"{case.reminders_sent} reminders",
                    detail={"escalation_level": case.escalation_level},
                ))
        return {"opened": opened, "reminded": reminded, "escalated": escalated}


class CaseFindingSink:
    """A :class:`~dampwatch_core.findings.FindingSink`: each published batch of
    findings is applied in one transaction (signals, cases, work orders and their
    outbox messages together). It sends nothing: the outbox dispatcher does."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        desk: CaseDesk,
        rules: CaseRules | None = None,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        consent: ConsentGate | None = None,
    ) -> None:
        self.sessions = sessions
        self.engine = CaseRulesEngine(desk, rules or load_rules(), consent)
        self._clock = clock

    @classmethod
    def for_store(
        cls,
        sessions: sessionmaker[Session],
        *,
        rules: CaseRules | None = None,
        calendar: WorkingCalendar | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        consent: ConsentGate | None = None,
    ) -> CaseFindingSink:
        """The sink a composition root hands scoring: the bundled (or given) rules,
        England and Wales working days, work orders to the rules' repair trade."""
        rules = rules or load_rules()
        desk = CaseDesk(
            calendar or WorkingCalendar.england_and_wales(), repair_trade=rules.repair.trade
        )
        return cls(sessions, desk, rules, clock=clock, consent=consent)

    def publish(self, findings: Sequence[Finding]) -> None:
        if not findings:
            return
        with self.sessions.begin() as session:
            self.engine.apply(session, findings, self._clock())

    def tick(self) -> dict[str, int]:
        with self.sessions.begin() as session:
            return self.engine.tick(session, self._clock())
