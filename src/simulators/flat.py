"""Heat and moisture balance of rooms (one node each, 1R1C), vectorised over many rooms.

Heat [1]_::

    C·dT/dt = Q_heat + Q_gain − H·(T − T_ref)

with ``T`` the room air temperature [°C], ``C`` the heat capacity [J/K], ``H`` the heat
loss coefficient [W/K], ``Q_heat`` the heater's output [W] (a thermostat inside a daily
schedule: on below the setpoint, off 0.5 K above it, at most ``heater_w``) and
``Q_gain`` occupants' and appliances' gains [W]. In a tower block part of a room's loss
is through party walls and floors to neighbours, not outdoors:
``T_ref = (1 − s)·T_e + s·T_neighbour`` with the share ``s``; ``s = 0`` is a detached
room. With the heating off and ``s = 0`` the room cools as
``T(t) = T_e + (T_0 − T_e)·exp(−t/τ)``, ``τ = C/H`` (``science.md``, 1R1C).

Moisture [2]_::

    dρ/dt = G/V − n·(ρ − ρ_e)

with ``ρ`` the indoor vapour density [g/m³], ``G`` the moisture released in the room
[g/s] (breathing, cooking, showers, clothes drying, a leak), ``V`` the volume [m³], ``n``
the air change rate [1/s] (background infiltration and trickle vents, raised while an
extractor fan runs) and ``ρ_e`` the outdoor vapour density. Vapour above saturation at
the room temperature condenses (RH is capped at 100 %). The steady state is
``ρ = ρ_e + G/(n·V)``.

Both balances are integrated exactly over each step for forcing held constant during
the step (exponential integrator): with ``a = exp(−Δt/τ)``,
``T[k+1] = T_ss + (T[k] − T_ss)·a``, ``T_ss = T_ref + Q/H``. So a step of 5 minutes has
no discretisation error for constant forcing, and the scheme is stable for any τ.

The coldest internal surface follows the temperature factor (BS EN ISO 13788, BRE
IP1/06): ``θ_si = θ_e + f_Rsi·(T − θ_e)``.

References
----------
.. [1] CIBSE Guide A (2015), *Environmental design*: fabric and ventilation heat loss
   ``Q = H·ΔT``; one lumped capacity gives the 1R1C model (``science.md``).
.. [2] BS 5250:2021, *Management of moisture in buildings*: the well-mixed moisture
   balance of a ventilated space, steady state ``Δρ = G/(n·V)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "R_V",
    "STEP_S",
    "RoomClimate",
    "RoomDrivers",
    "RoomParams",
    "rh_from_vapour_density",
    "saturation_density",
    "saturation_vapour_pressure",
    "simulate_rooms",
    "surface_temperature",
    "vapour_density",
]

#: The firmware's default sample interval [s] (contract config ``sample_s``).
STEP_S = 300
#: Specific gas constant of water vapour [J/(kg·K)].
R_V = 461.5
#: Thermostat hysteresis [K]: on below the setpoint, off this far above it.
HYSTERESIS_K = 0.5

Array = NDArray[np.float64]


def saturation_vapour_pressure(temp_c: ArrayLike) -> Array:
    """Saturation vapour pressure over water [Pa] at ``temp_c`` [°C].

    Magnus form with Alduchov & Eskridge (1996) constants (``science.md``):
    ``e_s = 610.94·exp(17.625·T / (243.04 + T))``.
    """
    t = np.asarray(temp_c, dtype=np.float64)
    return np.asarray(610.94 * np.exp(17.625 * t / (243.04 + t)))


def vapour_density(temp_c: ArrayLike, rh_pct: ArrayLike) -> Array:
    """Water vapour density [g/m³] of air at ``temp_c`` [°C] and ``rh_pct`` [%]:
    ``ρ_v = 1000·p_v / (R_v·(T + 273.15))``, ``p_v = RH/100·e_s(T)`` (``science.md``)."""
    t = np.asarray(temp_c, dtype=np.float64)
    rh = np.asarray(rh_pct, dtype=np.float64)
    return np.asarray(1000.0 * rh / 100.0 * saturation_vapour_pressure(t) / (R_V * (t + 273.15)))


def saturation_density(temp_c: ArrayLike) -> Array:
    """Vapour density of saturated air [g/m³] at ``temp_c`` [°C]."""
    t = np.asarray(temp_c, dtype=np.float64)
    return vapour_density(t, np.full_like(t, 100.0))


def rh_from_vapour_density(temp_c: ArrayLike, rho_g_m3: ArrayLike) -> Array:
    """Relative humidity [%] of air at ``temp_c`` [°C] holding ``rho_g_m3`` [g/m³] of
    vapour (the inverse of :func:`vapour_density`), not capped."""
    t = np.asarray(temp_c, dtype=np.float64)
    rho = np.asarray(rho_g_m3, dtype=np.float64)
    return np.asarray(100.0 * rho * R_V * (t + 273.15) / 1000.0 / saturation_vapour_pressure(t))


def surface_temperature(indoor_c: ArrayLike, outdoor_c: ArrayLike, f_rsi: ArrayLike) -> Array:
    """Coldest internal surface temperature [°C] from the temperature factor:
    ``θ_si = θ_e + f_Rsi·(θ_i − θ_e)`` (BS EN ISO 13788; BRE IP1/06)."""
    ti = np.asarray(indoor_c, dtype=np.float64)
    te = np.asarray(outdoor_c, dtype=np.float64)
    return np.asarray(te + np.asarray(f_rsi, dtype=np.float64) * (ti - te))


@dataclass
class RoomParams:
    """Per-room constants, arrays of length ``n`` (one entry per room).

    ``h_w_per_k`` H [W/K]; ``c_j_per_k`` C [J/K] (τ = C/H); ``volume_m3`` V [m³];
    ``ach_per_h`` background air changes [1/h] (infiltration and trickle vents);
    ``f_rsi`` temperature factor of the coldest surface [–]; ``heater_w`` heater output
    [W]; ``initial_c`` air temperature at the first step [°C]; ``neighbour_share`` the
    share of H that goes to neighbours at ``neighbour_c`` [°C] rather than outdoors;
    ``initial_vapour_g_m3`` vapour density at the first step (default: outdoor + 2 g/m³).
    """

    h_w_per_k: Array
    c_j_per_k: Array
    volume_m3: Array
    ach_per_h: Array
    f_rsi: Array
    heater_w: Array
    initial_c: Array
    neighbour_share: float | Array = 0.5
    neighbour_c: float = 18.0
    initial_vapour_g_m3: Array | None = None

    @property
    def tau_h(self) -> Array:
        """The cooling time constant τ = C/H [h]."""
        return np.asarray(self.c_j_per_k / self.h_w_per_k / 3600.0)


@dataclass
class RoomDrivers:
    """What drives each room at each step, arrays ``(n, steps)``.

    ``setpoint_c`` thermostat setpoint [°C]; ``heating_allowed`` the schedule (and
    whether the household can afford to heat); ``gains_w`` free heat gains [W];
    ``moisture_g_per_s`` moisture released [g/s]; ``ach_boost`` extra air changes [1/h]
    (extractor fan running, window open).
    """

    setpoint_c: Array
    heating_allowed: NDArray[np.bool_]
    gains_w: Array
    moisture_g_per_s: Array
    ach_boost: Array

    @classmethod
    def idle(cls, n: int, steps: int) -> RoomDrivers:
        """No heating, no gains, no moisture, no boost."""
        return cls(
            setpoint_c=np.zeros((n, steps)),
            heating_allowed=np.zeros((n, steps), dtype=bool),
            gains_w=np.zeros((n, steps)),
            moisture_g_per_s=np.zeros((n, steps)),
            ach_boost=np.zeros((n, steps)),
        )


@dataclass
class RoomClimate:
    """Simulated state ``(n, steps)``: air temperature [°C], air RH [%], coldest
    surface temperature [°C], whether the heater ran during the step, and the vapour
    density [g/m³]."""

    temp_c: Array
    rh_pct: Array
    surface_c: Array
    heating_on: NDArray[np.bool_]
    vapour_g_m3: Array = field(repr=False)


def simulate_rooms(
    p: RoomParams,
    outdoor_c: ArrayLike,
    outdoor_rh: ArrayLike,
    drivers: RoomDrivers,
    *,
    step_s: float = STEP_S,
) -> RoomClimate:
    """Integrate the heat and moisture balances of ``n`` rooms over ``steps`` steps.

    Parameters
    ----------
    p : RoomParams
        Per-room constants (length ``n``).
    outdoor_c, outdoor_rh : array ``(steps,)``
        Outdoor air temperature [°C] and relative humidity [%].
    drivers : RoomDrivers
        Schedules and sources, arrays ``(n, steps)``.
    step_s : float
        Step [s]; state ``k`` is the room at the *end* of step ``k``.
    """
    te_all = np.asarray(outdoor_c, dtype=np.float64)
    rho_e_all = vapour_density(te_all, np.asarray(outdoor_rh, dtype=np.float64))
    n, steps = drivers.heating_allowed.shape
    if te_all.shape != (steps,):
        raise ValueError(f"outdoor series has shape {te_all.shape}; expected ({steps},)")
    # time-major copies: each step reads one contiguous row
    setpoint = np.ascontiguousarray(drivers.setpoint_c.T)
    allowed = np.ascontiguousarray(drivers.heating_allowed.T)
    gains = np.ascontiguousarray(drivers.gains_w.T)
    moisture = np.ascontiguousarray(drivers.moisture_g_per_s.T)
    boost = np.ascontiguousarray(drivers.ach_boost.T)
    temp = np.empty((steps, n))
    rho = np.empty((steps, n))
    heat_on = np.empty((steps, n), dtype=bool)

    h = np.asarray(p.h_w_per_k, dtype=np.float64)
    share = np.asarray(p.neighbour_share, dtype=np.float64)
    decay_t = np.exp(-h * step_s / p.c_j_per_k)
    t = np.asarray(p.initial_c, dtype=np.float64).copy()
    r = (
        np.full(n, rho_e_all[0] + 2.0)
        if p.initial_vapour_g_m3 is None
        else np.asarray(p.initial_vapour_g_m3, dtype=np.float64).copy()
    )
    heating = np.zeros(n, dtype=bool)
    volume = np.asarray(p.volume_m3, dtype=np.float64)
    for k in range(steps):
        t_ref = (1.0 - share) * te_all[k] + share * p.neighbour_c
        sp = setpoint[k]
        heating = allowed[k] & np.where(heating, t < sp + HYSTERESIS_K, t < sp)
        q = np.where(heating, p.heater_w, 0.0) + gains[k]
        t_ss = t_ref + q / h
        t = t_ss + (t - t_ss) * decay_t
        n_per_s = (p.ach_per_h + boost[k]) / 3600.0
        r_ss = rho_e_all[k] + moisture[k] / (n_per_s * volume)
        r = r_ss + (r - r_ss) * np.exp(-n_per_s * step_s)
        r = np.minimum(r, saturation_density(t))
        temp[k] = t
        rho[k] = r
        heat_on[k] = heating
    temp_n = np.ascontiguousarray(temp.T)
    rho_n = np.ascontiguousarray(rho.T)
    rh = np.minimum(rh_from_vapour_density(temp_n, rho_n), 100.0)
    surface = surface_temperature(temp_n, te_all[None, :], np.asarray(p.f_rsi)[:, None])
    return RoomClimate(
        temp_c=temp_n,
        rh_pct=rh,
        surface_c=surface,
        heating_on=np.ascontiguousarray(heat_on.T),
        vapour_g_m3=rho_n,
    )
