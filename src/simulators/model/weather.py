"""A generated hourly climatology for Leeds, deterministic from a seed.

Monthly mean air temperature and relative humidity are rounded from the Met Office's
1991–2020 climate averages for Leeds/Bingley (mean of daily max and min): the shape of
a real year, not a record of one. On top: a daily cycle (larger in summer), synoptic
weather as an AR(1) process with a 3-day memory, and an optional winter cold snap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

__all__ = ["LEEDS_MONTHLY_RH_PCT", "LEEDS_MONTHLY_TEMP_C", "ColdSnap", "hourly_weather"]

#: Jan…Dec mean air temperature [°C] (Met Office 1991–2020, Leeds/Bingley, rounded)
LEEDS_MONTHLY_TEMP_C = (4.2, 4.5, 6.2, 8.5, 11.5, 14.3, 16.3, 16.0, 13.6, 10.3, 6.8, 4.5)
#: Jan…Dec mean relative humidity [%] (typical inland northern England, rounded)
LEEDS_MONTHLY_RH_PCT = (87, 84, 80, 76, 74, 74, 75, 77, 80, 84, 87, 88)


@dataclass(frozen=True)
class ColdSnap:
    """Days ``start_day`` … ``start_day + days`` of the series are ``depth_c`` colder
    (daily minimum below −4 °C in a Leeds winter)."""

    start_day: int
    days: int
    depth_c: float = 7.0


def hourly_weather(
    start: int, hours: int, seed: int, cold_snap: ColdSnap | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Outdoor temperature [°C] and RH [%] for ``hours`` hours from Unix ``start``."""
    rng = np.random.default_rng(seed)
    ts = start + 3600 * np.arange(hours)
    doy = np.array([datetime.fromtimestamp(int(t), UTC).timetuple().tm_yday for t in ts[::24]])
    doy = np.repeat(doy, 24)[:hours]
    months = np.arange(12) * 30.4 + 15
    temp_clim = np.interp(doy, months, LEEDS_MONTHLY_TEMP_C, period=365)
    rh_clim = np.interp(doy, months, LEEDS_MONTHLY_RH_PCT, period=365)
    hour = (ts // 3600) % 24
    amplitude = 2.5 + 2.0 * (temp_clim - 4) / 12
    daily = -np.cos((hour - 3) / 24 * 2 * np.pi)  # coldest ~03:00, warmest ~15:00
    # synoptic weather: AR(1) with a 72-hour memory
    phi = np.exp(-1 / 72)
    shocks = rng.normal(0, 2.5 * np.sqrt(1 - phi**2), hours)
    synoptic = np.empty(hours)
    level = rng.normal(0, 2.5)
    for k in range(hours):
        level = phi * level + shocks[k]
        synoptic[k] = level
    temp = temp_clim + amplitude * daily + synoptic
    if cold_snap is not None:
        day = np.arange(hours) / 24
        inside = (day >= cold_snap.start_day) & (day < cold_snap.start_day + cold_snap.days)
        ramp = np.clip(
            np.minimum(day - cold_snap.start_day, cold_snap.start_day + cold_snap.days - day), 0, 1
        )
        temp = temp - np.where(inside, cold_snap.depth_c * ramp, 0.0)
    rh = np.clip(rh_clim - 12 * daily - 1.5 * synoptic + rng.normal(0, 2, hours), 35, 100)
    return temp, rh
