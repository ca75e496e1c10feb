"""A generated hourly outdoor climate for Leeds, deterministic from a seed.

No weather record is bundled: the series is *generated* from twelve monthly normals so
that it has the shape of a Leeds year without being a copy of any real one.

Sources and assumptions
-----------------------
- Monthly mean air temperature ``LEEDS_MONTHLY_TEMP_C``: rounded values consistent with
  the Met Office 1991–2020 UK climate averages for the Leeds area (Bingley and Leeds
  Bradford Airport stations; the Met Office defines the monthly mean as the mean of the
  daily maximum and minimum). They are normals for a typical year, not a record of one,
  and sit between the airport (208 m, colder) and the city centre (warmer).
- Monthly mean relative humidity ``LEEDS_MONTHLY_RH_PCT``: the Met Office station
  averages do not include humidity; these are typical monthly means for inland northern
  England (high and flat in winter, mid-70s in summer). An assumption, stated as such.
- Daily cycle: coldest about 03:00 UTC, warmest about 15:00 UTC, with an amplitude of
  2.5 K in January growing with the monthly mean (about 4.5 K in July); RH moves against
  temperature through the day.
- Synoptic weather: an AR(1) anomaly with a 72-hour memory and 2.5 K standard deviation
  (passing fronts and anticyclones).
- A cold snap (:class:`ColdSnap`): a trapezoid dip of ``depth_c`` over ``days`` days,
  so a Leeds winter reaches daily minima below −4 °C, the self-disconnection signature
  of ``science.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

__all__ = [
    "LEEDS_MONTHLY_RH_PCT",
    "LEEDS_MONTHLY_TEMP_C",
    "ColdSnap",
    "Weather",
    "hourly_weather",
    "weather_at",
]

#: Jan…Dec mean air temperature [°C] (Met Office 1991–2020 averages, Leeds area, rounded)
LEEDS_MONTHLY_TEMP_C = (4.2, 4.5, 6.2, 8.5, 11.5, 14.3, 16.3, 16.0, 13.6, 10.3, 6.8, 4.5)
#: Jan…Dec mean relative humidity [%] (typical inland northern England; an assumption)
LEEDS_MONTHLY_RH_PCT = (87, 84, 80, 76, 74, 74, 75, 77, 80, 84, 87, 88)

_SYNOPTIC_MEMORY_H = 72.0
_SYNOPTIC_SD_K = 2.5


@dataclass(frozen=True)
class ColdSnap:
    """From day ``start_day`` of the series for ``days`` days the air is up to ``depth_c``
    [K] colder (ramping in and out over a day)."""

    start_day: float
    days: float
    depth_c: float = 7.0


@dataclass(frozen=True)
class Weather:
    """Outdoor air at the sample times: ``ts`` [Unix s], ``temp_c`` [°C], ``rh_pct`` [%]."""

    ts: NDArray[np.int64]
    temp_c: NDArray[np.float64]
    rh_pct: NDArray[np.float64]


def _day_of_year(ts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Day of the year (0-based, fractional) of Unix seconds, ignoring leap days."""
    days_since_epoch = ts / 86400.0
    # 1970-01-01 is day 0 of its year; a mean year of 365.2425 days keeps the phase right
    return np.asarray(np.mod(days_since_epoch, 365.2425))


def hourly_weather(
    start: int, hours: int, seed: int, cold_snap: ColdSnap | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Outdoor air temperature [°C] and relative humidity [%] for ``hours`` hours from
    Unix ``start`` (hourly values, deterministic from ``seed``)."""
    rng = np.random.default_rng([seed, 0x57EA7E])
    ts = start + 3600 * np.arange(hours, dtype=np.int64)
    doy = _day_of_year(ts)
    month_mid = np.arange(12) * (365.2425 / 12) + 15.2
    temp_clim = np.interp(doy, month_mid, LEEDS_MONTHLY_TEMP_C, period=365.2425)
    rh_clim = np.interp(doy, month_mid, LEEDS_MONTHLY_RH_PCT, period=365.2425)
    hour = (ts % 86400) / 3600.0
    amplitude = 2.5 + 2.0 * (temp_clim - 4.0) / 12.0
    daily = -np.cos((hour - 3.0) / 24.0 * 2.0 * np.pi)  # −1 at 03:00, +1 at 15:00
    phi = float(np.exp(-1.0 / _SYNOPTIC_MEMORY_H))
    shocks = rng.normal(0.0, _SYNOPTIC_SD_K * np.sqrt(1.0 - phi**2), hours)
    level0 = rng.normal(0.0, _SYNOPTIC_SD_K)
    # AR(1): s[k] = φ·s[k−1] + ε[k], started from a draw of the stationary distribution
    synoptic, _ = lfilter([1.0], [1.0, -phi], shocks, zi=[phi * level0])
    temp = temp_clim + amplitude * daily + synoptic
    if cold_snap is not None:
        day = np.arange(hours) / 24.0
        into = day - cold_snap.start_day
        left = cold_snap.start_day + cold_snap.days - day
        ramp = np.clip(np.minimum(into, left), 0.0, 1.0)
        temp = temp - cold_snap.depth_c * ramp
    rh = np.clip(rh_clim - 12.0 * daily - 1.5 * synoptic + rng.normal(0.0, 2.0, hours), 35, 100)
    return np.asarray(temp, dtype=np.float64), np.asarray(rh, dtype=np.float64)


def weather_at(ts: NDArray[np.int64], seed: int, cold_snap: ColdSnap | None = None) -> Weather:
    """The generated weather interpolated to sample times ``ts`` (sorted Unix seconds);
    ``cold_snap.start_day`` counts from ``ts[0]``."""
    start = int(ts[0]) // 3600 * 3600
    hours = (int(ts[-1]) - start) // 3600 + 2
    temp_h, rh_h = hourly_weather(start, hours, seed, cold_snap)
    hour_ts = start + 3600 * np.arange(hours)
    return Weather(
        ts=np.asarray(ts, dtype=np.int64),
        temp_c=np.interp(ts, hour_ts, temp_h),
        rh_pct=np.interp(ts, hour_ts, rh_h),
    )
