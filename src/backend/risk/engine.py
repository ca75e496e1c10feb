"""The scoring engine: metrics for many rooms at once, on a regular time grid, in
daily buckets that add up, with the mould index carried between runs.

A run takes a :class:`ClimateGrid` (``n`` room series × ``m`` steps, NaN where there is
no reading) and the :class:`SeriesState` the previous run left, and returns
:class:`DailyMetrics` (``n × days × fields``, additive except ``mould_max`` and
``mould_end``) and the new state. A window's metrics are the sum of its days, so the
scheduled job keeps a few days of buckets per room and reads only new data.

Physics runs on hourly means (the VTT model is hourly; surface conditions are
sustained quantities), counts of thresholds on the full-resolution samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from backend.risk.heating import OCCUPIED_HOURS, cooling_time_constant_regression, local_hour
from backend.risk.mould import MATERIALS, MaterialClass, mould_index
from backend.risk.psychrometrics import dew_point
from backend.risk.surfaces import surface_relative_humidity, surface_temperature

__all__ = [
    "FIELDS",
    "ClimateGrid",
    "DailyMetrics",
    "EngineParams",
    "SeriesState",
    "score_grid",
]

F64 = NDArray[np.float64]

#: Fields of a daily bucket, in order. ``*_h`` are time integrals (value·hours) or hours.
FIELDS: Final = (
    "hours",  # hours with an air reading
    "temp_h",  # Σ temp·h
    "rh_h",  # Σ RH·h
    "dew_h",  # Σ dew point·h
    "rh70_h",  # hours with air RH > 70 %
    "surf_hours",  # hours with a surface estimate (probe, or f_Rsi with outdoor)
    "surf80_h",  # hours with surface RH ≥ 80 %
    "cond_h",  # hours with the surface at or below the dew point
    "occ_hours",  # occupied hours with a reading (all hours if windows don't apply)
    "below18_h",  # occupied hours below 18 °C
    "below16_h",  # occupied hours below 16 °C
    "dh18",  # occupied degree-hours below 18 °C
    "spikes",  # humidity rises of ≥ 5 points within 30 min (occupancy signature)
    "jumps",  # impossible steps (> 5 °C or > 40 % RH between adjacent samples)
    "flat_h",  # hours in which temperature and RH did not change at all
    "implausible_h",  # hours indoors below 0 °C or above 45 °C
    "outdoor_h",  # Σ outdoor temp·h
    "outdoor_hours",
    "mould_max",  # max mould index in the day (not additive)
    "mould_end",  # mould index at the day's last hour with data (not additive)
)
IDX: Final = {name: i for i, name in enumerate(FIELDS)}


@dataclass(frozen=True)
class EngineParams:
    """Physical choices of a run (defaults from ``shared/science.md``)."""

    material: MaterialClass = "s"
    decline: float = 0.25
    occupied_only: bool = True
    spike_rise_pct: float = 5.0
    spike_window_s: int = 1800
    jump_temp_c: float = 5.0
    jump_rh_pct: float = 40.0


@dataclass
class ClimateGrid:
    """Readings of ``n`` room series on a common grid of ``m`` steps.

    ``start`` is a multiple of 3600 and ``step_s`` divides 3600; ``m`` is a multiple
    of the steps per hour. ``outdoor_c`` is ``(m,)`` or ``(n, m)``; ``surface_c`` holds
    probe readings (NaN where none). ``rh_max_pct`` (optional, hourly grids): the
    highest RH in each step, to see short spikes hidden by the mean.
    """

    start: int
    step_s: int
    temp_c: F64
    rh_pct: F64
    rooms: list[str]
    f_rsi: F64
    surface_c: F64 | None = None
    outdoor_c: F64 | None = None
    rh_max_pct: F64 | None = None

    def __post_init__(self) -> None:
        if self.start % 3600 or 3600 % self.step_s:
            raise ValueError("grid must start on the hour with a step dividing 3600 s")
        n, m = self.temp_c.shape
        if m % (3600 // self.step_s):
            raise ValueError("grid length must be whole hours")
        if self.rh_pct.shape != (n, m) or len(self.rooms) != n or self.f_rsi.shape != (n,):
            raise ValueError("grid arrays disagree in shape")

    @property
    def n(self) -> int:
        return int(self.temp_c.shape[0])

    @property
    def hours(self) -> int:
        return int(self.temp_c.shape[1] * self.step_s // 3600)


@dataclass
class SeriesState:
    """Carried between runs: mould index and hours since the dry spell began."""

    mould: F64
    dry_hours: F64

    @classmethod
    def new(cls, n: int) -> SeriesState:
        return cls(np.zeros(n), np.zeros(n))


@dataclass
class DailyMetrics:
    """``values[series, day, field]`` for UTC days starting at ``day_starts``."""

    day_starts: NDArray[np.int64]
    values: F64
    cooling_tau_h: F64 = field(default_factory=lambda: np.zeros(0))

    def total(self, name: str) -> F64:
        """The field summed over all days (max for ``mould_max``)."""
        v = self.values[..., IDX[name]]
        if name == "mould_max":
            return np.asarray(np.nanmax(np.where(np.isnan(v), -np.inf, v), axis=-1))
        return np.asarray(np.nansum(v, axis=-1))


def _hourly_mean(a: F64, k: int) -> tuple[F64, F64]:
    """(mean, hours covered) per hour of a ``(n, m)`` grid with ``k`` steps per hour."""
    n, m = a.shape
    blocks = a.reshape(n, m // k, k)
    ok = np.isfinite(blocks)
    count = ok.sum(axis=2)
    total = np.where(ok, blocks, 0.0).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    return mean, count / k


def _occupied(grid: ClimateGrid, ts: NDArray[np.int64], params: EngineParams) -> NDArray[np.bool_]:
    shape = (grid.n, ts.size)
    if not params.occupied_only:
        return np.ones(shape, dtype=bool)
    hour = local_hour(ts)
    masks: dict[str, NDArray[np.bool_]] = {}
    out = np.ones(shape, dtype=bool)
    for i, room in enumerate(grid.rooms):
        window = OCCUPIED_HOURS.get(room)
        if window is None:
            continue
        if room not in masks:
            s, e = window
            masks[room] = (hour >= s) & (hour < e) if s < e else (hour >= s) | (hour < e)
        out[i] = masks[room]
    return out


def score_grid(
    grid: ClimateGrid, state: SeriesState | None = None, params: EngineParams | None = None
) -> tuple[DailyMetrics, SeriesState]:
    """Score every series of ``grid``; see the module docstring."""
    params = params or EngineParams()
    state = state or SeriesState.new(grid.n)
    k = 3600 // grid.step_s
    n, m = grid.temp_c.shape
    hours = m // k
    temp_raw = np.asarray(grid.temp_c, dtype=np.float32)
    rh_raw = np.asarray(grid.rh_pct, dtype=np.float32)
    ones = np.ones(k, dtype=np.float32)

    def hour_sum(x: NDArray[np.float32]) -> F64:
        """Per-hour sums by a matrix product (far faster than a short-axis reduce)."""
        return np.asarray((x.reshape(n * hours, k) @ ones).reshape(n, hours), dtype=np.float64)

    has_gaps = bool(np.isnan(temp_raw.sum()) or np.isnan(rh_raw.sum()))
    if has_gaps:
        valid = np.isfinite(temp_raw) & np.isfinite(rh_raw)
        temp_z = np.where(valid, temp_raw, np.float32(0))
        rh_z = np.where(valid, rh_raw, np.float32(0))
        count = hour_sum(valid.astype(np.float32))
    else:
        temp_z, rh_z = temp_raw, rh_raw
        count = np.full((n, hours), float(k))
    hours_cov = count / k
    with np.errstate(invalid="ignore", divide="ignore"):
        temp_h = np.where(count > 0, hour_sum(temp_z) / count, np.nan)
        rh_h = np.where(count > 0, hour_sum(rh_z) / count, np.nan)
    # occupancy windows are whole local hours, so they apply to hourly values
    hour_ts = grid.start + 3600 * np.arange(hours, dtype=np.int64)
    occ = _occupied(grid, hour_ts, params) & (count > 0)
    occ_hours = np.where(occ, hours_cov, 0.0)
    rh70 = np.where(rh_h > 70.0, hours_cov, 0.0)
    below18 = np.where(occ & (temp_h < 18.0), hours_cov, 0.0)
    below16 = np.where(occ & (temp_h < 16.0), hours_cov, 0.0)
    dh18 = np.where(occ, np.maximum(18.0 - temp_h, 0.0) * hours_cov, 0.0)
    implausible = np.where((temp_h < 0.0) | (temp_h > 45.0), hours_cov, 0.0)

    # within-hour shape from the full-resolution samples: spikes, flatlines, jumps
    with np.errstate(invalid="ignore"):
        if k > 1:
            step_t = np.empty((n, hours * k), dtype=np.float32)
            step_t[:, 0] = 0.0
            np.subtract(temp_raw[:, 1:], temp_raw[:, :-1], out=step_t[:, 1:])
            np.abs(step_t, out=step_t)
            jumps = hour_sum((step_t > params.jump_temp_c).astype(np.float32))  # NaN: False
            del step_t
            w = max(1, params.spike_window_s // grid.step_s)
            rise = np.zeros((n, hours * k), dtype=np.float32)
            np.subtract(rh_raw[:, w:], rh_raw[:, :-w], out=rise[:, w:])
            spike = hour_sum((rise >= params.spike_rise_pct).astype(np.float32)) > 0
            del rise
        else:
            rh_max_grid = grid.rh_max_pct.reshape(n, hours) if grid.rh_max_pct is not None else rh_h
            spike = (rh_max_grid - rh_h) >= params.spike_rise_pct
            jumps = np.zeros((n, hours))
            jumps[:, 1:] = np.abs(np.diff(temp_h, axis=1)) > params.jump_temp_c
    spikes = spike.astype(np.float64)
    # a stuck sensor repeats its readings, so its hourly means repeat exactly
    flat = np.zeros((n, hours), dtype=bool)
    flat[:, 1:] = (temp_h[:, 1:] == temp_h[:, :-1]) & (rh_h[:, 1:] == rh_h[:, :-1])
    dew = dew_point(temp_h, rh_h)

    outdoor_h: F64 | None = None
    if grid.outdoor_c is not None:
        od = np.asarray(grid.outdoor_c, dtype=np.float64)
        if od.ndim == 1:
            outdoor_h = np.broadcast_to(_hourly_mean(od[None, :], k)[0], (n, hours))
        else:
            outdoor_h, _ = _hourly_mean(od, k)
    surface_h = np.full((n, hours), np.nan)
    if outdoor_h is not None:
        surface_h = surface_temperature(temp_h, outdoor_h, grid.f_rsi[:, None])
    if grid.surface_c is not None:
        probe_h, _ = _hourly_mean(grid.surface_c, k)
        surface_h = np.where(np.isfinite(probe_h), probe_h, surface_h)
    with np.errstate(invalid="ignore"):
        surf_rh = surface_relative_humidity(temp_h, rh_h, surface_h)
        cond = surface_h <= dew
    surf_ok = np.isfinite(surf_rh)
    # The index can only move where it is above 0 or growth is possible (surface RH at
    # or above the class's RH_min); elsewhere it stays 0 and the dry spell lengthens.
    # Integrating only the active series is exact and makes a healthy estate cheap.
    rh_floor = MATERIALS[params.material].rh_min
    with np.errstate(invalid="ignore"):
        active = (state.mould > 0) | np.any(surf_ok & (surf_rh >= rh_floor), axis=1)
    mould_traj = np.where(surf_ok, 0.0, np.nan)
    mould_final = np.zeros(n)
    dry_final = state.dry_hours + surf_ok.sum(axis=1)
    if active.any():
        traj_a, final_a, dry_a = mould_index(
            np.where(surf_ok[active], surface_h[active], np.nan),
            np.where(surf_ok[active], surf_rh[active], np.nan),
            material=params.material,
            decline=params.decline,
            m0=state.mould[active],
            dry_hours0=state.dry_hours[active],
        )
        mould_traj[active] = traj_a
        mould_final[active] = final_a
        dry_final[active] = dry_a
    # hours without a surface estimate carry no mould information
    mould_traj = np.where(surf_ok, mould_traj, np.nan)

    hourly = np.zeros((len(FIELDS), n, hours))
    hourly[IDX["hours"]] = hours_cov
    hourly[IDX["temp_h"]] = np.nan_to_num(temp_h) * hours_cov
    hourly[IDX["rh_h"]] = np.nan_to_num(rh_h) * hours_cov
    hourly[IDX["dew_h"]] = np.nan_to_num(dew) * hours_cov
    hourly[IDX["rh70_h"]] = rh70
    hourly[IDX["surf_hours"]] = np.where(surf_ok, hours_cov, 0.0)
    hourly[IDX["surf80_h"]] = np.where(surf_ok & (surf_rh >= 80.0), hours_cov, 0.0)
    hourly[IDX["cond_h"]] = np.where(surf_ok & cond, hours_cov, 0.0)
    hourly[IDX["occ_hours"]] = occ_hours
    hourly[IDX["below18_h"]] = below18
    hourly[IDX["below16_h"]] = below16
    hourly[IDX["dh18"]] = dh18
    hourly[IDX["spikes"]] = spikes
    hourly[IDX["jumps"]] = jumps
    hourly[IDX["flat_h"]] = flat
    hourly[IDX["implausible_h"]] = implausible
    if outdoor_h is not None:
        o_ok = np.isfinite(outdoor_h)
        hourly[IDX["outdoor_h"]] = np.where(o_ok, outdoor_h, 0.0)
        hourly[IDX["outdoor_hours"]] = o_ok.astype(np.float64)

    # ---- daily buckets (UTC days)
    day = hour_ts // 86400
    day_ids, first = np.unique(day, return_index=True)
    values = np.add.reduceat(hourly, first, axis=2)
    with np.errstate(invalid="ignore"):
        mmax = np.fmax.reduceat(np.where(np.isnan(mould_traj), -np.inf, mould_traj), first, axis=1)
    values[IDX["mould_max"]] = np.where(np.isinf(mmax), np.nan, mmax)
    ends = np.append(first[1:], hours) - 1
    mould_end = np.where(np.isfinite(mould_traj[:, ends]), 0.0, np.nan)
    if active.any():
        mould_end[active] = _last_finite(mould_traj[active])[:, ends]
    mould_end = np.where(state.mould[:, None] > 0, np.nan_to_num(mould_end), mould_end)
    values[IDX["mould_end"]] = mould_end

    tau = np.full(n, np.nan)
    if outdoor_h is not None and hours >= 6:
        tau = cooling_time_constant_regression(temp_h, outdoor_h, 1.0)
    return (
        DailyMetrics(
            day_starts=day_ids * 86400,
            values=np.ascontiguousarray(np.moveaxis(values, 0, -1)),
            cooling_tau_h=tau,
        ),
        SeriesState(np.asarray(mould_final), np.asarray(dry_final)),
    )


def _last_finite(a: F64) -> F64:
    """Forward-fill NaNs along the last axis (NaN until the first finite value)."""
    n, h = a.shape
    idx = np.where(np.isfinite(a), np.arange(h)[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = a[np.arange(n)[:, None], idx]
    seen = np.maximum.accumulate(np.isfinite(a), axis=1)
    return np.asarray(np.where(seen, out, np.nan))
