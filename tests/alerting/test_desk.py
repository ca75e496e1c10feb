"""The case desk against a real store (SQLite and PostgreSQL): one open case per flat
and kind, deadlines from the clocks, the audit trail, and the work order's outbox
message written in the case's own transaction."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.clocks import Severity
from alerting.cases.desk import SYSTEM, CaseDesk, DuplicateCase
from alerting.cases.states import CaseKind, CaseState, IllegalTransition, TriggerSource
from dampwatch_core.models import Base
from dampwatch_core.models_cases import (
    CaseStatusChange,
    Contractor,
    HazardCase,
    OutboxMessage,
    WorkOrder,
)

UTC = dt.UTC
# Friday 19 December 2025: Christmas, Boxing Day and New Year's Day fall in the
# ten working days, so the investigation is due by the end of Wednesday 7 January.
FRI_19_DEC = dt.datetime(2025, 12, 19, 10, 0, tzinfo=UTC)


def desk() -> CaseDesk:
    return CaseDesk(WorkingCalendar.england_and_wales(),
                    status_callback_base="https://dw.example")


def add_contractor(session: Session, name: str = "Acme Damp", trade: str = "damp_mould") -> int:
    c = Contractor(name=name, trade=trade, webhook_url="http://127.0.0.1:9/hook",
                   secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", enabled=True)
    session.add(c)
    session.flush()
    return c.id


def open_repair(session: Session, d: CaseDesk, flat: str = "F1",
                aware: dt.datetime = FRI_19_DEC, now: dt.datetime | None = None,
                trigger: TriggerSource = TriggerSource.SENSOR) -> HazardCase:
    return d.open_case(
        session, flat_id=flat, kind=CaseKind.REPAIR, trigger=trigger, aware_at=aware,
        actor=SYSTEM, now=now or aware, description="Damp and mould investigation",
        evidence={"reasons": [{"code": "surface_rh_over_80", "hours": 41}]}, risk_level="high",
    )


def test_migration_builds_the_case_tables_as_declared(database_url: str) -> None:
    from dampwatch_core.db import make_engine, migrate

    migrate(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
    assert "hazard_cases" in Base.metadata.tables


def test_migration_0006_goes_down_and_up_again(database_url: str) -> None:
    from importlib.resources import files

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from dampwatch_core.db import make_engine, migrate, normalise_url

    migrate(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(files("dampwatch_core") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(database_url))
    cfg.attributes["configure_logger"] = False
    command.downgrade(cfg, "0005")  # the revision before the cases tables
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert not tables & {"hazard_cases", "outbox", "contractors", "work_orders"}
    assert "flats" in tables
    migrate(database_url)


def test_repair_case_gets_pending_clocks_work_order_and_outbox(
    sessions: sessionmaker[Session],
) -> None:
    d = desk()
    with sessions.begin() as session:
        add_contractor(session)
        case = open_repair(session, d)
        ref = case.reference
    with sessions() as session:
        case = session.scalars(select(HazardCase).where(HazardCase.reference == ref)).one()
        assert case.severity == "pending" and case.state == "open"
        due = {(x.severity, x.step): x for x in case.deadlines}
        assert due[("significant", "investigate")].due_date == dt.date(2026, 1, 7)
        assert due[("emergency", "investigate")].due_at == FRI_19_DEC + dt.timedelta(hours=24)
        assert due[("significant", "make_safe")].due_at is None  # waits for investigation
        order = session.scalars(select(WorkOrder)).one()
        assert order.reference == f"{ref}-1" and order.priority_code == "3"
        message = session.scalars(select(OutboxMessage)).one()
        assert message.case_id == case.id and message.status == "pending"
        body = json.loads(message.body)
        assert body["MessageType"] == "RaiseRepair"
        assert body["WorkOrderReference"] == {"ID": order.reference, "AllocatedBy": "DampWatch"}
        assert body["Priority"]["RequiredCompletionDateTime"] == "2026-01-08T00:00:00Z"
        assert body["HazardContext"]["InvestigateBy"] == "2026-01-07"
        assert body["HazardContext"]["Assessment"] == "PendingLandlordAssessment"
        assert body["StatusCallbackURI"].endswith(f"/api/v1/work-orders/{order.reference}/status")
        events = [h.event for h in case.history]
        assert events == ["opened", "work_order"]


def test_outbox_row_is_in_the_case_transaction(sessions: sessionmaker[Session]) -> None:
    d = desk()
    with sessions.begin() as session:
        add_contractor(session)
    session = sessions()
    with session.begin():
        open_repair(session, d)
        session.rollback()
    session.close()
    with sessions() as session:
        assert session.scalars(select(HazardCase)).all() == []
        assert session.scalars(select(OutboxMessage)).all() == []
    # and committed together
    with sessions.begin() as session:
        open_repair(session, d)
    with sessions() as session:
        assert len(session.scalars(select(HazardCase)).all()) == 1
        assert len(session.scalars(select(OutboxMessage)).all()) == 1


def test_one_open_case_per_flat_and_kind(sessions: sessionmaker[Session]) -> None:
    d = desk()
    with sessions.begin() as session:
        first = open_repair(session, d)
        with pytest.raises(DuplicateCase, match=first.reference):
            open_repair(session, d)
        # another flat, or another kind, is fine
        open_repair(session, d, flat="F2")
        d.open_case(session, flat_id="F1", kind=CaseKind.OUTREACH, trigger=TriggerSource.SENSOR,
                    aware_at=FRI_19_DEC, actor=SYSTEM, now=FRI_19_DEC,
                    description="Home may be hard to heat")


def test_the_store_itself_refuses_a_second_open_case(sessions: sessionmaker[Session]) -> None:
    """Two writers that both saw no open case: the partial unique index stops the second."""
    d = desk()
    with sessions.begin() as session:
        open_repair(session, d)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(HazardCase(reference="DM-RACE", flat_id="F1", kind="repair",
                               trigger_source="sensor", aware_at=FRI_19_DEC, opened_by=SYSTEM,
                               state="acknowledged"))
    with sessions.begin() as session:  # a closed one may sit beside the open one
        session.add(HazardCase(reference="DM-OLD", flat_id="F1", kind="repair",
                               trigger_source="sensor", aware_at=FRI_19_DEC, opened_by=SYSTEM,
                               state="closed", closed_reason="duplicate"))


def test_after_a_case_ends_a_new_one_may_open(sessions: sessionmaker[Session]) -> None:
    d = desk()
    with sessions.begin() as session:
        case = open_repair(session, d)
        d.move(session, case, CaseState.CLOSED, actor="officer@example.org", now=FRI_19_DEC,
               reason="inspected: no damp found")
        second = open_repair(session, d)
        assert second.reference != case.reference


def test_assessment_keeps_one_clock_and_amends_the_work_order(
    sessions: sessionmaker[Session],
) -> None:
    d = desk()
    later = FRI_19_DEC + dt.timedelta(hours=2)
    with sessions.begin() as session:
        add_contractor(session)
        case = open_repair(session, d)
        d.assess(session, case, Severity.EMERGENCY, actor="officer@example.org", now=later,
                 reason="child with asthma; black mould over the cot")
    with sessions() as session:
        case = session.scalars(select(HazardCase)).one()
        assert case.severity == "emergency"
        assert case.severity_assessed_by == "officer@example.org"
        assert case.severity_assessed_at == later
        assert {x.severity for x in case.deadlines} == {"emergency"}
        order = session.scalars(select(WorkOrder)).one()
        assert order.priority_code == "2"
        assert order.required_completion_at == FRI_19_DEC + dt.timedelta(hours=24)
        bodies = [json.loads(m.body) for m in
                  session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        assert [b["MessageType"] for b in bodies] == ["RaiseRepair", "AmendRepair"]
        assert bodies[1]["Priority"]["PriorityCode"] == "2"
        assert bodies[0]["WorkOrderReference"] == bodies[1]["WorkOrderReference"]


def test_status_history_records_who_when_why(sessions: sessionmaker[Session]) -> None:
    d = desk()
    t = [FRI_19_DEC + dt.timedelta(hours=h) for h in range(6)]
    with sessions.begin() as session:
        case = open_repair(session, d)
        d.move(session, case, CaseState.ACKNOWLEDGED, actor="a@example.org", now=t[1],
               reason="seen")
        d.move(session, case, CaseState.INVESTIGATING, actor="b@example.org", now=t[2],
               reason="surveyor booked")
        with pytest.raises(IllegalTransition):
            d.move(session, case, CaseState.RESOLVED, actor="b@example.org", now=t[3])
        d.move(session, case, CaseState.MADE_SAFE, actor="c@example.org", now=t[3],
               reason="mould wash, dehumidifier")
        assert case.investigated_at == t[3]
        d.move(session, case, CaseState.WORKS_SCHEDULED, actor="c@example.org", now=t[4],
               reason="extractor fan")
        d.move(session, case, CaseState.RESOLVED, actor="c@example.org", now=t[5],
               reason="fan fitted")
    with sessions() as session:
        rows = session.scalars(select(CaseStatusChange).where(
            CaseStatusChange.event == "transition").order_by(CaseStatusChange.id)).all()
        assert [(r.from_state, r.to_state, r.actor, r.at, r.reason) for r in rows] == [
            ("open", "acknowledged", "a@example.org", t[1], "seen"),
            ("acknowledged", "investigating", "b@example.org", t[2], "surveyor booked"),
            ("investigating", "made_safe", "c@example.org", t[3], "mould wash, dehumidifier"),
            ("made_safe", "works_scheduled", "c@example.org", t[4], "extractor fan"),
            ("works_scheduled", "resolved", "c@example.org", t[5], "fan fitted"),
        ]
        case = session.scalars(select(HazardCase)).one()
        due = {(x.severity, x.step): x.due_date for x in case.deadlines}
        # investigation concluded Fri 19 Dec 13:00: written summary 3 working days on
        assert due[("significant", "written_summary")] == dt.date(2025, 12, 24)


def test_tenant_report_clock_runs_from_the_report(sessions: sessionmaker[Session]) -> None:
    """A tenant reported on Saturday 6 December; the officer logs it on Monday the 8th."""
    d = desk()
    reported = dt.datetime(2025, 12, 6, 15, 30, tzinfo=UTC)
    logged = dt.datetime(2025, 12, 8, 9, 0, tzinfo=UTC)
    with sessions.begin() as session:
        case = d.open_case(session, flat_id="F3", kind=CaseKind.REPAIR,
                           trigger=TriggerSource.TENANT_REPORT, aware_at=reported,
                           actor="officer@example.org", now=logged,
                           description="Tenant reports mould in the bathroom")
        assert case.aware_at == reported and case.opened_by == "officer@example.org"
        due = {(x.severity, x.step): x for x in case.deadlines}
        # counting starts Sunday 7th: Mon 8 … Fri 19 is ten working days
        assert due[("significant", "investigate")].due_date == dt.date(2025, 12, 19)
        with pytest.raises(Exception, match="after now"):
            d.open_case(session, flat_id="F2", kind=CaseKind.REPAIR,
                        trigger=TriggerSource.TENANT_REPORT, aware_at=logged,
                        actor="officer@example.org", now=reported, description="x")


def test_outreach_cases_never_reach_a_contractor(sessions: sessionmaker[Session]) -> None:
    d = desk()
    with sessions.begin() as session:
        add_contractor(session)
        add_contractor(session, "Warm Homes Ltd", trade="damp_mould")
        d.open_case(session, flat_id="F2", kind=CaseKind.OUTREACH, trigger=TriggerSource.SENSOR,
                    aware_at=FRI_19_DEC, actor=SYSTEM, now=FRI_19_DEC,
                    description="The home may be hard to keep warm: offer a visit")
    with sessions() as session:
        assert session.scalars(select(WorkOrder)).all() == []
        assert session.scalars(select(OutboxMessage)).all() == []


def test_work_orders_spread_over_contractors_of_the_trade(
    sessions: sessionmaker[Session],
) -> None:
    d = desk()
    with sessions.begin() as session:
        a = add_contractor(session, "A")
        b = add_contractor(session, "B")
        add_contractor(session, "Plumber", trade="plumbing")
        for flat in ("F1", "F2", "F3"):
            open_repair(session, d, flat=flat)
    with sessions() as session:
        orders = session.scalars(select(WorkOrder).order_by(WorkOrder.id))
        assert [o.contractor_id for o in orders] == [a, b, a]


def test_closing_cancels_the_work_order(sessions: sessionmaker[Session]) -> None:
    d = desk()
    with sessions.begin() as session:
        add_contractor(session)
        case = open_repair(session, d)
        d.move(session, case, CaseState.CLOSED, actor="o@example.org", now=FRI_19_DEC,
               reason="duplicate of a tenant report")
    with sessions() as session:
        assert session.scalars(select(WorkOrder)).one().status == "cancelled"
        types = [json.loads(m.body)["MessageType"] for m in
                 session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        assert types == ["RaiseRepair", "CancelRepair"]
