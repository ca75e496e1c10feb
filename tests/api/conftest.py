"""Fixtures for the API tests (``database_url`` and ``influxdb`` from tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# The harness sits next to this file (named so it cannot clash with other test areas).
sys.path.insert(0, str(Path(__file__).parent))

from apiharness import (
    client,
    influx_db,
    influx_server,
    live_api,
    seeded_settings,
    sqlite_settings,
)

__all__ = ["client", "influx_db", "influx_server", "live_api", "seeded_settings", "sqlite_settings"]
