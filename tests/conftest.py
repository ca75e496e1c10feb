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
from dampwatch.stack.postgres import PostgreSQL
from dampwatch_core.errors import ConfigError


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


#: An existing server to use instead of the tests' own cluster (its maintenance
#: database's URL, e.g. postgresql+psycopg://postgres:pw@127.0.0.1:5432/postgres).
PG_URL_ENV = "DAMPWATCH_TEST_PG_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_part(reason: str) -> None:
    """A part the machine lacks: under CI the test fails, since nothing CI is meant to
    prove may be skipped; elsewhere it is skipped with the reason."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}; ./setup.sh installs it", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI a skip is a failure: a skipped case proves nothing and stays green."""
    report: pytest.TestReport = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must not skip: {reason}"
    return report  # type: ignore[return-value]


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """The maintenance database of a PostgreSQL cluster the tests start themselves (in
    a temp dir, on a free port, once per session), or of ``$DAMPWATCH_TEST_PG_URL``."""
    external = os.environ.get(PG_URL_ENV)
    if external:
        yield external
        return
    try:
        server = PostgreSQL()
    except ConfigError as exc:
        missing_part(str(exc))
        return
    try:
        server.start()
    except Exception as exc:
        server.stop()
        pytest.fail(f"the tests' PostgreSQL did not start: {exc}\n{server.log_tail()}")
    try:
        yield server.admin_url
    finally:
        server.stop()


def _postgres_database(admin_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"dampwatch_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
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
        yield from _postgres_database(request.getfixturevalue("postgres_admin_url"))


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


# -- no phone number in any log line of the run ---------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from logcheck import install

    install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The whole run's log lines are checked once it is over (whatever ran last)."""
    from logcheck import install, phone_lines

    found = phone_lines(install().lines)
    if found:
        print(f"\n{len(found)} log line(s) hold a phone number, e.g.: {found[0][:200]!r}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
