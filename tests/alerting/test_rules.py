"""Findings -> cases, through the finding sink scoring is handed, against a real store:
a damp flat gets one repair case with the right clocks and its work order reaches the
contractor; a cold flat one outreach case and nothing for a contractor; a flapping
flat no case storm; untouched cases remind and escalate. Findings are built in the
shape of ``dampwatch_core.findings``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from whreceiver import Receiver

from alerting.cases.config import CaseRules, load_rules
from alerting.cases.rules import OUTREACH_DESCRIPTION, CaseFindingSink, step_signal
from alerting.cases.states import CaseState
from alerting.channels.webhook import WebhookChannel, new_secret
from alerting.outbox import Dispatcher
from dampwatch_core.errors import ConfigError
from dampwatch_core.models_cases import (
    CaseStatusChange,
    Contractor,
    HazardCase,
    OutboxMessage,
    WorkOrder,
)

# isort: split
# (until dampwatch_core.findings is on main, ruff sees these as another section)
from dampwatch_core.const import Level
from dampwatch_core.findings import (
    Finding,
    FindingKind,
    FindingSink,
    Reason,
    ReasonCode,
    ReasonKind,
)

UTC = dt.UTC
FRI_19_DEC = dt.datetime(2025, 12, 19, 9, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def damp(flat: str, before: str, after: str, at: dt.datetime) -> Finding:
    return Finding(
        flat_id=flat, kind=FindingKind.DAMP, level_before=Level(before), level_after=Level(after),
        period_start=at - dt.timedelta(days=7), period_end=at,
        reasons=(Reason(kind=ReasonKind.DAMP, code=ReasonCode.SURFACE_RH_OVER_80,
                        message="bedroom wall wet (surface RH ≥ 80 %) for 41 h of the last "
                        "7 days", room="bedroom", hours=41),),
        assessment_id=7, thresholds_version="1",
    )


def cold(flat: str, before: str, after: str, at: dt.datetime) -> Finding:
    return Finding(
        flat_id=flat, kind=FindingKind.COLD, level_before=Level(before), level_after=Level(after),
        period_start=at - dt.timedelta(days=7), period_end=at,
        reasons=(Reason(kind=ReasonKind.COLD, code=ReasonCode.BELOW_18C,
                        message="living room below 18 °C for 60 % of occupied hours",
                        room="living_room", hours=60),),
    )


def sink_for(sessions: sessionmaker[Session], clock: Clock,
             rules: CaseRules | None = None) -> CaseFindingSink:
    return CaseFindingSink.for_store(sessions, rules=rules, clock=clock)


def cases(sessions: sessionmaker[Session]) -> list[HazardCase]:
    with sessions() as session:
        found = list(session.scalars(select(HazardCase).order_by(HazardCase.id)))
        for c in found:
            _ = c.deadlines, c.history
        return found


def test_the_sink_is_a_finding_sink(sessions: sessionmaker[Session]) -> None:
    assert isinstance(sink_for(sessions, Clock(FRI_19_DEC)), FindingSink)


def test_damp_flat_gets_one_repair_case_delivered_to_the_contractor(
    sessions: sessionmaker[Session],
) -> None:
    secret = new_secret()
    receiver = Receiver(secret).start()
    try:
        with sessions.begin() as session:
            session.add(Contractor(name="Acme Damp", trade="damp_mould",
                                   webhook_url=receiver.url, secret=secret, enabled=True))
            session.add(Contractor(name="Sparks", trade="electrical",
                                   webhook_url=receiver.url, secret=secret, enabled=True))
        clock = Clock(FRI_19_DEC)
        sink = sink_for(sessions, clock)
        sink.publish([damp("F1", "medium", "high", clock.now)])
        assert cases(sessions) == []  # the signal must hold 12 h first
        clock.now += 11 * H
        assert sink.tick()["opened"] == 0
        clock.now += H
        assert sink.tick()["opened"] == 1
        sink.publish([damp("F1", "high", "high", clock.now)])  # more evidence, same case
        assert sink.tick()["opened"] == 0
        [case] = cases(sessions)
        assert (case.kind, case.state, case.trigger_source) == ("repair", "open", "sensor")
        assert case.aware_at == FRI_19_DEC  # aware from the first finding, not the opening
        due = {(d.severity, d.step): d.due_date for d in case.deadlines}
        # Christmas, Boxing Day and New Year's Day skipped
        assert due[("significant", "investigate")] == dt.date(2026, 1, 7)
        assert case.description.startswith("Damp and mould investigation: bedroom wall wet")
        assert [h.event for h in case.history] == ["opened", "work_order", "finding"]
        with httpx.Client(timeout=5) as client, Dispatcher(
            sessions, WebhookChannel(client)
        ) as dispatcher:
            assert dispatcher.run_once() == 1
        [payload] = receiver.accepted.values()
        assert payload["HazardContext"]["Reasons"][0]["code"] == "surface_rh_over_80"
        assert payload["HazardContext"]["InvestigateBy"] == "2026-01-07"
        assert payload["LocationOfRepair"] == "bedroom"
        with sessions() as session:
            [order] = session.scalars(select(WorkOrder)).all()
            assert order.contractor.name == "Acme Damp"
    finally:
        receiver.stop()


def test_cold_flat_gets_one_outreach_case_and_no_contractor_delivery(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        session.add(Contractor(name="Acme Damp", trade="damp_mould",
                               webhook_url="http://127.0.0.1:9/", secret=new_secret()))
    clock = Clock(FRI_19_DEC)
    sink = sink_for(sessions, clock)
    sink.publish([cold("F2", "low", "high", clock.now)])
    clock.now += 48 * H
    sink.publish([cold("F2", "high", "high", clock.now)])
    sink.tick()
    [case] = cases(sessions)
    assert (case.kind, case.flat_id) == ("outreach", "F2")
    assert case.description == OUTREACH_DESCRIPTION
    words = case.description.lower()
    for blame in ("lifestyle", "behaviour", "fault", "failure", "should", "must", "refus"):
        assert blame not in words
    with sessions() as session:
        assert session.scalars(select(WorkOrder)).all() == []
        assert session.scalars(select(OutboxMessage)).all() == []


def test_a_flapping_signal_opens_no_case_storm(sessions: sessionmaker[Session]) -> None:
    clock = Clock(FRI_19_DEC)
    sink = sink_for(sessions, clock)
    levels = ["high", "medium"] * 36 + ["high", "low"] * 36  # 3 days of hourly flapping
    before = "none"
    for level in levels:
        sink.publish([damp("F1", before, level, clock.now), damp("F3", before, level, clock.now)])
        sink.tick()
        before = level
        clock.now += H
    found = cases(sessions)
    # high <-> medium keeps the signal on (hysteresis): one case per flat once 12 h held
    assert [(c.flat_id, c.kind) for c in found] == [("F1", "repair"), ("F3", "repair")]
    assert found[0].aware_at == FRI_19_DEC


def test_high_low_flapping_never_holds_long_enough(sessions: sessionmaker[Session]) -> None:
    clock = Clock(FRI_19_DEC)
    sink = sink_for(sessions, clock)
    before = "none"
    for level in ["high", "low"] * 48:
        sink.publish([damp("F1", before, level, clock.now)])
        sink.tick()
        before = level
        clock.now += 5 * H
    assert cases(sessions) == []


def test_cool_down_after_a_case_ends(sessions: sessionmaker[Session]) -> None:
    clock = Clock(FRI_19_DEC)
    rules = load_rules()
    sink = sink_for(sessions, clock, rules)
    sink.publish([damp("F1", "none", "high", clock.now)])
    clock.now += 12 * H
    sink.tick()
    with sessions.begin() as session:
        case = session.scalars(select(HazardCase)).one()
        sink.engine.desk.move(session, case, CaseState.CLOSED, actor="o@example.org",
                              now=clock.now, reason="inspected: a one-off leak, fixed")
    sink.publish([damp("F1", "high", "low", clock.now)])
    clock.now += 2 * H
    sink.publish([damp("F1", "low", "high", clock.now)])  # returns within the cool-down
    clock.now += 24 * H
    sink.tick()
    [only] = cases(sessions)
    assert [h.event for h in only.history][-1] == "recurrence"
    clock.now += dt.timedelta(days=rules.repair.cooldown_days)
    sink.tick()  # the signal has stayed on past the cool-down: a new case
    found = cases(sessions)
    assert len(found) == 2 and found[1].state == "open"


def test_untouched_cases_remind_then_escalate(sessions: sessionmaker[Session]) -> None:
    clock = Clock(FRI_19_DEC)
    sink = sink_for(sessions, clock)
    sink.publish([damp("F1", "none", "high", clock.now)])
    clock.now += 12 * H
    sink.tick()
    opened = clock.now
    counts = []
    for hours in (23, 24, 48, 72):
        clock.now = opened + hours * H
        counts.append(sink.tick())
    assert [c["reminded"] for c in counts] == [0, 1, 1, 1]
    assert [c["escalated"] for c in counts] == [0, 0, 0, 1]
    [case] = cases(sessions)
    assert (case.reminders_sent, case.escalation_level) == (3, 1)
    with sessions.begin() as session:
        case = session.scalars(select(HazardCase)).one()
        sink.engine.desk.move(session, case, CaseState.ACKNOWLEDGED, actor="o@example.org",
                              now=clock.now, reason="on it")
    clock.now += 23 * H
    assert sink.tick()["reminded"] == 0  # touched: the count starts again
    with sessions() as session:
        events = [h.event for h in session.scalars(select(CaseStatusChange))]
        assert events.count("reminder") == 3 and events.count("escalated") == 1


def test_signal_steps() -> None:
    r = load_rules().repair
    t = FRI_19_DEC
    on = step_signal("none", None, None, "high", t, r)
    assert on.active_since == t and on.switched_on
    held = step_signal("high", t, None, "medium", t + H, r)
    assert held.active_since == t and not held.switched_on
    off = step_signal("medium", t, None, "low", t + 2 * H, r)
    assert off.active_since is None and off.cleared_at == t + 2 * H
    stays_off = step_signal("low", None, t, "medium", t + 3 * H, r)
    assert stays_off.active_since is None


def test_rules_file_is_validated(tmp_path: Path) -> None:
    bundled = load_rules()
    assert bundled.version == 1
    good = tmp_path / "rules.toml"
    text = (Path(__file__).parents[2] / "src/alerting/cases/rules.toml").read_text()
    good.write_text(text)
    assert load_rules(good) == bundled
    for bad, message in [
        (text.replace("version = 1", "version = 2"), "version"),
        (text.replace("cooldown_days = 14", "cooldown_days = 14\ncooldown = 3"), "cooldown"),
        (text.replace('clear_at = "low"', 'clear_at = "high"', 1), "clear_at"),
        (text.replace("min_duration_hours = 12", "min_duration_hours = -1"), "min_duration"),
        ("version = 1\n[repair\n", "rules"),
    ]:
        good.write_text(bad)
        with pytest.raises(ConfigError, match=message):
            load_rules(good)
    assert json.loads(json.dumps(bundled.model_dump()))["repair"]["trade"] == "damp_mould"


def test_a_finding_that_cannot_be_applied_does_not_sink_the_batch(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(FRI_19_DEC)
    rules = load_rules().model_copy(
        update={"repair": load_rules().repair.model_copy(update={"min_duration_hours": 0})})
    sink = sink_for(sessions, clock, rules)
    sink.publish([damp("NO-SUCH-FLAT", "none", "high", clock.now),
                  damp("F1", "none", "high", clock.now)])
    assert [c.flat_id for c in cases(sessions)] == ["F1"]
