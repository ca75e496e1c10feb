"""The Alembic migrations build exactly the schema the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dampwatch_core import models_auth  # noqa: F401  (its tables join Base.metadata)
from dampwatch_core.db import make_engine, migrate
from dampwatch_core.models import Base


def test_migrations_match_models(database_url: str) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
