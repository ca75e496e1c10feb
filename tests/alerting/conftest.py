"""Fixtures for the cases tests: a migrated store with a few flats, a receiver."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models import Flat

# The receiver sits next to this file (named so it cannot clash with other test areas).
sys.path.insert(0, str(Path(__file__).parent))

# The rules read typed findings (dampwatch_core.findings), which land with the findings
# branch; before that their tests cannot be collected.
collect_ignore = [] if importlib.util.find_spec("dampwatch_core.findings") else ["test_rules.py"]


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated store (SQLite, then PostgreSQL) holding flats F1..F3."""
    migrate(database_url)
    engine = make_engine(database_url)
    maker = make_sessionmaker(engine)
    with maker.begin() as session:
        for n in (1, 2, 3):
            session.add(Flat(id=f"F{n}", address=f"Flat {n}, Example House, Leeds",
                             postcode="LS1 1AA"))
    yield maker
    engine.dispose()
