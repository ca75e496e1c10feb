"""Heat and moisture balance of rooms (1R1C), vectorised over many rooms.

Heat: ``C·dT/dt = Q_heat + Q_gain − H·(T − T_ref)``, explicit Euler at 5-minute steps
(stable: τ = C/H is tens of hours). The heating is a thermostat (on below the setpoint,
off 0.5 K above it) inside a daily schedule, at most ``heater_w``.

Moisture: ``dρ/dt = G/V − n·(ρ − ρ_e)`` with ρ the vapour density [g/m³], G the moisture
released in the room [g/s] (breathing, cooking, showers, clothes drying, a leak), V the
room volume [m³] and n the air change rate [1/s] (raised while an extractor fan runs).
Vapour above saturation condenses (RH is capped at 100 %).

In a tower block part of a flat's heat loss is to its neighbours through party walls
and floors, not outdoors: ``T_ref = (1 − s)·T_e + s·T_neighbour`` with the share ``s``
(0.5 by default) and neighbours at 18 °C.

The coldest (external) wall surface follows the temperature factor: θ_si = θ_e + f_Rsi·(T − θ_e).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["STEP_S", "RoomParams", "saturation_density", "simulate_rooms", "vapour_density"]

STEP_S = 300
R_V = 461.5


def _e_s(temp_c: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(610.94 * np.exp(17.625 * temp_c / (243.04 + temp_c)))


def vapour_density(temp_c: NDArray[np.float64], rh_pct: NDArray[np.float64]) -> NDArray[np.float64]:
    """Water vapour density [g/m³] of air at ``temp_c`` [°C] and ``rh_pct`` [%]."""
    return np.asarray(1000.0 * rh_pct / 100.0 * _e_s(temp_c) / (R_V * (temp_c + 273.15)))


def saturation_density(temp_c: NDArray[np.float64]) -> NDArray[np.float64]:
    return vapour_density(temp_c, np.full_like(temp_c, 100.0))


@dataclass
class RoomParams:
    """Per-room arrays (length n) describing the rooms to simulate."""

    h_w_per_k: NDArray[np.float64]  # heat loss coefficient H [W/K]
    c_j_per_k: NDArray[np.float64]  # heat capacity C [J/K]
    volume_m3: NDArray[np.float64]
    ach_per_h: NDArray[np.float64]  # background air changes per hour
    f_rsi: NDArray[np.float64]
    heater_w: NDArray[np.float64]
    initial_c: NDArray[np.float64]
    neighbour_share: float = 0.5
    neighbour_c: float = 18.0


def simulate_rooms(
    p: RoomParams,
    outdoor_c: NDArray[np.float64],
    outdoor_rh: NDArray[np.float64],
    setpoint_c: NDArray[np.float64],
    heating_allowed: NDArray[np.bool_],
    gains_w: NDArray[np.float64],
    moisture_g_per_s: NDArray[np.float64],
    ach_boost: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Air temperature [°C], RH [%] and coldest-surface temperature [°C], ``(n, steps)``.

    ``outdoor_*`` are ``(steps,)``; the rest of the drivers are ``(n, steps)``.
    """
    n, steps = heating_allowed.shape
    dt = float(STEP_S)
    temp = np.empty((n, steps))
    rho = np.empty((n, steps))
    t = p.initial_c.astype(np.float64).copy()
    rho_e = vapour_density(outdoor_c, outdoor_rh)
    r = np.full(n, rho_e[0]) + 2.0
    heating = np.zeros(n, dtype=bool)
    decay_h = p.h_w_per_k * dt / p.c_j_per_k
    for k in range(steps):
        te = (1 - p.neighbour_share) * outdoor_c[k] + p.neighbour_share * p.neighbour_c
        heating = heating_allowed[:, k] & np.where(
            heating, t < setpoint_c[:, k] + 0.5, t < setpoint_c[:, k]
        )
        q = np.where(heating, p.heater_w, 0.0) + gains_w[:, k]
        t = t + q * dt / p.c_j_per_k - decay_h * (t - te)
        n_s = (p.ach_per_h + ach_boost[:, k]) / 3600.0
        r = r + moisture_g_per_s[:, k] / p.volume_m3 * dt - n_s * dt * (r - rho_e[k])
        r = np.minimum(r, saturation_density(t))
        temp[:, k] = t
        rho[:, k] = r
    rh = 100.0 * rho * R_V * (temp + 273.15) / 1000.0 / _e_s(temp)
    surface = outdoor_c[None, :] + p.f_rsi[:, None] * (temp - outdoor_c[None, :])
    return temp, np.minimum(rh, 100.0), surface
