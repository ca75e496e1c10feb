"""A generated outdoor climate for Leeds: hourly temperature and humidity, deterministic
from a seed, with a winter cold snap.

Nothing here is scraped or downloaded. The monthly normals below are rounded values of
the kind published in the Met Office 1991–2020 UK climate averages for the Leeds area
(Leeds Weather Centre and Bingley SAMOS stations: mean daily maximum and minimum air
temperature) with typical monthly mean relative humidity for inland northern England.
They are a plausible climatology for simulation, not observations: the series is built
from them with

- a smooth annual cycle (monthly normals placed mid-month, interpolated cyclically);
- a diurnal cycle (minimum near dawn, maximum mid-afternoon, 15:00 UTC) whose range
  varies day to day with cloudiness;
- synoptic noise: an hourly AR(1) anomaly with a three-day correlation time;
- a cold snap (optional): a smooth dip of a few days whose depth is solved so that the
  lowest hourly temperature inside it equals ``min_c`` (default −6 °C, so the daily
  minimum falls below −4 °C, the self-disconnection trigger in ``science.md``);
- humidity from a dew point that follows the temperature anomaly plus its own noise, so
  RH has the natural diurnal cycle (high at night, lower in the afternoon), capped at 100.

References
----------
.. [1] Met Office (2021), UK climate averages 1991–2020: Leeds Weather Centre;
   Bingley SAMOS. https://www.metoffice.gov.uk/research/climate/maps-and-data/uk-climate-averages
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np
from numpy.typing import NDArray

from simulators.flatsim.psychro import saturation_vapour_pressure_pa, vapour_density_g_m3

__all__ = ["LEEDS_NORMALS", "ColdSnap", "Outdoor", "default_cold_snap", "leeds_weather"]

#: (month, mean daily max [°C], mean daily min [°C], mean RH [%]), rounded.
LEEDS_NORMALS: Final[tuple[tuple[int, float, float, float], ...]] = (
    (1, 7.0, 1.4, 87.0),
    (2, 7.6, 1.5, 84.0),
    (3, 10.0, 2.9, 80.0),
    (4, 13.0, 4.7, 76.0),
    (5, 16.3, 7.5, 74.0),
    (6, 19.1, 10.5, 75.0),
    (7, 21.3, 12.6, 75.0),
    (8, 20.7, 12.4, 77.0),
    (9, 17.9, 10.2, 80.0),
    (10, 13.9, 7.3, 84.0),
    (11, 9.9, 4.1, 87.0),
    (12, 7.4, 1.8, 88.0),
)

_WINTER_MONTHS: Final = frozenset({11, 12, 1, 2, 3})
_SYNOPTIC_SIGMA_C: Final = 2.5
_SYNOPTIC_TAU_H: Final = 72.0
_DEW_NOISE_SIGMA_C: Final = 1.0
_DEW_FOLLOW: Final = 0.85
_HOUR: Final = 3600


@dataclass(frozen=True, slots=True)
class ColdSnap:
    """A cold spell: starts ``start_day`` days after the series starts, lasts ``days``
    days (one-day smooth ramps included), and its lowest hourly temperature is
    ``min_c`` [°C]."""

    start_day: float
    days: float
    min_c: float = -6.0


@dataclass(frozen=True, slots=True)
class Outdoor:
    """Outdoor air at each ``ts`` (Unix s): temperature [°C], RH [%], vapour density
    [g/m³]."""

    ts: NDArray[np.int64]
    temp_c: NDArray[np.float64]
    rh_pct: NDArray[np.float64]
    vapour_density_g_m3: NDArray[np.float64]


def default_cold_snap(days: float, month: int) -> ColdSnap | None:
    """The cold snap a winter window gets by default: from 40 % of the window, a third of
    it long (2–5 days), down to −6 °C. None outside Nov–Mar or for windows under 4 days."""
    if month not in _WINTER_MONTHS or days < 4:
        return None
    return ColdSnap(start_day=0.4 * days, days=float(min(5.0, max(2.0, days / 3.0))))


def _normals_at(month_pos: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """Interpolate the normals cyclically; ``month_pos`` is 0.5 at mid-January."""
    table = np.array([row[1:] for row in LEEDS_NORMALS], dtype=np.float64)
    anchors = np.arange(12, dtype=np.float64) + 0.5
    xp = np.concatenate([anchors - 12.0, anchors, anchors + 12.0])
    pos = np.mod(month_pos, 12.0)
    cols = []
    for j in range(3):
        fp = np.concatenate([table[:, j]] * 3)
        cols.append(np.interp(pos, xp, fp))
    return cols[0], cols[1], cols[2]


def _month_position(hours_ts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Months since 1 January (0.5 = mid-January) for each hour; one calendar lookup a day."""
    days = hours_ts // 86400
    first = int(days[0])
    per_day = np.empty(int(days[-1]) - first + 1, dtype=np.float64)
    for i in range(per_day.size):
        d = datetime.fromtimestamp((first + i) * 86400, tz=UTC)
        start = datetime(d.year, d.month, 1, tzinfo=UTC)
        nxt = datetime(d.year + d.month // 12, d.month % 12 + 1, 1, tzinfo=UTC)
        per_day[i] = d.month - 1 + (d - start) / (nxt - start)
    return per_day[days - first]


def _snap_shape(hours_since_start: NDArray[np.float64], snap: ColdSnap) -> NDArray[np.float64]:
    """0 outside, 1 in the core, raised-cosine ramps of one day (or a third of it)."""
    t0 = snap.start_day * 24.0
    t1 = t0 + snap.days * 24.0
    ramp = min(24.0, snap.days * 24.0 / 3.0)
    x = hours_since_start
    up = np.clip((x - t0) / ramp, 0.0, 1.0)
    down = np.clip((t1 - x) / ramp, 0.0, 1.0)
    w = np.minimum(up, down)
    return np.asarray(0.5 - 0.5 * np.cos(np.pi * w), dtype=np.float64)


def leeds_weather(
    ts: NDArray[np.int64],
    *,
    seed: int,
    month: int | None = None,
    cold_snap: ColdSnap | None = None,
) -> Outdoor:
    """Outdoor temperature and humidity in Leeds at the times ``ts`` (Unix s, ascending).

    Parameters
    ----------
    ts : Unix seconds UTC, ascending.
    seed : the same seed and ``ts`` give the same weather.
    month : 1–12 to use that month's normals throughout (a January demo in any season);
        None follows the calendar.
    cold_snap : a cold spell to insert, or None.
    """
    ts = np.asarray(ts, dtype=np.int64)
    if ts.size == 0:
        empty = np.empty(0, dtype=np.float64)
        return Outdoor(ts, empty, empty, empty)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x57EA]))
    h0 = int(ts[0]) // _HOUR * _HOUR
    n_h = (int(ts[-1]) - h0) // _HOUR + 2
    hours = h0 + _HOUR * np.arange(n_h, dtype=np.int64)
    if month is None:
        tmax, tmin, rh_mean = _normals_at(_month_position(hours))
    else:
        tmax, tmin, rh_mean = _normals_at(np.full(n_h, month - 0.5, dtype=np.float64))
    t_mean = 0.5 * (tmax + tmin)
    amp = 0.5 * (tmax - tmin)
    n_days = n_h // 24 + 2
    cloud = rng.uniform(0.5, 1.4, n_days)
    day_idx = (np.arange(n_h) + (h0 // _HOUR) % 24) // 24
    amp = amp * cloud[day_idx]
    hour_utc = (hours // _HOUR) % 24
    diurnal = amp * np.cos(2.0 * np.pi * (hour_utc - 15.0) / 24.0)

    phi = float(np.exp(-1.0 / _SYNOPTIC_TAU_H))
    shocks = rng.standard_normal((2, n_h))
    anomaly = np.empty(n_h)
    dew_noise = np.empty(n_h)
    a = _SYNOPTIC_SIGMA_C * shocks[0, 0]
    b = _DEW_NOISE_SIGMA_C * shocks[1, 0]
    sa = _SYNOPTIC_SIGMA_C * np.sqrt(1.0 - phi * phi)
    sb = _DEW_NOISE_SIGMA_C * np.sqrt(1.0 - phi * phi)
    for i in range(n_h):
        if i:
            a = phi * a + sa * shocks[0, i]
            b = phi * b + sb * shocks[1, i]
        anomaly[i] = a
        dew_noise[i] = b

    base = t_mean + diurnal + anomaly
    if cold_snap is not None:
        shape = _snap_shape((hours - h0).astype(np.float64) / _HOUR, cold_snap)
        core = shape > 0.0
        depth = 0.0
        if core.any():
            # clear skies in a cold snap: a larger diurnal range
            base = base + 0.4 * diurnal * shape
            lo, hi = 0.0, 40.0
            for _ in range(50):  # bisection: lowest temperature in the snap = min_c
                mid = 0.5 * (lo + hi)
                if float(np.min((base - mid * shape)[core])) > cold_snap.min_c:
                    lo = mid
                else:
                    hi = mid
            depth = hi
            anomaly = anomaly - depth * shape
            base = base - depth * shape
    temp_h = base

    # dew point of the monthly mean state, then following the anomaly
    gamma = np.log(rh_mean / 100.0) + 17.625 * t_mean / (243.04 + t_mean)
    td_mean = 243.04 * gamma / (17.625 - gamma)
    dew_h = np.minimum(td_mean + _DEW_FOLLOW * anomaly + dew_noise, temp_h)
    rh_h = 100.0 * saturation_vapour_pressure_pa(dew_h) / saturation_vapour_pressure_pa(temp_h)

    tsf = ts.astype(np.float64)
    hf = hours.astype(np.float64)
    temp = np.interp(tsf, hf, temp_h)
    rh = np.clip(np.interp(tsf, hf, rh_h), 1.0, 100.0)
    return Outdoor(ts=ts, temp_c=temp, rh_pct=rh, vapour_density_g_m3=vapour_density_g_m3(temp, rh))
