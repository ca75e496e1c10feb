from __future__ import annotations

import numpy as np

from simulators.flatsim.weather import ColdSnap, default_cold_snap, leeds_weather

JAN_2026 = 1767225600  # 2026-01-01 00:00 UTC


def ts_grid(days: int, start: int = JAN_2026) -> np.ndarray:
    return start + 300 * np.arange(days * 288, dtype=np.int64)


def test_deterministic_from_seed() -> None:
    ts = ts_grid(10)
    a = leeds_weather(ts, seed=3)
    b = leeds_weather(ts, seed=3)
    c = leeds_weather(ts, seed=4)
    assert np.array_equal(a.temp_c, b.temp_c) and np.array_equal(a.rh_pct, b.rh_pct)
    assert not np.array_equal(a.temp_c, c.temp_c)


def test_cold_snap_daily_minimum_below_minus_four() -> None:
    ts = ts_grid(14)
    snap = default_cold_snap(14, 1)
    assert snap is not None
    o = leeds_weather(ts, seed=1, cold_snap=snap)
    daily_min = o.temp_c.reshape(14, 288).min(axis=1)
    assert daily_min.min() < -4.0
    assert o.temp_c.min() >= snap.min_c - 1e-6
    snap_days = slice(int(snap.start_day), int(snap.start_day + snap.days))
    assert daily_min[snap_days].min() < -4.0


def test_january_climatology_is_plausible() -> None:
    """Mean of a January month near the normals (mean of max and min ≈ 4.2 °C)."""
    temps = [leeds_weather(ts_grid(31), seed=s).temp_c.mean() for s in range(8)]
    assert 2.5 < float(np.mean(temps)) < 6.0
    o = leeds_weather(ts_grid(31), seed=0)
    assert 75 < o.rh_pct.mean() < 95
    assert np.all((o.rh_pct > 0) & (o.rh_pct <= 100))


def test_month_override_and_seasons() -> None:
    july = 1782864000  # 2026-07-01
    summer = leeds_weather(ts_grid(20, july), seed=2)
    winter_in_july = leeds_weather(ts_grid(20, july), seed=2, month=1)
    assert summer.temp_c.mean() > winter_in_july.temp_c.mean() + 8


def test_explicit_cold_snap_reaches_its_minimum() -> None:
    o = leeds_weather(ts_grid(10), seed=5, cold_snap=ColdSnap(start_day=3, days=3, min_c=-9.0))
    assert o.temp_c.min() == np.float64(o.temp_c.min())
    assert -9.2 < o.temp_c.min() < -8.5
