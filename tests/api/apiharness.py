"""Shared by the API and dashboard tests: a seeded relational store, the app in a
TestClient or served by uvicorn on a free port (named so it cannot clash with other
test areas' helpers)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth.users import add_user, find_user
from backend.registry import add_device, add_flat
from dampwatch.stack.influxdb import InfluxDB
from dampwatch.stack.ports import free_port
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.influx import InfluxClient, format_line
from dampwatch_core.models import RISK_LEVELS, FlatRisk, QuarantinedMessage, RiskAssessment
from dampwatch_core.settings import Settings

#: the admin every seeded store has (pages sign in as them, the API uses their tokens)
ADMIN_EMAIL = "api-tests@example.org"
ADMIN_PASSWORD = "a long test password"

BLOCKS = ("Lindsey Court", "Ash & Oak House")


def assess(
    session, flat_id: str, damp: str, cold: str, reasons: list[str], score: float = 1.0
) -> None:  # type: ignore[no-untyped-def]
    """A risk assessment as the scoring job would leave it (history row + ranking row)."""
    now = datetime.now(UTC)
    a = RiskAssessment(
        flat_id=flat_id,
        assessed_at=now,
        period_start=now - timedelta(days=7),
        period_end=now,
        damp_level=damp,
        cold_level=cold,
        score=score,
        reasons=[{"code": "test", "message": m} for m in reasons],
        flags=[],
        rooms=[{"room": "bedroom", "surface_rh_pct": 81.5}],
        thresholds_version="test-1",
    )
    session.add(a)
    session.flush()
    session.merge(
        FlatRisk(
            flat_id=flat_id,
            assessment_id=a.id,
            assessed_at=now,
            damp_level=damp,
            cold_level=cold,
            rank=max(RISK_LEVELS.index(damp), RISK_LEVELS.index(cold)),
            score=score,
        )
    )


def seed(database_url: str) -> None:
    """A small estate: flats in two blocks (one not assessed), devices, quarantine."""
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            add_user(session, ADMIN_EMAIL, "admin", ADMIN_PASSWORD)
            add_flat(session, "A-1", "1 Lindsey Court", block=BLOCKS[0], floor=1)
            add_flat(session, "B-2", "2 Lindsey Court", block=BLOCKS[0], postcode="LS9 7AA")
            add_flat(session, "C-3", "3 Ash & Oak House", block=BLOCKS[1])
            session.flush()
            add_device(session, "esp32-aaaa00000001", "A-1", "bedroom")
            add_device(session, "esp32-bbbb00000002", "B-2", "bedroom")
            add_device(session, "esp32-bbbb00000003", "B-2", "kitchen")
            session.flush()
            assess(session, "A-1", "low", "none", ["RH over 70 % for 20 h"], score=0.4)
            assess(session, "B-2", "high", "medium", ["Surface RH ≥ 80 % for 41 h"], score=2.5)
            for reason, device in (("not_json", "esp32-bbbb00000002"), ("out_of_range", None)):
                session.add(
                    QuarantinedMessage(
                        topic=f"dampwatch/v1/dev/{device or 'x'}/telemetry",
                        device_id=device,
                        reason=reason,
                        detail=f"a {reason} payload",
                        payload=b"{not json",
                    )
                )
    finally:
        engine.dispose()


def write_readings(settings: Settings, flat: str, device: str, room: str, times: range) -> None:
    """Raw readings straight into InfluxDB, as the gateway writes them."""
    lines = [
        format_line(
            "climate",
            {"device": device, "flat": flat, "room": room, "landlord": "default"},
            {"temp_c": 18.0 + (t % 7) / 10, "rh_pct": 60.0 + (t % 11), "surface_c": 15.5},
            t,
        )
        for t in times
    ]
    with InfluxClient(settings.influx_url, settings.influx_database) as client:
        for k in range(0, len(lines), 5000):
            client.write_lines(lines[k : k + 5000])


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    """One InfluxDB for the API tests; each test gets its own database in it."""
    server = InfluxDB(tmp_path_factory.mktemp("api-influxdb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influx_db(influx_server: InfluxDB) -> tuple[str, str]:
    """(URL, database) of a fresh, empty InfluxDB database."""
    name = f"dw_{uuid.uuid4().hex[:12]}"
    with InfluxClient(influx_server.url, name) as client:
        client.create_database()
    return influx_server.url, name


@pytest.fixture
def seeded_settings(database_url: str, influx_db: tuple[str, str]) -> Settings:
    seed(database_url)
    return Settings(
        database_url=database_url, influx_url=influx_db[0], influx_database=influx_db[1]
    )


@pytest.fixture
def sqlite_settings(tmp_path: Path, influx_db: tuple[str, str]) -> Settings:
    """The seeded estate on SQLite, for tests about InfluxDB alone."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    seed(url)
    return Settings(database_url=url, influx_url=influx_db[0], influx_database=influx_db[1])


def admin_headers(database_url: str) -> dict[str, str]:
    """``Authorization`` with a new API token of an admin (who sees every landlord)."""
    from backend.auth.tokens import create_token

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            admin = find_user(session, ADMIN_EMAIL) or add_user(
                session, ADMIN_EMAIL, "admin", ADMIN_PASSWORD
            )
            token = create_token(session, admin, "tests")[1]
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(seeded_settings: Settings) -> Iterator[TestClient]:
    with TestClient(
        create_app(seeded_settings),
        raise_server_exceptions=False,
        base_url="http://127.0.0.1",
        headers=admin_headers(seeded_settings.database_url),
    ) as c:
        yield c


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    #: ``Authorization`` of an admin's API token (set by the fixtures that seed a store)
    headers: dict[str, str] = field(default_factory=dict)


def serve(app: FastAPI) -> Iterator[LiveServer]:
    """``app`` under uvicorn on a free port in a thread, until the generator is closed."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 20 s")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_api(seeded_settings: Settings) -> Iterator[LiveServer]:
    for server in serve(create_app(seeded_settings)):
        server.headers = admin_headers(seeded_settings.database_url)
        yield server


def sign_in_page(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    """Sign a Playwright page in as the seeded admin, through the sign-in form."""
    page.goto(base_url + "/signin")
    page.fill("#email", ADMIN_EMAIL)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#signin button[type=submit]")
    page.wait_for_url(base_url + "/")
