"""Under-heating (fuel-poverty risk) metrics and the building's thermal response.

References
----------
.. [1] WHO Housing and Health Guidelines (2018): at least 18 °C in cold seasons.
.. [2] HHSRS Operating Guidance (2006), excess cold: below 16 °C serious risk.
.. [3] Kane, T. et al. (2017). Heating behaviour in English homes: an assessment of
   indirect calculation methods. Energy and Buildings 148, 89–105.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import curve_fit

from dampwatch_core.const import BEDROOM, LIVING_ROOM

__all__ = [
    "OCCUPIED_HOURS",
    "cooling_time_constant",
    "cooling_time_constant_regression",
    "degree_hours_below",
    "hours_below",
    "local_hour",
    "occupied_mask",
    "self_disconnection",
]

LONDON = ZoneInfo("Europe/London")

#: Occupied windows in local time [start hour, end hour): living rooms by day,
#: bedrooms by night (science.md). Rooms not listed count all hours.
OCCUPIED_HOURS: dict[str, tuple[int, int]] = {
    LIVING_ROOM: (8, 20),
    "living": (8, 20),
    "lounge": (8, 20),
    BEDROOM: (20, 8),
}


@lru_cache(maxsize=64)
def _utc_offsets(year: int) -> tuple[int, int, int]:
    """(start of summer time, end of summer time, offset) in Unix seconds for ``year``."""
    start = end = 0
    prev = LONDON.utcoffset(datetime(year, 1, 1))
    for day in range(1, 366):
        ts = int(datetime(year, 1, 1, tzinfo=UTC).timestamp()) + day * 86400
        off = LONDON.utcoffset(datetime.fromtimestamp(ts, UTC).replace(tzinfo=None))
        if off != prev:
            # the change happens at 01:00 UTC on the last Sunday (March, October)
            change = ts - 86400 + 3600
            if start == 0:
                start = change
            else:
                end = change
            prev = off
    return start, end, 3600


def local_hour(ts: ArrayLike) -> NDArray[np.int64]:
    """Hour of day [0–23] in Europe/London for Unix seconds ``ts`` (vectorised)."""
    t = np.asarray(ts, dtype=np.int64)
    offset = np.zeros(t.shape, dtype=np.int64)
    if t.size:
        years = range(
            datetime.fromtimestamp(int(t.min()), UTC).year,
            datetime.fromtimestamp(int(t.max()), UTC).year + 1,
        )
        for year in years:
            start, end, off = _utc_offsets(year)
            offset = np.where((t >= start) & (t < end), off, offset)
    return np.asarray(((t + offset) // 3600) % 24)


def occupied_mask(ts: ArrayLike, room: str) -> NDArray[np.bool_]:
    """True where ``ts`` falls in the room's occupied window (local time)."""
    t = np.asarray(ts, dtype=np.int64)
    window = OCCUPIED_HOURS.get(room)
    if window is None:
        return np.ones(t.shape, dtype=bool)
    hour = local_hour(t)
    start, end = window
    if start < end:
        return np.asarray((hour >= start) & (hour < end))
    return np.asarray((hour >= start) | (hour < end))


def hours_below(
    temp_c: ArrayLike, duration_h: ArrayLike, threshold_c: float, axis: int = -1
) -> NDArray[np.floating]:
    """Time-weighted hours [h] with temperature [°C] below ``threshold_c``; samples with
    NaN temperature or zero duration don't count."""
    t = np.asarray(temp_c, dtype=np.float64)
    d = np.asarray(duration_h, dtype=np.float64)
    return np.asarray(np.sum(np.where(t < threshold_c, d, 0.0), axis=axis))


def degree_hours_below(
    temp_c: ArrayLike, duration_h: ArrayLike, threshold_c: float, axis: int = -1
) -> NDArray[np.floating]:
    """Time-weighted degree-hours [°C·h] below ``threshold_c``: Σ max(θ − T, 0)·Δt."""
    t = np.asarray(temp_c, dtype=np.float64)
    d = np.asarray(duration_h, dtype=np.float64)
    deficit = np.where(np.isfinite(t), np.maximum(threshold_c - t, 0.0), 0.0)
    return np.asarray(np.sum(deficit * d, axis=axis))


def _decay(t_h: NDArray[np.floating], t0: float, tau: float, te: float) -> NDArray[np.floating]:
    return np.asarray(te + (t0 - te) * np.exp(-t_h / tau))


def cooling_time_constant(
    t_h: ArrayLike, indoor_c: ArrayLike, outdoor_c: ArrayLike
) -> float | None:
    """Cooling time constant τ = C/H [h] of a heating-off decay, by least squares on
    ``T_i(t) = T_e + (T_0 − T_e)·e^(−t/τ)`` (scipy ``curve_fit``; T_e from the outdoor
    feed, its mean over the decay; fitting T_e too is ill-conditioned on 12 h).

    Returns None when the fit fails or τ is outside 1–1000 h (not identifiable).
    """
    t = np.asarray(t_h, dtype=np.float64)
    ti = np.asarray(indoor_c, dtype=np.float64)
    te = float(np.nanmean(np.asarray(outdoor_c, dtype=np.float64)))
    ok = np.isfinite(t) & np.isfinite(ti)
    if ok.sum() < 6 or ti[ok][0] - te < 2.0:
        return None
    try:
        params, _ = curve_fit(
            lambda x, t0, tau: _decay(x, t0, tau, te),
            t[ok] - t[ok][0],
            ti[ok],
            p0=(float(ti[ok][0]), 30.0),
            bounds=((-50.0, 0.5), (60.0, 5000.0)),
        )
    except (RuntimeError, ValueError):
        return None
    tau = float(params[1])
    return tau if 1.0 <= tau <= 1000.0 else None


def cooling_time_constant_regression(
    indoor_c: ArrayLike,
    outdoor_c: ArrayLike,
    step_h: float,
    min_run_h: int = 4,
    min_fall_c_per_h: float = 0.05,
) -> NDArray[np.floating]:
    """τ [h] per series from heating-off decays with varying outdoor temperature.

    A flat in a block also exchanges heat with its neighbours (party walls and floors
    near 18–20 °C): ``dT_i/dt = −T_i/τ + b·T_e + c`` with ``b = share to outdoors / τ``
    and the intercept ``c`` taking the neighbours' part. Ordinary least squares of
    dT_i/dt on (T_i, T_e, 1) over falling runs of at least ``min_run_h`` steps gives
    −1/τ as the T_i coefficient; regressing on (T_e − T_i) through the origin instead
    assumes all heat goes outdoors and overstates τ 2.5–3× when half goes to
    neighbours. A step counts when the air falls by at least ``min_fall_c_per_h``
    (a thermostat holding its setpoint moves hourly means less). Arrays
    ``(..., steps)``; NaN where no decay was seen, the fit is ill-conditioned, or τ is
    outside 1–1000 h.
    """
    ti = np.asarray(indoor_c, dtype=np.float64)
    te = np.asarray(outdoor_c, dtype=np.float64)
    if te.ndim == 0 or te.shape[-1] != ti.shape[-1]:
        te = np.broadcast_to(te, ti.shape)
    te = np.broadcast_to(te, ti.shape)
    dtdt = np.diff(ti, axis=-1)
    if step_h != 1.0:
        dtdt /= step_h
    te_mid = (te[..., :-1] + te[..., 1:]) / 2
    ti_mid = (ti[..., :-1] + ti[..., 1:]) / 2
    with np.errstate(invalid="ignore"):
        # a free-running fall, not a thermostat's wobble around its setpoint
        falling = dtdt < -min_fall_c_per_h
        falling &= ti_mid - te_mid > 2.0
        falling &= np.isfinite(dtdt)
        falling &= np.isfinite(te_mid)
    keep = _in_long_runs(falling, min_run_h)
    # the first and last step of a run may hold part of an hour with the heater on
    # (a mean over a thermostat's switch): only the steps inside a run are used
    inner = np.zeros_like(keep)
    inner[..., 1:-1] = keep[..., 1:-1] & keep[..., :-2] & keep[..., 2:]
    keep = inner
    w = keep.astype(np.float64)
    x1 = np.where(keep, ti_mid, 0.0)
    x2 = np.where(keep, te_mid, 0.0)
    y = np.where(keep, dtdt, 0.0)
    shape = w.shape[:-1]
    flat = (-1, w.shape[-1])
    x1, x2, y, w = x1.reshape(flat), x2.reshape(flat), y.reshape(flat), w.reshape(flat)

    def dot(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(np.einsum("ij,ij->i", a, b))

    # normal equations of y = a·x1 + b·x2 + c, per series
    n_ = w.sum(axis=-1)
    s1, s2, sy = x1.sum(axis=-1), x2.sum(axis=-1), y.sum(axis=-1)
    a_mat = np.empty((n_.size, 3, 3))
    a_mat[:, 0, 0] = dot(x1, x1)
    a_mat[:, 0, 1] = a_mat[:, 1, 0] = dot(x1, x2)
    a_mat[:, 1, 1] = dot(x2, x2)
    a_mat[:, 0, 2] = a_mat[:, 2, 0] = s1
    a_mat[:, 1, 2] = a_mat[:, 2, 1] = s2
    a_mat[:, 2, 2] = n_
    rhs = np.stack([dot(x1, y), dot(x2, y), sy], axis=-1)
    coef = np.full(n_.size, np.nan)
    enough = np.flatnonzero(n_ >= 3 * min_run_h)
    if enough.size:
        # centred, the T_i and T_e columns must not be (nearly) collinear
        m = a_mat[enough]
        cnt = m[:, 2, 2]
        v11 = m[:, 0, 0] - m[:, 0, 2] ** 2 / cnt
        v22 = m[:, 1, 1] - m[:, 1, 2] ** 2 / cnt
        v12 = m[:, 0, 1] - m[:, 0, 2] * m[:, 1, 2] / cnt
        with np.errstate(invalid="ignore", divide="ignore"):
            corr2 = v12**2 / (v11 * v22)
        good = enough[(v11 > 1e-9) & (v22 > 1e-9) & (corr2 < 1 - 1e-9)]
        if good.size:
            coef[good] = np.linalg.solve(a_mat[good], rhs[good][..., None])[:, 0, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = (-1.0 / coef).reshape(shape)
    return np.asarray(np.where((tau >= 1.0) & (tau <= 1000.0), tau, np.nan))


def _in_long_runs(flags: NDArray[np.bool_], min_len: int) -> NDArray[np.bool_]:
    """True where ``flags`` is inside a run of at least ``min_len`` Trues along the
    last axis (no loop over time): windows of ``min_len`` all-True steps, spread back
    over the steps they cover."""
    flags = np.asarray(flags, dtype=bool)
    steps = flags.shape[-1]
    if min_len <= 1:
        return flags.copy()
    if min_len > steps:
        return np.zeros(flags.shape, dtype=bool)
    # start[..., i]: flags[..., i : i + min_len] all True
    start = flags[..., : steps - min_len + 1].copy()
    for j in range(1, min_len):
        start &= flags[..., j : steps - min_len + 1 + j]
    keep = np.zeros(flags.shape, dtype=bool)
    for j in range(min_len):
        keep[..., j : steps - min_len + 1 + j] |= start
    return keep


def self_disconnection(
    daily_mean_c: ArrayLike,
    min_heated_days: int = 3,
    min_cold_days: int = 2,
    heated_c: float = 17.5,
    cold_c: float = 15.5,
) -> NDArray[np.bool_]:
    """True per series where a run of at least ``min_heated_days`` heated days (daily
    mean ≥ ``heated_c``) is followed later by at least ``min_cold_days`` consecutive
    unheated days (daily mean < ``cold_c``) that last to the end: heating that
    stopped (science.md's self-disconnection signature). Arrays ``(..., days)``."""
    d = np.asarray(daily_mean_c, dtype=np.float64)
    heated = d >= heated_c
    cold = d < cold_c
    days = d.shape[-1]
    result = np.zeros(d.shape[:-1], dtype=bool)
    if days < min_heated_days + min_cold_days:
        return result
    # trailing run of cold days (NaN days neither break nor extend the run)
    trailing = np.zeros(d.shape[:-1], dtype=np.int32)
    broken = np.zeros(d.shape[:-1], dtype=bool)
    for k in range(days - 1, -1, -1):
        is_nan = ~np.isfinite(d[..., k])
        trailing = np.where(~broken & cold[..., k], trailing + 1, trailing)
        broken = broken | (~cold[..., k] & ~is_nan)
    best_heated = np.zeros(d.shape[:-1], dtype=np.int32)
    run = np.zeros(d.shape[:-1], dtype=np.int32)
    for k in range(days):
        run = np.where(heated[..., k], run + 1, 0)
        before_tail = k < days - trailing
        best_heated = np.where(before_tail, np.maximum(best_heated, run), best_heated)
    result = (trailing >= min_cold_days) & (best_heated >= min_heated_days)
    return np.asarray(result)
