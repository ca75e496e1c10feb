"""Heat and moisture balance of rooms, vectorised over many rooms: one air node per
room, a wall with its own thermal mass, a cold surface that condenses and dries, and a
hygroscopic buffer (furnishings, plaster).

Heat [1]_::

    C·dT/dt = Q_heat + Q_gain − H·(T − T_ref) − ρc_p·n·V·(T − T_e)

with ``T`` the room air temperature [°C], ``C`` the heat capacity [J/K], ``H`` the
fabric heat loss coefficient [W/K], ``ρc_p·n·V`` the ventilation loss (``ρc_p`` =
1200 J/(m³·K), ``n`` the air change rate, ``V`` the volume), ``Q_heat`` the heater's
output [W] (a thermostat inside a daily schedule: on below the setpoint, off 0.5 K
above it, at most ``heater_w``) and ``Q_gain`` occupants' and appliances' gains [W]. In
a tower block part of the fabric loss is through party walls and floors to neighbours:
``T_ref = (1 − s)·T_e + s·T_neighbour`` with the share ``s``. With the heating off the
room cools with ``τ = C/(H + ρc_p·n·V)``.

The coldest wall (a corner, a reveal, a thermal bridge) is a two-resistance wall with a
mass in the middle [2]_: surface resistance ``R_si`` = 0.25 m²·K/W (the value BS EN ISO
13788 uses for the surface-condensation check), then ``R_1`` to the mass node, then
``R_2`` to outdoors, ``R_1 = R_2`` and ``R_si + R_1 + R_2 = R_si/(1 − f_Rsi)`` so that in
steady state the surface is at ``θ_e + f_Rsi·(T − θ_e)``. The mass node responds to
the air and the outdoor temperature with the wall's own time constant ``wall_tau_h``
(a heavy masonry or concrete wall: one to three days); the surface sits between the
air and the mass node. So the surface follows outdoor swings with a lag, as real walls
do, and not by the instantaneous formula a monitor applies.

Moisture [3]_::

    V·dρ/dt = G − n·V·(ρ − ρ_e) − g_c − g_b

with ``ρ`` the vapour density [g/m³], ``G`` the moisture released [g/s], ``ρ_e`` the
outdoor vapour density, ``g_c`` the flux to the cold surface and ``g_b`` to the buffer:

- **condensation and re-evaporation** ``g_c = β·A·(p − e_s(θ_si))`` [g/s] while the
  air's vapour pressure ``p`` is above saturation at the surface, or while water is on
  the surface (then it evaporates, at most what is there). ``β`` = 1.6·10⁻⁵
  g/(m²·s·Pa) is the vapour-pressure mass-transfer coefficient from the Lewis relation
  ``β = h_c/(ρc_p·R_v·T)`` with a convective coefficient ``h_c`` of 2.5 W/(m²·K) (still
  indoor air at a wall, CIBSE Guide C); ``A`` is the area of the cold patch. The water
  on the surface is a state (grams); nothing is deleted, so the air sits near
  ``e_s(θ_si)`` while the wall is wet, below 100 % RH.
- **buffering** ``g_b = K/τ_b·(φ − φ_b)``: a hygroscopic store of capacity ``K`` [g per
  unit RH] with relative humidity ``φ_b`` exchanging with the air (``φ``) with the time
  constant ``τ_b``, a one-layer effective-moisture-penetration-depth model [4]_.

The air's heat and ventilation are integrated exactly over each step for forcing held
constant during the step (exponential integrator): ``T[k+1] = T_ss + (T[k] − T_ss)·a``,
``a = exp(−Δt/τ)``; the wall's mass node the same way; the surface and buffer fluxes
explicitly (their time constants are hours, the step 5 minutes), each limited so that
it cannot overshoot its equilibrium.

References
----------
.. [1] CIBSE Guide A (2015), *Environmental design*: fabric and ventilation heat loss.
.. [2] BS EN ISO 13788:2012, *Hygrothermal performance of building components and
   building elements — internal surface temperature to avoid critical surface humidity*:
   the temperature factor and the surface resistance for the check.
.. [3] BS 5250:2021, *Management of moisture in buildings*: the well-mixed moisture
   balance of a ventilated space, steady state ``Δρ = G/(n·V)``.
.. [4] Cunningham, M. J. (1992), Effective penetration depth and effective resistance
   in moisture transfer, *Building and Environment* 27(3); Woods, J. & Winkler, J.
   (2018), Effective moisture penetration depth model for residential buildings, NREL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BETA_G_M2_S_PA",
    "RHO_CP",
    "R_SI",
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
#: Volumetric heat capacity of air [J/(m³·K)] (ρ ≈ 1.2 kg/m³, c_p ≈ 1005 J/(kg·K)).
RHO_CP = 1200.0
#: Internal surface resistance for the surface-condensation check [m²·K/W] (ISO 13788).
R_SI = 0.25
#: Vapour-pressure mass-transfer coefficient at an indoor wall [g/(m²·s·Pa)]: Lewis
#: relation with h_c = 2.5 W/(m²·K) at 15 °C: 2.5 / (1200 · 461.5 · 288.15) · 1000.
BETA_G_M2_S_PA = 2.5 / (RHO_CP * R_V * 288.15) * 1000.0
#: Thermostat hysteresis [K]: on below the setpoint, off this far above it.
HYSTERESIS_K = 0.5

Array = NDArray[np.float64]


def saturation_vapour_pressure(temp_c: ArrayLike) -> Array:
    """Saturation vapour pressure over water [Pa] at ``temp_c`` [°C].

    Magnus form with Alduchov & Eskridge (1996) constants:
    ``e_s = 610.94·exp(17.625·T / (243.04 + T))``.
    """
    t = np.asarray(temp_c, dtype=np.float64)
    return np.asarray(610.94 * np.exp(17.625 * t / (243.04 + t)))


def vapour_density(temp_c: ArrayLike, rh_pct: ArrayLike) -> Array:
    """Water vapour density [g/m³] of air at ``temp_c`` [°C] and ``rh_pct`` [%]:
    ``ρ_v = 1000·p_v / (R_v·(T + 273.15))``, ``p_v = RH/100·e_s(T)``."""
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
    """Steady-state coldest surface temperature [°C] from the temperature factor:
    ``θ_si = θ_e + f_Rsi·(θ_i − θ_e)`` (BS EN ISO 13788; BRE IP1/06)."""
    ti = np.asarray(indoor_c, dtype=np.float64)
    te = np.asarray(outdoor_c, dtype=np.float64)
    return np.asarray(te + np.asarray(f_rsi, dtype=np.float64) * (ti - te))


@dataclass
class RoomParams:
    """Per-room constants, arrays of length ``n`` (one entry per room).

    ``h_w_per_k`` fabric H [W/K]; ``c_j_per_k`` C [J/K]; ``volume_m3`` V [m³];
    ``ach_per_h`` background air changes [1/h] (infiltration and trickle vents);
    ``f_rsi`` steady-state temperature factor of the coldest surface [–]; ``heater_w``
    heater output [W]; ``initial_c`` air temperature at the first step [°C];
    ``neighbour_share`` the share of H that goes to neighbours at ``neighbour_c`` [°C];
    ``initial_vapour_g_m3`` vapour density at the first step (default: outdoor +
    2 g/m³); ``wall_tau_h`` the wall mass's time constant [h] (0: a wall without mass,
    the steady formula at every step); ``cold_area_m2`` the area of the cold patch that
    condenses [m²] (0: none); ``buffer_g`` the buffer's capacity [g per unit RH] (0:
    none) and ``buffer_tau_h`` its time constant [h]; ``ventilation_heat`` whether
    ventilation carries heat out (it does; off only for textbook checks).
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
    wall_tau_h: float | Array = 0.0
    cold_area_m2: float | Array = 0.0
    buffer_g: float | Array = 0.0
    buffer_tau_h: float | Array = 3.0
    ventilation_heat: bool = True

    @property
    def tau_h(self) -> Array:
        """The cooling time constant with the background ventilation [h]:
        ``C/(H + ρc_p·n·V)``."""
        return np.asarray(self.c_j_per_k / self.total_h_w_per_k(0.0) / 3600.0)

    def total_h_w_per_k(self, boost_ach: ArrayLike) -> Array:
        """Fabric plus ventilation heat loss coefficient [W/K] at ``ach + boost``."""
        if not self.ventilation_heat:
            return np.asarray(self.h_w_per_k, dtype=np.float64)
        n = np.asarray(self.ach_per_h, dtype=np.float64) + np.asarray(boost_ach)
        return np.asarray(self.h_w_per_k + RHO_CP * n * self.volume_m3 / 3600.0)


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
    """Simulated state ``(n, steps)``: air temperature [°C], air RH [%], coldest surface
    temperature [°C], whether the heater ran during the step, vapour density [g/m³],
    the RH at the coldest surface [%] (100 while it is wet), the water on it [g] and
    the buffer's moisture [g, relative to dry]."""

    temp_c: Array
    rh_pct: Array
    surface_c: Array
    heating_on: NDArray[np.bool_]
    vapour_g_m3: Array = field(repr=False)
    surface_rh_pct: Array = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    water_g: Array = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    buffer_g: Array = field(repr=False, default_factory=lambda: np.zeros((0, 0)))


def _per_room(value: float | Array, n: int) -> Array:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()


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
    rho_out = np.empty((steps, n))
    surf_out = np.empty((steps, n))
    srh_out = np.empty((steps, n))
    water_out = np.empty((steps, n))
    buffer_out = np.empty((steps, n))
    heat_on = np.empty((steps, n), dtype=bool)

    h = np.asarray(p.h_w_per_k, dtype=np.float64)
    c = np.asarray(p.c_j_per_k, dtype=np.float64)
    share = _per_room(p.neighbour_share, n)
    volume = np.asarray(p.volume_m3, dtype=np.float64)
    ach = np.asarray(p.ach_per_h, dtype=np.float64)
    vent_w_per_k_ach = RHO_CP * volume / 3600.0 if p.ventilation_heat else np.zeros(n)
    heater = np.asarray(p.heater_w, dtype=np.float64)
    # wall: R_si, then R_1 to the mass node, R_2 outdoors (R_1 = R_2)
    f = np.clip(_per_room(p.f_rsi, n), 0.05, 0.99)
    r_rest = R_SI / (1.0 - f) - R_SI
    u_in = 1.0 / (R_SI + r_rest / 2)  # air -> mass node, through R_si + R_1
    u_out = 1.0 / (r_rest / 2)  # mass node -> outdoors
    w_air = (1.0 / R_SI) / (1.0 / R_SI + 2.0 / r_rest)  # surface = w·T + (1 − w)·θ_m
    wall_tau = _per_room(p.wall_tau_h, n) * 3600.0
    wall_a = np.where(wall_tau > 0, np.exp(-step_s / np.maximum(wall_tau, 1e-9)), 0.0)
    area = _per_room(p.cold_area_m2, n)
    beta_a = BETA_G_M2_S_PA * area  # g/(s·Pa)
    cap_b = _per_room(p.buffer_g, n)
    rate_b = np.where(cap_b > 0, step_s / (_per_room(p.buffer_tau_h, n) * 3600.0), 0.0)
    rate_b = np.minimum(rate_b, 0.5)

    t = np.asarray(p.initial_c, dtype=np.float64).copy()
    r = (
        np.full(n, rho_e_all[0] + 2.0)
        if p.initial_vapour_g_m3 is None
        else np.asarray(p.initial_vapour_g_m3, dtype=np.float64).copy()
    )
    mass = (u_in * t + u_out * te_all[0]) / (u_in + u_out)
    water = np.zeros(n)
    phi_b = np.minimum(r / saturation_density(t), 1.0)  # buffer starts with the air
    buffered = np.zeros(n)
    heating = np.zeros(n, dtype=bool)
    k_to_c = 273.15
    for k in range(steps):
        te = te_all[k]
        t_ref = (1.0 - share) * te + share * p.neighbour_c
        sp = setpoint[k]
        heating = allowed[k] & np.where(heating, t < sp + HYSTERESIS_K, t < sp)
        q = np.where(heating, heater, 0.0) + gains[k]
        n_h = ach + boost[k]
        h_vent = vent_w_per_k_ach * n_h
        h_all = h + h_vent
        t_ss = (h * t_ref + h_vent * te + q) / h_all
        t = t_ss + (t - t_ss) * np.exp(-h_all * step_s / c)
        # the wall's mass node, then its surface
        m_ss = (u_in * t + u_out * te) / (u_in + u_out)
        mass = m_ss + (mass - m_ss) * wall_a
        theta = w_air * t + (1.0 - w_air) * mass
        # ventilation and sources, exact for the step
        n_per_s = n_h / 3600.0
        r_ss = rho_e_all[k] + moisture[k] / (n_per_s * volume)
        r = r_ss + (r - r_ss) * np.exp(-n_per_s * step_s)
        # the cold surface: condense above its saturation, re-evaporate what is there
        e_surf = saturation_vapour_pressure(theta)
        p_air = r * (R_V / 1000.0) * (t + k_to_c)
        dm = beta_a * (p_air - e_surf) * step_s  # g onto the surface
        rho_surf = e_surf / ((R_V / 1000.0) * (t + k_to_c))  # air density at e_s(θ)
        lim = (r - rho_surf) * volume  # no overshoot past e_s(θ) either way
        dm = np.where(
            dm > 0, np.minimum(dm, np.maximum(lim, 0.0)), np.maximum(dm, np.minimum(lim, 0.0))
        )
        np.maximum(dm, -water, out=dm)
        water += dm
        r = r - dm / volume
        # the hygroscopic buffer
        rho_sat = saturation_density(t)
        flux_b = cap_b * rate_b * (r / rho_sat - phi_b)  # g into the buffer this step
        flux_b = np.minimum(flux_b, r * volume * 0.5)
        phi_b = phi_b + np.where(cap_b > 0, flux_b / np.maximum(cap_b, 1e-9), 0.0)
        buffered += flux_b
        r = r - flux_b / volume
        temp[k] = t
        rho_out[k] = r
        surf_out[k] = theta
        p_air = r * (R_V / 1000.0) * (t + k_to_c)
        srh_out[k] = np.where(water > 1e-6, 100.0, np.minimum(100.0 * p_air / e_surf, 100.0))
        water_out[k] = water
        buffer_out[k] = buffered
        heat_on[k] = heating
    temp_n = np.ascontiguousarray(temp.T)
    rho_n = np.ascontiguousarray(rho_out.T)
    rh = np.minimum(rh_from_vapour_density(temp_n, rho_n), 100.0)
    return RoomClimate(
        temp_c=temp_n,
        rh_pct=rh,
        surface_c=np.ascontiguousarray(surf_out.T),
        heating_on=np.ascontiguousarray(heat_on.T),
        vapour_g_m3=rho_n,
        surface_rh_pct=np.ascontiguousarray(srh_out.T),
        water_g=np.ascontiguousarray(water_out.T),
        buffer_g=np.ascontiguousarray(buffer_out.T),
    )
