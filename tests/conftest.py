"""Fixtures that start real services on free ports in each test's own temp dir."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dampwatch.stack.influxdb import InfluxDB
from dampwatch.stack.local import LocalStack, StackPorts
from dampwatch.stack.mosquitto import Mosquitto

PG_ADMIN_URL = os.environ.get(
    "DAMPWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    server = InfluxDB(tmp_path / "influxdb")
    server.start()
    yield server
    server.stop()


def _postgres_database() -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"dampwatch_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}: {exc.orig}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty relational store: once SQLite, once PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        yield from _postgres_database()


class AuthedStack(LocalStack):
    """The local stack, and an API token of its first admin in ``api_headers``."""

    api_headers: dict[str, str]


def admin_api_headers(database_url: str) -> dict[str, str]:
    """``Authorization`` for a new API token of the stack's first admin."""
    from backend.auth.bootstrap import FIRST_ADMIN_EMAIL
    from backend.auth.tokens import create_token
    from backend.auth.users import find_user
    from dampwatch_core.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            admin = find_user(session, FIRST_ADMIN_EMAIL)
            assert admin is not None, "the stack made no first admin"
            token = create_token(session, admin, "tests")[1]
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[AuthedStack]:
    """The whole local stack (no scheduler) on free ports."""
    local = AuthedStack(tmp_path / "stack", StackPorts.free(), with_scheduler=False)
    local.start()
    local.api_headers = admin_api_headers(local.database_url)
    yield local
    local.stop()
