"""Compatibility: the first ``simulate_rooms`` signature over :mod:`simulators.flat`."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from simulators.flat import (
    STEP_S,
    RoomDrivers,
    RoomParams,
    saturation_density,
    vapour_density,
)
from simulators.flat import simulate_rooms as _simulate_rooms

__all__ = ["STEP_S", "RoomParams", "saturation_density", "simulate_rooms", "vapour_density"]

Array = NDArray[np.float64]


def simulate_rooms(
    p: RoomParams,
    outdoor_c: Array,
    outdoor_rh: Array,
    setpoint_c: Array,
    heating_allowed: NDArray[np.bool_],
    gains_w: Array,
    moisture_g_per_s: Array,
    ach_boost: Array,
) -> tuple[Array, Array, Array]:
    """Air temperature [°C], RH [%] and coldest-surface temperature [°C], ``(n, steps)``."""
    climate = _simulate_rooms(
        p,
        outdoor_c,
        outdoor_rh,
        RoomDrivers(setpoint_c, heating_allowed, gains_w, moisture_g_per_s, ach_boost),
    )
    return climate.temp_c, climate.rh_pct, climate.surface_c
