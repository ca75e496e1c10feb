"""Engine, sessions and migrations of the relational store (SQLite or PostgreSQL).

Migrations are serialised: on PostgreSQL by a session-level advisory lock, on SQLite by
an exclusive lock on a file next to the database, so that services started at once on
a fresh database do not race to create the same tables (each finds the schema at head
once it holds the lock, and does nothing).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, pool, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dampwatch_core.errors import ConfigError, ServiceUnavailable

__all__ = [
    "MIGRATION_LOCK_ID",
    "describe_url",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "normalise_url",
    "require_database",
]

#: Key of the PostgreSQL advisory lock held while migrating ("DampWatch" in ASCII).
MIGRATION_LOCK_ID = 0x44616D7057617463


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # the WAL file is cut back to 64 MB after a checkpoint (a large scoring run grows it)
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


#: JSON columns (assessment reasons and rooms, scoring state) are written compactly:
#: no spaces, UTF-8 as it is ("≥", "°C"), no check for cycles in plain data.
_json_dumps = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, check_circular=False
).encode


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"database URL {url!r} is invalid: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10}, json_serializer=_json_dumps)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=_json_dumps)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def describe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:
        return "(an invalid database URL)"


def _sqlite_path(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def require_database(url: str) -> None:
    """Raise :class:`ConfigError` when ``url`` is a SQLite file that does not exist,
    so that a command run in the wrong place does not quietly start an empty store."""
    path = _sqlite_path(make_url(normalise_url(url)))
    if path is not None and not path.exists():
        raise ConfigError(
            f"no DampWatch database at {path}: start `dampwatch up` (or run "
            "`dampwatch migrate` to create one there), or set DAMPWATCH_DATABASE_URL"
        )


def unreachable(url: str, exc: OperationalError) -> ServiceUnavailable:
    """The one-line error for a relational store that cannot be reached or opened."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return ServiceUnavailable(
        f"cannot reach the relational store at {describe_url(url)} ({reason}): start it, "
        "or set DAMPWATCH_DATABASE_URL"
    )


@contextlib.contextmanager
def _migration_lock(url: URL) -> Iterator[Connection | None]:
    """Hold the migration lock; on PostgreSQL yields the connection that holds it."""
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.with_name(path.name + ".migrate-lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield None
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    if url.get_backend_name() != "postgresql":
        yield None
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_ID})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_ID})
                conn.commit()
    finally:
        engine.dispose()


def migrate(url: str, revision: str = "head", *, downgrade: bool = False) -> None:
    """Bring the schema at ``url`` to ``revision`` with Alembic (up, or down when
    ``downgrade``), holding the migration lock; Alembic's INFO lines are not shown
    (``-v`` shows them)."""
    from alembic import command
    from alembic.config import Config

    normalised = normalise_url(url)
    try:
        parsed = make_url(normalised)
    except Exception as exc:
        raise ConfigError(f"database URL {describe_url(url)} is invalid: {exc}") from None
    cfg = Config()
    cfg.set_main_option("script_location", str(files("dampwatch_core") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalised.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    quiet = not logging.getLogger().isEnabledFor(logging.DEBUG)
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    if quiet:
        alembic_log.setLevel(logging.WARNING)
    _check_reachable(parsed, url)
    try:
        with _migration_lock(parsed) as conn:
            if conn is not None:
                cfg.attributes["connection"] = conn
            if downgrade:
                command.downgrade(cfg, revision)
            else:
                command.upgrade(cfg, revision)
            if conn is not None:
                conn.commit()
    finally:
        alembic_log.setLevel(level)


def _check_reachable(parsed: URL, url: str) -> None:
    """Raise the one-line :class:`ServiceUnavailable` when the store cannot be opened."""
    path = _sqlite_path(parsed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, poolclass=pool.NullPool)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise unreachable(url, exc) from None
    finally:
        engine.dispose()
