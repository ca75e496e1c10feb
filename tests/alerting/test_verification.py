"""Post-repair verification against a real store (SQLite and PostgreSQL): a resolved
repair case watches the flat for the configured period and records the before/after
figures from the stored assessments; no recurrence verifies it, a damp signal coming
back reopens it (new clocks from the recurrence, a new work order), one that never
cleared reopens it when the watch ends; the KPI counts verified and reopened cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.cases.config import load_rules
from alerting.cases.desk import get_case
from alerting.cases.rules import CaseFindingSink
from alerting.cases.states import CaseState
from alerting.cases.verification import WatchFigures, case_kpis, compare
from dampwatch_core.const import Level
from dampwatch_core.errors import ConfigError
from dampwatch_core.findings import Finding, FindingKind, Reason, ReasonCode, ReasonKind
from dampwatch_core.models import RiskAssessment
from dampwatch_core.models_cases import Contractor, HazardCase, OutboxMessage

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # a Monday
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
OFFICER = "officer@example.org"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def damp(level_before: str, level_after: str, at: dt.datetime) -> Finding:
    return Finding(
        flat_id="F1",
        kind=FindingKind.DAMP,
        level_before=Level(level_before),
        level_after=Level(level_after),
        period_start=at - 7 * D,
        period_end=at,
        reasons=(
            Reason(
                kind=ReasonKind.DAMP,
                code=ReasonCode.SURFACE_RH_OVER_80,
                message="bedroom wall wet for 41 h of the last 7 days",
                room="bedroom",
                hours=41,
            ),
        ),
    )


def assessment(session: Session, at: dt.datetime, hours: float, mould: float) -> None:
    session.add(
        RiskAssessment(
            flat_id="F1",
            assessed_at=at,
            period_start=at - 7 * D,
            period_end=at,
            damp_level="high" if hours > 20 else "low",
            cold_level="none",
            score=0.0,
            reasons=[],
            flags=[],
            rooms=[
                {"room": "bedroom", "hours_surface_rh_over_80": hours, "mould_index_final": mould},
                {"room": "kitchen", "hours_surface_rh_over_80": 1.0, "mould_index_final": 0.1},
                {"room": "outdoor"},  # no surface sensor: no figures
            ],
        )
    )


@pytest.fixture
def sink(sessions: sessionmaker[Session]) -> tuple[CaseFindingSink, Clock]:
    with sessions.begin() as session:
        session.add(
            Contractor(
                name="Acme Damp",
                trade="damp_mould",
                webhook_url="http://127.0.0.1:9/hook",
                secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                enabled=True,
                work_orders_assigned=0,
            )
        )
    clock = Clock(T0)
    return CaseFindingSink.for_store(sessions, clock=clock), clock


def open_and_resolve(sessions: sessionmaker[Session], sink: CaseFindingSink, clock: Clock) -> str:
    """A damp flat's case, opened by the rules, worked and resolved 5 days later."""
    with sessions.begin() as session:
        assessment(session, T0, hours=41.0, mould=1.2)
    sink.publish([damp("medium", "high", clock.now)])
    clock.now += 13 * H
    assert sink.tick()["opened"] == 1
    clock.now = T0 + 5 * D
    with sessions.begin() as session:
        case = session.scalars(select(HazardCase)).one()
        for state in ("acknowledged", "investigating", "made_safe", "resolved"):
            sink.engine.desk.move(
                session, case, CaseState(state), actor=OFFICER, now=clock.now, reason="works done"
            )
        assert case.verify_until == clock.now + 28 * D
        assert case.verification is not None
        assert case.verification["before"]["hours_surface_rh_over_80"] == 42.0
        assert case.verification["before"]["mould_index"] == 1.2
        return case.reference


def test_no_recurrence_in_the_watch_verifies_the_fix(
    sessions: sessionmaker[Session], sink: tuple[CaseFindingSink, Clock]
) -> None:
    s, clock = sink
    ref = open_and_resolve(sessions, s, clock)
    resolved_at = clock.now
    clock.now += D
    s.publish([damp("high", "low", clock.now)])  # the wall dries out: the signal clears
    with sessions.begin() as session:
        assessment(session, clock.now + 20 * D, hours=2.0, mould=0.4)
    clock.now = resolved_at + 28 * D - H
    assert s.tick()["verified"] == 0  # the watch runs its full period
    clock.now += 2 * H
    counts = s.tick()
    assert counts["verified"] == 1 and counts["reopened"] == 0
    with sessions() as session:
        case = get_case(session, ref)
        assert case.state == "resolved" and case.verification_outcome == "verified"
        assert case.verification is not None
        assert case.verification["after"]["hours_surface_rh_over_80"] == 3.0
        assert case.verification["hours_surface_rh_over_80_change"] == -39.0
        assert case.verification["mould_index_trend"] == "falling"
        assert [h.event for h in case.history][-2:] == ["watch", "verified"]
        kpis = case_kpis(session)
    assert kpis["verified"] == 1 and kpis["reopens"] == 0 and kpis["reopened_rate"] == 0.0
    assert s.tick()["verified"] == 0  # once


def test_a_recurrence_during_the_watch_reopens_the_case_and_is_counted(
    sessions: sessionmaker[Session], sink: tuple[CaseFindingSink, Clock]
) -> None:
    s, clock = sink
    ref = open_and_resolve(sessions, s, clock)
    resolved_at = clock.now
    clock.now += D
    s.publish([damp("high", "low", clock.now)])
    back = resolved_at + 10 * D
    clock.now = back
    s.publish([damp("low", "high", clock.now)])  # the damp comes back on day 10
    with sessions.begin() as session:
        assessment(session, clock.now, hours=30.0, mould=1.5)
    clock.now += 11 * H
    s.tick()
    with sessions() as session:
        assert get_case(session, ref).state == "resolved"  # the minimum duration first
    clock.now += 2 * H
    s.tick()
    with sessions() as session:
        case = get_case(session, ref)
        assert case.state == "open" and case.reopened_count == 1
        assert case.verification_outcome == "recurred" and case.verify_until is None
        assert case.aware_at == back  # the clocks run from the recurrence
        due = {(d.severity, d.step): d.due_at for d in case.deadlines}
        assert due[("emergency", "investigate")] == back + 24 * H
        assert case.verification is not None
        assert case.verification["mould_index_trend"] == "rising"
        assert [o.reference for o in case.work_orders] == [f"{ref}-1", f"{ref}-2"]
        raised = session.scalars(
            select(OutboxMessage.event_type).where(OutboxMessage.case_id == case.id)
        ).all()
        assert raised == ["work_order.RaiseRepair", "work_order.RaiseRepair"]
        assert session.scalars(select(HazardCase)).all() == [case]  # no second case
        kpis = case_kpis(session)
    assert kpis["reopened_cases"] == 1 and kpis["reopens"] == 1 and kpis["reopened_rate"] == 1.0
    # resolved again: a fresh watch
    with sessions.begin() as session:
        case = get_case(session, ref)
        for state in ("acknowledged", "investigating", "made_safe", "resolved"):
            s.engine.desk.move(
                session, case, CaseState(state), actor=OFFICER, now=clock.now, reason="fixed again"
            )
        assert case.verification_outcome is None and case.verify_until is not None


def test_a_signal_that_never_cleared_reopens_the_case_when_the_watch_ends(
    sessions: sessionmaker[Session], sink: tuple[CaseFindingSink, Clock]
) -> None:
    s, clock = sink
    ref = open_and_resolve(sessions, s, clock)
    resolved_at = clock.now
    clock.now += 3 * D
    s.publish([damp("high", "high", clock.now)])  # still damp after the works
    assert s.tick()["reopened"] == 0  # not judged before the watch ends
    with sessions() as session:
        assert get_case(session, ref).state == "resolved"
    clock.now = resolved_at + 28 * D + H
    assert s.tick()["reopened"] == 1
    with sessions() as session:
        case = get_case(session, ref)
        assert case.state == "open" and case.reopened_count == 1
        assert case.aware_at == resolved_at


def test_outreach_cases_are_not_watched(
    sessions: sessionmaker[Session], sink: tuple[CaseFindingSink, Clock]
) -> None:
    from alerting.cases.states import CaseKind, TriggerSource

    s, _clock = sink
    with sessions.begin() as session:
        case = s.engine.desk.open_case(
            session,
            flat_id="F2",
            kind=CaseKind.OUTREACH,
            trigger=TriggerSource.STAFF,
            aware_at=T0,
            actor=OFFICER,
            now=T0,
            description="Warm-home support",
        )
        for state in ("acknowledged", "investigating", "made_safe", "resolved"):
            s.engine.desk.move(session, case, CaseState(state), actor=OFFICER, now=T0)
        assert case.verify_until is None


def test_compare_known_answers() -> None:
    before = WatchFigures(1, "t0", 42.0, 1.2)
    assert compare(before, WatchFigures(2, "t1", 3.0, 1.15))["mould_index_trend"] == "steady"
    assert (
        compare(before, WatchFigures(2, "t1", 50.0, 2.0))["hours_surface_rh_over_80_change"] == 8.0
    )
    assert compare(before, None)["mould_index_trend"] is None
    assert compare(before, WatchFigures(2, "t1", None, None))["mould_index_trend"] is None


def test_the_watch_period_is_configured_and_checked(tmp_path: Path) -> None:
    assert load_rules().verification.watch_days == 28
    text = (Path(__file__).parents[2] / "src/alerting/cases/rules.toml").read_text()
    own = tmp_path / "rules.toml"
    own.write_text(text.replace("watch_days = 28", "watch_days = 90"))
    assert load_rules(own).verification.watch_days == 90
    own.write_text(text.replace("watch_days = 28", "watch_days = 0"))
    with pytest.raises(ConfigError, match=r"verification\.watch_days"):
        load_rules(own)
    # a landlord's file written before the section existed still loads
    head = text.split("[verification]")[0]
    own.write_text(head)
    assert load_rules(own).verification.watch_days == 28
