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
from backend.risk.psychrometrics import dew_point, vapour_pressure
from backend.risk.surfaces import surface_relative_humidity, surface_temperature
from backend.risk.thresholds import MetricLimits, load_thresholds

__all__ = [
    "FIELDS",
    "ClimateGrid",
    "DailyMetrics",
    "EngineParams",
    "SeriesState",
    "lagged_outdoor",
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
    "surf_rh_h",  # Σ surface RH·h (the time-averaged surface RH of ISO 13788)
    "occ_temp_h",  # Σ occupied temp·h
    "vpx_h",  # Σ (indoor − outdoor vapour pressure)·h [Pa·h]
    "vpx_hours",  # hours with indoor and outdoor vapour pressure
    "slow_clear_h",  # hours with air RH > the air limit for the 3rd hour running or more
    "mould_max",  # max mould index in the day (not additive)
    "mould_end",  # mould index at the day's last hour with data (not additive)
)
IDX: Final = {name: i for i, name in enumerate(FIELDS)}


@dataclass(frozen=True)
class EngineParams:
    """Physical choices of a run (defaults and their sources in ``backend/risk/README.md``)."""

    material: MaterialClass = "s"
    decline: float = 0.25
    occupied_only: bool = True
    spike_window_s: int = 1800
    #: time constant [h] of the outdoor temperature's lag for the surface estimate (the
    #: wall's thermal mass; ISO 13788 applies f_Rsi to monthly means); 0: hourly values
    outdoor_lag_h: float = 48.0
    #: the limits hours are counted against (``[metrics]`` of the thresholds)
    limits: MetricLimits = field(default_factory=lambda: load_thresholds().metrics)


@dataclass
class ClimateGrid:
    """Readings of ``n`` room series on a common grid of ``m`` steps.

    ``start`` is a multiple of 3600 and ``step_s`` divides 3600; ``m`` is a multiple
    of the steps per hour. ``outdoor_c`` is ``(m,)`` or ``(n, m)``; ``surface_c`` holds
    probe readings (NaN where none). ``rh_max_pct`` (optional, hourly grids): the
    highest RH in each step, to see short spikes hidden by the mean. ``outdoor_rh``
    (optional, the shape of ``outdoor_c``): outdoor RH, for the vapour-pressure excess.
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
    outdoor_rh: F64 | None = None

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
    """Carried between runs: mould index, hours since the dry spell began, and the
    lagged outdoor temperature (NaN: not known yet, started from the first hour)."""

    mould: F64
    dry_hours: F64
    outdoor_lag: F64 | None = None
    #: hours the air RH has been over the air limit without a break, at the end
    humid_run: F64 | None = None

    @classmethod
    def new(cls, n: int) -> SeriesState:
        return cls(np.zeros(n), np.zeros(n), np.full(n, np.nan), np.zeros(n))

    def run(self) -> F64:
        """The humid run per series (0 where not carried)."""
        if self.humid_run is None:
            return np.zeros(self.mould.shape)
        return np.asarray(self.humid_run, dtype=np.float64)

    def lag(self) -> F64:
        """The lagged outdoor temperature per series (NaN where unknown)."""
        if self.outdoor_lag is None:
            return np.full(self.mould.shape, np.nan)
        return np.asarray(self.outdoor_lag, dtype=np.float64)


def humid_runs(over: NDArray[np.bool_], carried: F64) -> F64:
    """Length [h] of the unbroken run of ``over`` hours up to and including each hour
    (0 where not over), ``(n, hours)``; the run ``carried`` from the previous run
    continues one that the grid starts inside."""
    counts = np.cumsum(over, axis=1, dtype=np.float64)
    base = np.maximum.accumulate(np.where(over, 0.0, counts), axis=1)
    runs = counts - base
    unbroken = np.logical_and.accumulate(over, axis=1)
    runs += np.where(unbroken, carried[:, None], 0.0)
    return np.where(over, runs, 0.0)


def lagged_outdoor(outdoor_h: F64, lag_h: float, start: F64) -> tuple[F64, F64]:
    """The outdoor temperature seen through a first-order lag of ``lag_h`` hours
    (an exponential moving mean, as a wall's thermal mass responds), hour by hour:
    ``y[k] = y[k−1] + α·(x[k] − y[k−1])``, ``α = 1 − exp(−1/lag_h)``, from ``start``
    (NaN: from the first finite hour); gaps hold the last value. ``outdoor_h`` is
    ``(..., hours)``; returns the lagged series and its last value."""
    x = np.asarray(outdoor_h, dtype=np.float64)
    if lag_h <= 0:
        last = np.asarray(start, dtype=np.float64).copy()
        for k in range(x.shape[-1]):
            last = np.where(np.isfinite(x[..., k]), x[..., k], last)
        return x, last
    alpha = 1.0 - float(np.exp(-1.0 / lag_h))
    y = np.broadcast_to(np.asarray(start, dtype=np.float64), x.shape[:-1]).copy()
    out = np.empty(x.shape)
    xt = np.moveaxis(x, -1, 0)
    ot = np.moveaxis(out, -1, 0)
    for k in range(xt.shape[0]):
        xk = xt[k]
        ok = np.isfinite(xk)
        y = np.where(ok, np.where(np.isfinite(y), y + alpha * (xk - y), xk), y)
        ot[k] = y
    return out, y


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


def _room_masks(
    grid: ClimateGrid, ts: NDArray[np.int64], params: EngineParams
) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    """Occupied-hour masks, one row per distinct window (row 0: all hours), and the
    row of each series."""
    masks = [np.ones(ts.size, dtype=bool)]
    row = np.zeros(grid.n, dtype=np.intp)
    if params.occupied_only:
        hour = local_hour(ts)
        seen: dict[tuple[int, int], int] = {}
        for i, room in enumerate(grid.rooms):
            window = OCCUPIED_HOURS.get(room)
            if window is None:
                continue
            if window not in seen:
                s, e = window
                seen[window] = len(masks)
                masks.append((hour >= s) & (hour < e) if s < e else (hour >= s) | (hour < e))
            row[i] = seen[window]
    return np.stack(masks), row


#: Full-resolution values per array in one block of series: the block's temporaries
#: stay in cache (float32: 512 KiB), so each reading is fetched from memory once.
BLOCK_VALUES: Final = 1 << 17


@dataclass
class _Run:
    """What a run shares between its blocks of series."""

    grid: ClimateGrid
    params: EngineParams
    k: int
    hours: int
    first: NDArray[np.intp]
    ends: NDArray[np.intp]
    occ_masks: NDArray[np.bool_]
    occ_row: NDArray[np.intp]
    outdoor_row: F64 | None  # hourly outdoor mean when one series serves all rooms
    lag_row: F64 | None  # its lagged form, when every series starts from the same state
    lag_h: F64 | None  # (n, hours) lagged outdoor per series otherwise
    lag_end: F64  # (n,) the lag's last value, carried to the next run
    run0: F64  # (n,) humid run carried in
    run_end: F64  # (n,) humid run at the end, carried out
    outdoor_rh_row: F64 | None  # hourly outdoor RH when one series serves all rooms
    # filled block by block
    values: F64  # (fields, n, days); mould fields filled after the blocks
    surface_h: F64  # (n, hours)
    surf_rh: F64  # (n, hours)
    surf_n: NDArray[np.intp]  # hours with a surface estimate, per series
    surf_end: NDArray[np.bool_]  # (n, days): surface estimate at the day's last hour
    active: NDArray[np.bool_]
    tau: F64
    hourly: F64 = field(default_factory=lambda: np.zeros(0))  # per-block buffer


def score_grid(
    grid: ClimateGrid, state: SeriesState | None = None, params: EngineParams | None = None
) -> tuple[DailyMetrics, SeriesState]:
    """Score every series of ``grid``; see the module docstring.

    Series are scored in blocks of rows small enough for the full-resolution
    temporaries to stay in cache (every metric is per series, so blocking changes no
    result); the mould index is then integrated over all series that can grow at once.
    """
    params = params or EngineParams()
    state = state or SeriesState.new(grid.n)
    k = 3600 // grid.step_s
    n, m = grid.temp_c.shape
    hours = m // k
    hour_ts = grid.start + 3600 * np.arange(hours, dtype=np.int64)
    day = hour_ts // 86400
    day_ids, first = np.unique(day, return_index=True)
    days = day_ids.size
    ends = np.append(first[1:], hours) - 1
    occ_masks, occ_row = _room_masks(grid, hour_ts, params)
    outdoor_row: F64 | None = None
    outdoor_rh_row: F64 | None = None
    lag_row: F64 | None = None
    lag_all: F64 | None = None
    lag0 = state.lag()
    lag_end = lag0.copy()
    if grid.outdoor_c is not None and np.ndim(grid.outdoor_c) == 1:
        od = np.asarray(grid.outdoor_c, dtype=np.float64)
        outdoor_row = _hourly_mean(od[None, :], k)[0][0]
        if grid.outdoor_rh is not None:
            orh = np.asarray(grid.outdoor_rh, dtype=np.float64)
            outdoor_rh_row = _hourly_mean(orh[None, :], k)[0][0]
        starts = np.unique(lag0[np.isfinite(lag0)])
        if starts.size == 0 or (starts.size == 1 and np.isfinite(lag0).all()):
            s0 = np.array(starts[0] if starts.size else np.nan)
            lag_row, end_row = lagged_outdoor(outdoor_row, params.outdoor_lag_h, s0)
            lag_end = np.full(n, float(end_row))
        else:
            lag_all, lag_end = lagged_outdoor(
                np.broadcast_to(outdoor_row, (n, hours)), params.outdoor_lag_h, lag0
            )
    elif grid.outdoor_c is not None:
        od2 = _hourly_mean(np.asarray(grid.outdoor_c, dtype=np.float64), k)[0]
        lag_all, lag_end = lagged_outdoor(od2, params.outdoor_lag_h, lag0)
    run = _Run(
        grid=grid,
        params=params,
        k=k,
        hours=hours,
        first=first,
        ends=ends,
        occ_masks=occ_masks,
        occ_row=occ_row,
        outdoor_row=outdoor_row,
        lag_row=lag_row,
        lag_h=lag_all,
        lag_end=lag_end,
        run0=state.run(),
        run_end=np.zeros(n),
        outdoor_rh_row=outdoor_rh_row,
        values=np.empty((len(FIELDS), n, days)),
        surface_h=np.empty((n, hours)),
        surf_rh=np.empty((n, hours)),
        surf_n=np.zeros(n, dtype=np.intp),
        surf_end=np.zeros((n, days), dtype=bool),
        active=np.zeros(n, dtype=bool),
        tau=np.full(n, np.nan),
    )
    rows = max(1, min(n, BLOCK_VALUES // max(m, 1)))
    undecided: list[tuple[int, int]] = []
    any_nan = False
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        decided = _score_rows(run, state, r0, r1, None)
        if decided is None:
            undecided.append((r0, r1))
        else:
            any_nan |= decided
    if undecided:
        # infinite readings and no NaN in a block: whether readings are screened for
        # gaps depends on the whole grid (a NaN anywhere, or +inf and −inf together)
        has_gaps = any_nan or bool(
            np.isnan(np.asarray(grid.temp_c, dtype=np.float32).sum())
            or np.isnan(np.asarray(grid.rh_pct, dtype=np.float32).sum())
        )
        for r0, r1 in undecided:
            _score_rows(run, state, r0, r1, has_gaps)

    # ---- mould index: only where it can move (above 0, or surface RH at or above the
    # class's RH_min at some hour); elsewhere it stays 0 and the dry spell lengthens
    values = run.values
    active = run.active
    dry_final = state.dry_hours + run.surf_n
    mould_final = np.zeros(n)
    surf_any = values[IDX["surf_hours"]] > 0
    values[IDX["mould_max"]] = np.where(surf_any, 0.0, np.nan)
    values[IDX["mould_end"]] = np.where(run.surf_end, 0.0, np.nan)
    if active.any():
        traj_a, final_a, dry_a = mould_index(
            run.surface_h[active],
            run.surf_rh[active],
            material=params.material,
            decline=params.decline,
            m0=state.mould[active],
            dry_hours0=state.dry_hours[active],
        )
        mould_final[active] = final_a
        dry_final[active] = dry_a
        # hours without a surface estimate carry no mould information
        ok_a = np.isfinite(run.surf_rh[active])
        mmax = np.fmax.reduceat(np.where(ok_a, traj_a, -np.inf), first, axis=1)
        values[IDX["mould_max"], active] = np.where(np.isinf(mmax), np.nan, mmax)
        # the index at the last hour with a surface estimate up to each day's end
        last = np.where(ok_a, np.arange(hours)[None, :], -1)
        np.maximum.accumulate(last, axis=1, out=last)
        last_end = last[:, ends]
        end = np.take_along_axis(traj_a, np.maximum(last_end, 0), axis=1)
        end = np.where(last_end >= 0, end, np.nan)
        values[IDX["mould_end"], active] = np.where(
            state.mould[active, None] > 0, np.nan_to_num(end), end
        )

    return (
        DailyMetrics(
            day_starts=day_ids * 86400,
            values=np.ascontiguousarray(np.moveaxis(values, 0, -1)),
            cooling_tau_h=run.tau,
        ),
        SeriesState(np.asarray(mould_final), np.asarray(dry_final), run.lag_end, run.run_end),
    )


def _score_rows(
    run: _Run, state: SeriesState, r0: int, r1: int, has_gaps: bool | None
) -> bool | None:
    """Score series ``r0:r1`` of the run into its arrays, except the mould index.

    ``has_gaps`` says whether readings are screened for gaps (NaN); None decides from
    the block, as the whole grid would: returns whether the block holds a NaN, or None
    (nothing written) when it holds infinite readings but no NaN, which the whole
    grid must decide.
    """
    grid, params, k, hours = run.grid, run.params, run.k, run.hours
    lim = params.limits
    n = r1 - r0
    temp_raw = np.asarray(grid.temp_c[r0:r1], dtype=np.float32)
    rh_raw = np.asarray(grid.rh_pct[r0:r1], dtype=np.float32)
    ones = np.ones(k, dtype=np.float32)

    def hour_sum(x: NDArray[np.float32]) -> F64:
        """Per-hour sums by a matrix product (far faster than a short-axis reduce)."""
        return np.asarray((x.reshape(n * hours, k) @ ones).reshape(n, hours), dtype=np.float64)

    # sums of the raw readings first: all finite unless a reading is NaN or infinite,
    # and then the block's 12× smaller hourly sums say which (a NaN, or +inf and −inf
    # in one hour, make the whole grid's sum NaN; infinities alone leave it open)
    temp_s, rh_s = hour_sum(temp_raw), hour_sum(rh_raw)
    found_nan = False
    if has_gaps is None:
        if np.isfinite(temp_s).all() and np.isfinite(rh_s).all():
            has_gaps = False
        elif np.isnan(temp_s).any() or np.isnan(rh_s).any():
            has_gaps = found_nan = True
        elif np.isfinite(temp_raw).all() and np.isfinite(rh_raw).all():
            has_gaps = False  # finite readings whose hourly sum overflows
        else:
            return None
    if has_gaps:
        valid = np.isfinite(temp_raw) & np.isfinite(rh_raw)
        temp_z = np.where(valid, temp_raw, np.float32(0))
        rh_z = np.where(valid, rh_raw, np.float32(0))
        count = hour_sum(valid.astype(np.float32))
        temp_s, rh_s = hour_sum(temp_z), hour_sum(rh_z)
    else:
        count = np.full((n, hours), float(k))
    hours_cov = count / k
    with np.errstate(invalid="ignore", divide="ignore"):
        temp_h = np.where(count > 0, temp_s / count, np.nan)
        rh_h = np.where(count > 0, rh_s / count, np.nan)
    # occupancy windows are whole local hours, so they apply to hourly values
    occ = run.occ_masks[run.occ_row[r0:r1]] & (count > 0)

    if run.hourly.shape != (len(FIELDS), n, hours):
        run.hourly = np.zeros((len(FIELDS), n, hours))
    hourly = run.hourly

    def put(name: str, cond: NDArray[np.bool_], weight: F64 | None = None) -> None:
        """``hourly[name] = where(cond, weight or hours_cov, 0)``."""
        out = hourly[IDX[name]]
        out[...] = 0.0
        np.copyto(out, hours_cov if weight is None else weight, where=cond)

    # within-hour shape from the full-resolution samples: spikes, flatlines, jumps
    with np.errstate(invalid="ignore"):
        if k > 1:
            step = np.empty((n, hours * k), dtype=np.float32)
            step[:, 0] = 0.0
            np.subtract(temp_raw[:, 1:], temp_raw[:, :-1], out=step[:, 1:])
            np.abs(step, out=step)
            hit = step > lim.jump_temp_c  # NaN: False
            hourly[IDX["jumps"]] = hour_sum(hit.astype(np.float32))
            w = max(1, params.spike_window_s // grid.step_s)
            step[:, :w] = 0.0
            np.subtract(rh_raw[:, w:], rh_raw[:, :-w], out=step[:, w:])
            np.greater_equal(step, lim.spike_rise_pct, out=hit)
            hourly[IDX["spikes"]] = hour_sum(hit.astype(np.float32)) > 0
        else:
            rh_max = grid.rh_max_pct
            rh_max_grid = rh_max[r0:r1].reshape(n, hours) if rh_max is not None else rh_h
            hourly[IDX["spikes"]] = (rh_max_grid - rh_h) >= lim.spike_rise_pct
            jumps = hourly[IDX["jumps"]]
            jumps[:, 0] = 0.0
            jumps[:, 1:] = np.abs(np.diff(temp_h, axis=1)) > lim.jump_temp_c
    # a stuck sensor repeats its readings, so its hourly means repeat exactly
    flat = hourly[IDX["flat_h"]]
    flat[:, 0] = 0.0
    flat[:, 1:] = (temp_h[:, 1:] == temp_h[:, :-1]) & (rh_h[:, 1:] == rh_h[:, :-1])
    dew = dew_point(temp_h, rh_h)

    outdoor_h: F64 | None = None
    if run.outdoor_row is not None:
        outdoor_h = np.broadcast_to(run.outdoor_row, (n, hours))
    elif grid.outdoor_c is not None:
        od = np.asarray(grid.outdoor_c[r0:r1], dtype=np.float64)
        outdoor_h, _ = _hourly_mean(od, k)
    if outdoor_h is not None:
        lagged = (
            np.broadcast_to(run.lag_row, (n, hours))
            if run.lag_row is not None
            else np.asarray(run.lag_h)[r0:r1]
        )
        surface_h = surface_temperature(temp_h, lagged, grid.f_rsi[r0:r1, None])
    else:
        surface_h = np.full((n, hours), np.nan)
    if grid.surface_c is not None:
        probe_h, _ = _hourly_mean(grid.surface_c[r0:r1], k)
        surface_h = np.where(np.isfinite(probe_h), probe_h, surface_h)
    with np.errstate(invalid="ignore"):
        surf_rh = surface_relative_humidity(temp_h, rh_h, surface_h)
        cond = surface_h <= dew
        surf_ok = np.isfinite(surf_rh)
        rh_floor = MATERIALS[params.material].rh_min
        run.active[r0:r1] = (state.mould[r0:r1] > 0) | np.any(surf_rh >= rh_floor, axis=1)
        surf80 = surf_rh >= lim.surface_rh_pct  # NaN: False
    run.surface_h[r0:r1] = surface_h
    run.surf_rh[r0:r1] = surf_rh
    run.surf_n[r0:r1] = np.count_nonzero(surf_ok, axis=1)
    run.surf_end[r0:r1] = surf_ok[:, run.ends]

    with np.errstate(invalid="ignore"):
        hourly[IDX["hours"]] = hours_cov
        np.multiply(np.nan_to_num(temp_h), hours_cov, out=hourly[IDX["temp_h"]])
        np.multiply(np.nan_to_num(rh_h), hours_cov, out=hourly[IDX["rh_h"]])
        np.multiply(np.nan_to_num(dew), hours_cov, out=hourly[IDX["dew_h"]])
        put("rh70_h", rh_h > lim.air_rh_pct)
        put("surf_hours", surf_ok)
        put("surf80_h", surf80)
        put("cond_h", surf_ok & cond)
        put("occ_hours", occ)
        put("below18_h", occ & (temp_h < lim.warm_c))
        put("below16_h", occ & (temp_h < lim.cold_c))
        put("dh18", occ, np.maximum(lim.warm_c - temp_h, 0.0) * hours_cov)
        put(
            "implausible_h", (temp_h < lim.implausible_below_c) | (temp_h > lim.implausible_above_c)
        )
        # the weights are finite wherever the condition holds (copied only there)
        put("surf_rh_h", surf_ok, surf_rh * hours_cov)
        put("occ_temp_h", occ, temp_h * hours_cov)
        # air RH over the limit for the third hour running or more: humidity that does
        # not clear (a shower's rise that clears within two hours does not count)
        humid = humid_runs(rh_h > lim.air_rh_pct, run.run0[r0:r1])
        run.run_end[r0:r1] = humid[:, -1] if hours else run.run0[r0:r1]
        put("slow_clear_h", humid >= 3)
    outdoor_rh_h: F64 | None = None
    if run.outdoor_rh_row is not None:
        outdoor_rh_h = np.broadcast_to(run.outdoor_rh_row, (n, hours))
    elif grid.outdoor_rh is not None and np.ndim(grid.outdoor_rh) == 2:
        outdoor_rh_h, _ = _hourly_mean(np.asarray(grid.outdoor_rh[r0:r1], dtype=np.float64), k)
    if outdoor_h is not None and outdoor_rh_h is not None:
        with np.errstate(invalid="ignore"):
            vpx = vapour_pressure(temp_h, rh_h) - vapour_pressure(outdoor_h, outdoor_rh_h)
            v_ok = np.isfinite(vpx)
        put("vpx_h", v_ok, np.nan_to_num(vpx) * hours_cov)
        put("vpx_hours", v_ok)
    if outdoor_h is not None:
        o_ok = np.isfinite(outdoor_h)
        put("outdoor_h", o_ok, outdoor_h)
        hourly[IDX["outdoor_hours"]] = o_ok

    # ---- daily buckets (UTC days)
    run.values[:, r0:r1] = np.add.reduceat(hourly, run.first, axis=2)
    if outdoor_h is not None and hours >= 6:
        te = run.outdoor_row if run.outdoor_row is not None else outdoor_h
        run.tau[r0:r1] = cooling_time_constant_regression(temp_h, te, 1.0)
    return found_nan
