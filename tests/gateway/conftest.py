"""Fixtures for the gateway tests (the whole stack is ``stack`` from tests/conftest.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The harness sits next to this file (named so it cannot clash with other test areas).
sys.path.insert(0, str(Path(__file__).parent))

from dampwatch.stack.local import LocalStack, StackPorts


@pytest.fixture
def store_stack(tmp_path: Path, database_url: str) -> Iterator[LocalStack]:
    """The stack (the gateway as a process) on the relational store under test, once
    SQLite and once PostgreSQL."""
    local = LocalStack(
        tmp_path / "stack", StackPorts.free(), database_url=database_url, with_scheduler=False
    )
    local.start()
    yield local
    local.stop()
