"""The composition root's case desk (what ``dampwatch cases move`` acts through): with
tenants' data readable, recording an investigation queues each tenant's written summary
as a letter (never a text); without the key, cases still move and nothing is queued."""

from __future__ import annotations

import datetime as dt

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.cases.states import CaseKind, CaseState, TriggerSource
from backend.tenants import ContactCipher
from backend.tenants.records import record_from_row
from backend.tenants.store import save_tenant
from dampwatch.messaging import case_desk
from dampwatch_core.models_messages import TenantMessage
from dampwatch_core.settings import Settings

NOW = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)  # a Tuesday


def add(sessions: sessionmaker[Session], cipher: ContactCipher) -> None:
    row = {
        "tenant_id": "T1",
        "flat_id": "N1",
        "name": "Ann Example",
        "start_date": "2025-04-01",
        "phone": "07400 123456",
        "postal_address": "Flat N1|Tower Road|Leeds|LS1 1AA",
        "consents": "damp_monitoring",
        "consent_given_how": "paper form",
        "consent_given_at": "2025-04-01",
    }
    with sessions.begin() as session:
        save_tenant(
            session, record_from_row(row, today=NOW.date()), cipher, actor="cli:test", now=NOW
        )


def _investigate(sessions: sessionmaker[Session], settings: Settings) -> None:
    desk = case_desk(settings)
    at = NOW + dt.timedelta(hours=1)
    with sessions.begin() as session:
        case = desk.open_case(
            session,
            flat_id="N1",
            kind=CaseKind.REPAIR,
            trigger=TriggerSource.SENSOR,
            aware_at=NOW,
            actor="tests",
            now=NOW,
            description="damp in the bedroom",
        )
        for state in (CaseState.ACKNOWLEDGED, CaseState.INVESTIGATING, CaseState.MADE_SAFE):
            desk.move(session, case, state, actor="officer@example.org", now=at)


def _summaries(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.scalars(select(TenantMessage).where(TenantMessage.purpose == "summary"))
        return [(m.tenant_id, m.channel) for m in rows]


def test_recording_an_investigation_queues_the_written_summary(
    sessions: sessionmaker[Session], cipher: ContactCipher, key: str, database_url: str
) -> None:
    add(sessions, cipher)
    settings = Settings(database_url=database_url, tenant_data_keys=SecretStr(key))
    _investigate(sessions, settings)
    assert _summaries(sessions) == [("T1", "letter")]


def test_without_the_tenant_key_cases_move_and_nothing_is_queued(
    sessions: sessionmaker[Session], cipher: ContactCipher, database_url: str
) -> None:
    add(sessions, cipher)
    _investigate(sessions, Settings(database_url=database_url, tenant_data_keys=None))
    assert _summaries(sessions) == []
