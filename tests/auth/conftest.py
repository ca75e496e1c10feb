"""An app with two landlords' flats and a user and token of every role."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import CaseDesk
from alerting.cases.states import CaseKind, TriggerSource
from backend.auth.passwords import hash_password
from backend.auth.tokens import create_token
from backend.auth.users import add_user
from backend.registry import add_device, add_flat
from dampwatch.stack.ports import free_port
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models_cases import Contractor
from dampwatch_core.settings import Settings

try:  # the app factory above the API and the dashboard
    from backend.app import create_app
except ImportError:  # before it moved there
    from backend.api.app import create_app  # type: ignore[no-redef]

PASSWORD = "a long test password"
#: (role, landlord) of each seeded user; "north" owns N-1, "south" owns S-1
USERS = {
    "admin": ("admin", "north"),
    "officer": ("officer", "north"),
    "analyst": ("analyst", "north"),
    "contractor": ("contractor", "north"),
    "south_officer": ("officer", "south"),
    "south_analyst": ("analyst", "south"),
}


_hash_once = functools.lru_cache(maxsize=16)(hash_password)


@pytest.fixture(autouse=True)
def _hash_each_password_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 is slow by design: the tests hash each password once (same salt), which
    changes nothing they check."""
    monkeypatch.setattr("backend.auth.users.hash_password", _hash_once)


@dataclass
class Estate:
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    def email(self, who: str) -> str:
        return f"{who}@example.org"

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def seed_estate(database_url: str) -> dict[str, str]:
    migrate(database_url)
    engine = make_engine(database_url)
    tokens = {}
    try:
        with make_sessionmaker(engine).begin() as session:
            add_flat(session, "N-1", "1 North Row", block="North Block", landlord="north")
            add_flat(session, "S-1", "1 South Row", block="South Block", landlord="south")
            session.flush()
            add_device(session, "esp32-north0000001", "N-1", "bedroom")
            add_device(session, "esp32-south0000001", "S-1", "bedroom")
            # a case each (DM-000001 north, DM-000002 south), for the case pages
            desk = CaseDesk(WorkingCalendar.england_and_wales())
            now = datetime.now(UTC)
            for flat in ("N-1", "S-1"):
                desk.open_case(
                    session,
                    flat_id=flat,
                    kind=CaseKind.REPAIR,
                    trigger=TriggerSource.SENSOR,
                    aware_at=now,
                    actor="system",
                    now=now,
                    description="test case",
                )
            # the contractor user's organisation (its work orders are its only routes)
            session.add(
                Contractor(name="Acme Damp Ltd", trade="damp_mould",
                           webhook_url="http://127.0.0.1:9/hook",
                           secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            )
            for who, (role, landlord) in USERS.items():
                user = add_user(
                    session,
                    f"{who}@example.org",
                    role,
                    PASSWORD,
                    landlord=landlord,
                    contractor="Acme Damp Ltd" if role == "contractor" else None,
                )
                tokens[who] = create_token(session, user, "test")[1]
    finally:
        engine.dispose()
    return tokens


def make_settings(database_url: str, **extra: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        # nothing listens there: readings answer 503, which is not what these tests check
        "influx_url": f"http://127.0.0.1:{free_port()}",
        "allowed_hosts": "127.0.0.1,localhost",
    }
    return Settings(**(values | extra))  # type: ignore[arg-type]


@pytest.fixture
def estate(database_url: str) -> Estate:
    tokens = seed_estate(database_url)
    return Estate(make_settings(database_url), tokens)


@pytest.fixture
def client(estate: Estate) -> Iterator[TestClient]:
    with TestClient(create_app(estate.settings), base_url="http://127.0.0.1") as c:
        yield c


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match is not None, html
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/") -> int:
    page = client.get("/signin")
    response = client.post(
        "/signin",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": next_path,
        },
        follow_redirects=False,
    )
    return response.status_code
