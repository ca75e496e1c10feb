"""Fixtures for the dashboard tests: the API tests' harness (a seeded store, the app in
a TestClient or under uvicorn), from tests/api."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
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
