"""The messages tests' world: a landlord's store (SQLite, then PostgreSQL) with flats
and tenants, the stand-in Notify API on a free port (a real HTTP server), the real
Notify client, the outbox dispatcher on a clock the test moves, and the app whose
callbacks the stand-in calls."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import CaseDesk
from alerting.channels.notify import NotifyChannel, NotifyClientNotifier, NotifyTemplates
from alerting.messages.inbox import NotifyInbox
from alerting.messages.scheduling import MessageDesk, TipFindingSink
from alerting.outbox import Dispatcher, RetryPolicy
from backend.app import create_app
from backend.tenants import ContactCipher, new_key
from backend.tenants.phones import parse_uk_phone
from backend.tenants.records import ConsentGrant, TenantRecord
from backend.tenants.store import save_tenant
from dampwatch.messaging import TenantStoreDirectory, landlord_details
from dampwatch.stack.notify_standin import (
    NotifyStandin,
    StandinTemplate,
    api_key_for,
    default_templates,
)
from dampwatch.stack.ports import free_port
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models import Flat
from dampwatch_core.models_messages import TenantMessage
from dampwatch_core.models_tenants import ContactChannel, LawfulBasis, Purpose
from dampwatch_core.settings import Settings

#: a winter Tuesday, 10:00 London (= UTC in winter)
MORNING = dt.datetime(2026, 1, 13, 10, 0, tzinfo=dt.UTC)


class Clock:
    """The time the rules and the dispatcher see; the test moves it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # in a thread: no signal handlers
        pass


@dataclass
class World:
    settings: Settings
    sessions: sessionmaker[Session]
    standin: NotifyStandin
    clock: Clock
    cipher: ContactCipher
    desk: MessageDesk
    channel: NotifyChannel
    dispatcher: Dispatcher
    client: TestClient
    tips: TipFindingSink
    cases: CaseDesk
    flats: list[str] = field(default_factory=list)

    def add_tenant(
        self,
        tenant_id: str,
        flat_id: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        address: str | None = "Flat 1|Tower House|Leeds|LS1 1AA",
        consents: Sequence[Purpose] = (Purpose.SMS_TIPS,),
        channel: ContactChannel = ContactChannel.SMS,
    ) -> None:
        record = TenantRecord(
            tenant_id=tenant_id,
            flat_id=flat_id,
            name=f"Tenant {tenant_id}",
            start_date=dt.date(2025, 1, 1),
            end_date=None,
            phone=parse_uk_phone(phone) if phone else None,
            email=email,
            postal_address=address,
            language="en",
            channel=channel,
            consents=tuple(
                ConsentGrant(
                    p, LawfulBasis.CONSENT, dt.datetime(2025, 1, 1, tzinfo=dt.UTC), "paper form"
                )
                for p in consents
            ),
        )
        with self.sessions.begin() as session:
            save_tenant(session, record, self.cipher, actor="tests", now=self.clock())

    def dispatch(self) -> int:
        """Send everything due now; the number of attempts."""
        total = 0
        while True:
            tried = self.dispatcher.run_once()
            total += tried
            if not tried:
                return total

    def messages(self, **where: object) -> list[TenantMessage]:
        with self.sessions() as session:
            query = select(TenantMessage).order_by(TenantMessage.id)
            for key, value in where.items():
                query = query.where(getattr(TenantMessage, key) == value)
            return list(session.scalars(query))

    def inbound(self, phone: str, text: str, at: dt.datetime | None = None) -> dict[str, object]:
        response = self.standin.fire_inbound(phone, text, received_at=at or self.clock())
        assert response.status_code == 200, response.text
        answer: dict[str, object] = response.json()
        return answer


_MIGRATED: dict[str, Path] = {}


def _migrate(database_url: str, tmp: Path) -> None:
    """Migrate; a SQLite store is copied from one migrated once per run (migrating
    takes seconds, the copy milliseconds)."""
    if not database_url.startswith("sqlite:///"):
        migrate(database_url)
        return
    target = Path(database_url.removeprefix("sqlite:///"))
    if "sqlite" not in _MIGRATED:
        template = tmp / "migrated-template.db"
        migrate(f"sqlite:///{template}")
        _MIGRATED["sqlite"] = template
    shutil.copyfile(_MIGRATED["sqlite"], target)


@pytest.fixture
def world(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    _migrate(database_url, tmp_path_factory.getbasetemp())
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    flats = [f"N-{i}" for i in range(1, 21)]
    with sessions.begin() as session:
        for i, flat in enumerate(flats, 1):
            session.add(
                Flat(
                    id=flat,
                    address=f"Flat {i}, Tower House, Leeds",
                    postcode="LS1 1AA",
                    landlord="north",
                )
            )
    service_id, secret = str(uuid.uuid4()), str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in range(3)]
    status_token, inbound_token = uuid.uuid4().hex, uuid.uuid4().hex
    port = free_port()
    key = new_key()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        landlord="north",
        allowed_hosts="testserver,127.0.0.1,localhost",
        tenant_data_keys=key,
        notify_api_key=api_key_for("tests", service_id, secret),
        notify_base_url=f"http://127.0.0.1:{port}",
        notify_sms_template_id=ids[0],
        notify_letter_template_id=ids[1],
        notify_email_template_id=ids[2],
        notify_status_token=status_token,
        notify_inbound_token=inbound_token,
        landlord_name="Northtown Council",
        tenant_report_phone="0113 000 0000",
        tenant_report_web="northtown.example/damp",
        tenant_advice_line="0113 000 0001",
    )
    templates = {
        t["id"]: StandinTemplate(t["id"], t["type"], t["body"], t.get("subject", ""))
        for t in default_templates(ids)
    }
    clock = Clock(MORNING)
    cipher = ContactCipher([key])
    directory = TenantStoreDirectory(cipher)
    desk = MessageDesk(landlord_details(settings), directory)
    cases = CaseDesk(WorkingCalendar.england_and_wales())
    inbox = NotifyInbox(messages=desk, cases=cases, senders=directory, clock=clock)
    app = create_app(settings, notify_callbacks=inbox)
    standin = NotifyStandin(
        service_id=service_id,
        secret=secret,
        templates=templates,
        status_callback_url="http://testserver/api/v1/callbacks/notify/status",
        status_callback_token=status_token,
        inbound_callback_url="http://testserver/api/v1/callbacks/notify/inbound",
        inbound_callback_token=inbound_token,
    )
    server = _Server(
        uvicorn.Config(standin.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the stand-in Notify did not start"
        time.sleep(0.02)
    notifier = NotifyClientNotifier(
        settings.notify_api_key.get_secret_value(),  # type: ignore[union-attr]
        settings.notify_base_url,
    )
    channel = NotifyChannel(sessions, notifier, directory, NotifyTemplates(*ids), clock=clock)
    dispatcher = Dispatcher(
        sessions, channel, channel_name="notify", clock=clock, policy=RetryPolicy(), concurrency=4
    )
    with TestClient(app) as client:
        standin.callback_client = client
        yield World(
            settings=settings,
            sessions=sessions,
            standin=standin,
            clock=clock,
            cipher=cipher,
            desk=desk,
            channel=channel,
            dispatcher=dispatcher,
            client=client,
            tips=TipFindingSink(sessions, desk, clock=clock),
            cases=cases,
            flats=flats,
        )
    dispatcher.close()
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
