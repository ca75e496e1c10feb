"""The Alembic migrations: they build exactly the schema the models declare, keep the
data of a database that has some when upgrading and downgrading step by step, and
several services starting at once on a fresh database do not race."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, select
from sqlalchemy import inspect as sa_inspect

from dampwatch_core import (
    models_auth,  # noqa: F401  (its tables join Base.metadata)
    models_tenants,  # noqa: F401  (its tables join Base.metadata)
)
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models import (
    Base,
    Device,
    Flat,
    FlatRisk,
    QuarantinedMessage,
    QuarantineShed,
    Relay,
    RiskAssessment,
    ScoringState,
)

Snapshot = dict[str, dict[str, list[Any]]]


def test_migrations_match_models(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def revisions() -> list[str]:
    """Every revision, oldest first."""
    from importlib.resources import files

    cfg = Config()
    cfg.set_main_option("script_location", str(files("dampwatch_core") / "migrations"))
    script = ScriptDirectory.from_config(cfg)
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def snapshot(engine: Engine) -> Snapshot:
    """Every table's rows, column by column (sorted), except Alembic's own."""
    meta = MetaData()
    meta.reflect(engine)
    out: Snapshot = {}
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            if name == "alembic_version":
                continue
            rows = [tuple(r) for r in conn.execute(select(table))]
            out[name] = {
                col.name: sorted((r[i] for r in rows), key=repr)
                for i, col in enumerate(table.columns)
            }
            out[name]["__count__"] = [len(rows)]
    return out


def assert_kept(before: Snapshot, after: Snapshot, step: str) -> None:
    """Every table in both has the same rows in every column in both."""
    for table in before.keys() & after.keys():
        for column in before[table].keys() & after[table].keys():
            assert after[table][column] == before[table][column], (
                f"{step}: {table}.{column} changed"
            )


def plant_auth_data(engine: Engine) -> None:
    """A user, a token, a session, a throttled address, an audit event."""
    from dampwatch_core.models_auth import ApiToken, AuditEvent, SigninThrottle, User, WebSession

    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    with make_sessionmaker(engine).begin() as s:
        user = User(email="a@b.example", role="officer", landlord="north", password_hash="x")
        s.add(user)
        s.flush()
        s.add_all(
            [
                ApiToken(user_id=user.id, public_id="0123456789ab", token_hash="0" * 64),
                WebSession(id_hash="1" * 64, user_id=user.id, csrf_token="c", expires_at=now),
                SigninThrottle(email="x@y.example", failures=2, first_failure_at=now),
                AuditEvent(actor="cli", action="user.created", subject_id=str(user.id)),
            ]
        )


def plant_data(engine: Engine) -> None:
    """A little of everything the schema holds, at head."""
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        s.add_all(
            [
                Flat(id="F1", address="1 Migration Court", block="MC", floor=3),
                Flat(id="F2", address="2 Migration Court"),
            ]
        )
        s.add(Relay(id="relay-mc", block="MC", password_hash="$7$101$a$b"))  # 0011
        s.flush()
        s.add_all(
            [
                Device(
                    id="esp32-000000000001",
                    flat_id="F1",
                    room="bedroom",
                    password_hash="$7$101$a$b",
                    state="online",
                    batt_mv=2990,
                    last_seq=41,
                    last_seen=now,
                    clock_offset_s=1800,  # 0007
                ),
                Device(id="esp32-000000000002", flat_id="F2", room="kitchen", password_hash="x",
                       uplink="espnow", relay_id="relay-mc", espnow_key="ab" * 32),  # 0011
                QuarantinedMessage(
                    topic="dampwatch/v1/dev/esp32-000000000001/telemetry",
                    device_id="esp32-000000000001",
                    reason="not_json",
                    detail="bad",
                    payload=b"{",
                ),
                QuarantineShed(
                    device_key="esp32-000000000001", shed=3, first_shed_at=now, last_shed_at=now
                ),
            ]
        )
        assessment = RiskAssessment(
            flat_id="F1",
            damp_level="high",
            cold_level="low",
            score=3.5,
            reasons=[{"code": "surface_rh", "value": 82.0}],
            period_start=now,
            period_end=now,
        )
        s.add(assessment)
        s.flush()
        s.add(
            FlatRisk(
                flat_id="F1",
                assessment_id=assessment.id,
                assessed_at=now,
                damp_level="high",
                cold_level="low",
                rank=1,
                score=3.5,
            )
        )
        s.add_all(
            ScoringState(
                device_id=f"esp32-00000000000{i}",
                flat_id="F1",
                room="bedroom",
                last_ts=1_764_500_000 + i,
                state={"mould": 1.25 * i, "dry_h": i},
                buckets=b"\x00\x01" * i,
            )
            for i in (1, 2)
        )
        _plant_cases(s, now)
        _plant_tenants(s, now)
        _plant_messages(s, now)


def _plant_tenants(s: Any, now: datetime) -> None:
    """0008: a tenant with a tenancy, a consent, a hold, a partner and a referral."""
    from dampwatch_core.models_cases import Contractor, HazardCase, OutboxMessage
    from dampwatch_core.models_tenants import (
        Consent,
        ConsentHold,
        Partner,
        Referral,
        Tenancy,
        Tenant,
    )

    s.add(Tenant(id="T1", name="A Tenant", phone_enc="gAAAA-phone", phone_is_mobile=True,
                 email_enc="gAAAA-email", postal_address_enc="gAAAA-addr"))
    s.flush()
    consent = Consent(tenant_id="T1", purpose="partner_referral", lawful_basis="consent",
                      given_at=now, given_how="paper form", recorded_by="cli")
    s.add_all([
        Tenancy(tenant_id="T1", flat_id="F1", start_date=now.date()),
        consent,
        ConsentHold(flat_id="F2", case_kind="outreach", purpose="underheating_outreach",
                    reason="no consent", first_at=now, last_at=now, times=2),
    ])
    endpoint = s.scalars(select(Contractor)).first()
    partner = Partner(name="Warm Homes", channel="webhook", endpoint_id=endpoint.id)
    s.add(partner)
    s.flush()
    case = s.scalars(select(HazardCase)).first()
    message = s.scalars(select(OutboxMessage)).first()
    s.add(Referral(reference="RF-000001", case_id=case.id, partner_id=partner.id,
                   tenant_id="T1", consent_id=consent.id, referred_by="cli", referred_at=now,
                   outbox_message_id=message.id, fields=["name"]))


def _plant_messages(s: Any, now: datetime) -> None:
    """0009: a template version, a message to a tenant, a received text."""
    from dampwatch_core.models_cases import HazardCase, OutboxMessage
    from dampwatch_core.models_messages import InboundText, MessageTemplate, TenantMessage

    case = s.scalars(select(HazardCase)).first()
    message = s.scalars(select(OutboxMessage)).first()
    s.add_all([
        MessageTemplate(landlord="default", key="tip.damp.air", version=1, channel="sms",
                        subject="", body="Open a window. Reply STOP.", created_by="cli",
                        created_at=now),
        TenantMessage(reference="dw-1", tenant_id="T1", flat_id="F1", case_id=case.id,
                      outbox_id=message.id, purpose="tip", channel="sms",
                      template_key="tip.damp.air", template_version=1, subject="", body="x",
                      status="delivered", queued_at=now, send_after=now, notify_id="n-1"),
        InboundText(notify_id="in-1", tenant_id="T1", received_at=now, content="damp",
                    kind="report", action="case_opened", case_id=case.id, created_at=now),
    ])


def _plant_cases(s: Any, now: datetime) -> None:
    """A contractor, a case with its trail, deadline, signal, work order and outbox row."""
    from dampwatch_core.models_cases import (
        CaseDeadline,
        CaseSignal,
        CaseStatusChange,
        Contractor,
        HazardCase,
        OutboxMessage,
        WorkOrder,
        WorkOrderStatusUpdate,
    )

    contractor = Contractor(name="Acme", trade="damp_mould", webhook_url="https://a.example",
                            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    case = HazardCase(reference="DM-000001", flat_id="F1", kind="repair",
                      trigger_source="sensor", aware_at=now, opened_by="system",
                      verify_until=now, reopened_count=1)  # 0010
    s.add_all([contractor, case])
    s.flush()
    s.add_all([
        CaseStatusChange(case_id=case.id, at=now, actor="system", event="opened",
                         to_state="open"),
        CaseDeadline(case_id=case.id, severity="significant", step="investigate",
                     period="10 working days", runs_from="aware", starts_at=now, due_at=now),
        CaseSignal(flat_id="F1", kind="repair", level="high", active_since=now,
                   last_finding_at=now),
        order := WorkOrder(reference="DM-000001-1", case_id=case.id,
                           contractor_id=contractor.id, priority_code="3", raised_at=now,
                           status_updated_at=now),
        OutboxMessage(message_id="msg_1", channel="webhook", event_type="work_order.RaiseRepair",
                      contractor_id=contractor.id, case_id=case.id, body="{}", created_at=now,
                      window_started_at=now, next_attempt_at=now),
    ])
    s.flush()
    s.add(WorkOrderStatusUpdate(work_order_id=order.id, received_at=now, event_time=now,
                                type_code="Scheduled", reported_by="c@acme.example"))  # 0010


def test_migrations_keep_data_down_and_up_step_by_step(database_url: str) -> None:
    """From head with data: each step down keeps what the older schema can hold, and
    from every older revision the upgrade back to head loses nothing it had."""
    revs = revisions()
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        plant_data(engine)
        plant_auth_data(engine)
        at_head = snapshot(engine)
        assert all(t["__count__"][0] > 0 for t in at_head.values()), "plant every table"
        for index in range(len(revs) - 1, 0, -1):
            older = revs[index - 1]
            before = snapshot(engine)
            migrate(database_url, older, downgrade=True)
            assert current(engine) == older
            below = snapshot(engine)
            assert_kept(before, below, f"downgrade to {older}")
            # up again to head from here: nothing the older schema held is lost
            migrate(database_url)
            assert_kept(below, snapshot(engine), f"upgrade {older} -> head")
            migrate(database_url, older, downgrade=True)
        migrate(database_url, "base", downgrade=True)
        assert current(engine) is None
        assert set(sa_inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(database_url)
        assert current(engine) == revs[-1]
    finally:
        engine.dispose()


RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dampwatch_core.db import migrate
    Path(sys.argv[3]).touch()  # imported: ready
    go = Path(sys.argv[2])
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal within 60 s")
        time.sleep(0.002)
    migrate(sys.argv[1])
    """
)


def test_three_services_starting_at_once_on_a_fresh_database(
    database_url: str, tmp_path: Path
) -> None:
    """Three processes migrate a fresh database at the same moment (each imported and
    waiting for one signal, as services started together): all three succeed. The race
    is run three times (back to an empty schema between rounds), since one round may
    happen not to collide."""
    for round_ in range(3):
        _race(database_url, tmp_path / f"round-{round_}")
        migrate(database_url, "base", downgrade=True)


def _race(database_url: str, tmp_path: Path) -> None:
    tmp_path.mkdir()
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(3)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, database_url, str(go), str(flag)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for flag in ready
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready):
            assert time.monotonic() < deadline, "racers did not start within 60 s"
            for p in procs:
                assert p.poll() is None, p.communicate()[0]
            time.sleep(0.02)
        go.touch()
        outputs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0, 0], "\n---\n".join(outputs)
    engine = make_engine(database_url)
    try:
        assert current(engine) == revisions()[-1]
    finally:
        engine.dispose()
