"""Cases and signed-in users for the dashboard's case tests (named so it cannot clash
with other test areas' helpers)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import CaseDesk
from alerting.cases.states import CaseKind, TriggerSource
from backend.app import create_app
from backend.auth.users import add_user
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models_cases import Contractor, HazardCase
from dampwatch_core.settings import Settings

PASSWORD = "a long dashboard test password"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
DESK = CaseDesk(WorkingCalendar.england_and_wales())


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextmanager
def store(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def add_contractor(session: Session, name: str = "Acme Damp Ltd") -> Contractor:
    c = Contractor(
        name=name,
        trade="damp_mould",
        webhook_url="https://contractor.example/hook",
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        enabled=True,
    )
    session.add(c)
    session.flush()
    return c


def open_case(
    session: Session,
    flat: str,
    *,
    hours_ago: float,
    kind: CaseKind = CaseKind.REPAIR,
    trigger: TriggerSource = TriggerSource.SENSOR,
) -> HazardCase:
    t = now()
    return DESK.open_case(
        session,
        flat_id=flat,
        kind=kind,
        trigger=trigger,
        aware_at=t - dt.timedelta(hours=hours_ago),
        actor="system",
        now=t,
        description=f"{kind.value} test case",
        evidence={"reasons": [{"code": "test", "message": "bedroom wall wet for 41 h"}]},
        risk_level="high",
    )


def add_person(settings: Settings, email: str, role: str, landlord: str = "default") -> None:
    with store(settings) as session:
        add_user(session, email, role, PASSWORD, landlord=landlord)


@contextmanager
def signed_in(
    settings: Settings, email: str, *, case_desk: CaseDesk | None = None
) -> Iterator[TestClient]:
    """A browser-like client (session cookie, no token) signed in as ``email``;
    ``case_desk``: the desk the app's case actions go through (default: a plain one)."""
    with TestClient(
        create_app(settings, case_desk=case_desk),
        base_url="http://127.0.0.1",
        raise_server_exceptions=False,
    ) as c:
        page = c.get("/signin")
        r = c.post(
            "/signin",
            data={
                "email": email,
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": "/",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:300]
        yield c


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m is not None, html[:500]
    return m.group(1)


def act(c: TestClient, reference: str, action: str, **fields: str) -> tuple[int, str]:
    """Post one action from the case page's own form (with its CSRF token)."""
    page = c.get(f"/cases/{reference}")
    assert page.status_code == 200, page.text[:300]
    r = c.post(
        f"/cases/{reference}/actions",
        data={"csrf_token": csrf_of(page.text), "action": action, **fields},
        follow_redirects=False,
    )
    return r.status_code, r.text
