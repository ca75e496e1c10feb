"""Incremental scoring equals one run on everything it produces: each device's carried
state and daily buckets, each flat's levels, score, reasons, flags and room figures,
also when the scheduler restarts part-way (a new process: new engine and sessions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.scoring import score_estate
from dampwatch.stack.influxdb import InfluxDB
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.influx import InfluxClient
from dampwatch_core.models import FlatRisk, RiskAssessment, ScoringState

from .test_scoring import DAY0, registered, write  # type: ignore[import-not-found]


def _devices(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    with sessions() as s:
        return {
            r.device_id: {
                "last_ts": r.last_ts,
                "state": dict(r.state),
                "buckets": np.frombuffer(r.buckets or b"", dtype=np.float32).copy(),
            }
            for r in s.query(ScoringState)
        }


def _flats(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    with sessions() as s:
        out = {}
        for risk in s.query(FlatRisk):
            latest = s.get(RiskAssessment, risk.assessment_id)
            assert latest is not None
            out[risk.flat_id] = {
                "levels": (risk.damp_level, risk.cold_level, risk.rank),
                "score": risk.score,
                "latest": (latest.damp_level, latest.cold_level, latest.score),
                "reasons": latest.reasons,
                "flags": latest.flags,
                "rooms": latest.rooms,
            }
        return out


def _same(a: Any, b: Any, where: str) -> None:
    """Equal, floats to float32 precision (sums over different run splits)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.shape == b.shape, where
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4, err_msg=where)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6), where
    else:
        assert a == b, where


def test_incremental_equals_one_run_across_a_restart(
    database_url: str, influxdb: InfluxDB, tmp_path: Path
) -> None:
    with InfluxClient(influxdb.url, influxdb.database) as influx:
        write(influx, DAY0, DAY0 + 3 * 86400)
        sessions = registered(database_url)
        # every 12 h over three days: two runs land in each day, so a day's buckets are
        # built by two runs; the "scheduler" restarts after the third run
        hours = range(24, 3 * 24 + 1, 12)
        for n, hour in enumerate(hours):
            if n == 3:
                sessions.kw["bind"].dispose()
                sessions = make_sessionmaker(make_engine(database_url))
            score_estate(sessions, influx, now=DAY0 + hour * 3600)
        incremental = (_devices(sessions), _flats(sessions))

        one = registered(f"sqlite:///{tmp_path / 'one.db'}")
        score_estate(one, influx, now=DAY0 + 3 * 86400)
        single = (_devices(one), _flats(one))

    assert single[1]["DAMP-1"]["levels"][0] == "medium"  # the data is not trivially calm
    assert single[1]["COLD-1"]["levels"][1] == "high"
    _same(incremental[0], single[0], "devices")
    _same(incremental[1], single[1], "flats")
