"""The physical room model: a 1R1C heat balance and a well-mixed moisture balance per
room, stepped together for many rooms at once (numpy arrays of shape ``(rooms, steps)``).

Heat (one resistance, one capacitance; ``science.md`` "Building thermal response")::

    C · dT_i/dt = Q_heat + Q_gains − H · (T_i − T_e)

Moisture (vapour density of well-mixed room air; BS EN ISO 13788 Annex A form)::

    V · dρ_i/dt = G − n · V · (ρ_i − ρ_e)          (G in g/h, n in 1/h)

Both are integrated *exactly* over each time step with the inputs held constant during
the step (an exponential integrator), so a steady state is the analytic one
(``T_i = T_e + Q/H``, ``ρ_i = ρ_e + G/(n·V)``) and free cooling follows
``T_e + (T_0 − T_e)·exp(−t/τ)``, ``τ = C/H``, to rounding error, whatever the step.

The thermostat is ideal with limited power: in each step the heater delivers the power
that brings the air to the setpoint by the end of the step, clipped to ``[0, heater_w]``.
A setpoint of ``-inf`` means heating off (outside the schedule, or disconnected).

Vapour above saturation at the air temperature condenses out (the room air is capped at
100 % RH); the coldest surface follows ``θ_si = θ_e + f_Rsi·(θ_i − θ_e)`` (BS EN ISO
13788, BRE IP1/06) with no thermal lag of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from simulators.flatsim.psychro import (
    relative_humidity_pct,
    saturation_vapour_density_g_m3,
    surface_temperature_c,
)

__all__ = ["HEATING_OFF", "RoomDrivers", "RoomParams", "RoomStates", "simulate_rooms"]

FloatArray = NDArray[np.float64]

#: Setpoint meaning "heating off" in :class:`RoomDrivers`.
HEATING_OFF = -np.inf

# saturation vapour density = 1000·610.94/461.5 · exp(17.625·T/(243.04+T)) / (T+273.15),
# inlined in the time loop (psychro.saturation_vapour_density_g_m3 is the reference)
_RHO_SAT_K = 1000.0 * 610.94 / 461.5
_B = 17.625
_C = 243.04


@dataclass(frozen=True, slots=True)
class RoomParams:
    """Fixed properties of ``R`` rooms, each an array of shape ``(R,)``.

    heat_loss_w_k : H, fabric and ventilation heat loss to outside [W/K]
    capacity_j_k : C, effective heat capacity [J/K] (τ = C/H)
    heater_w : maximum heating power [W]
    volume_m3 : air volume [m³]
    f_rsi : temperature factor of the coldest surface [-]
    """

    heat_loss_w_k: FloatArray
    capacity_j_k: FloatArray
    heater_w: FloatArray
    volume_m3: FloatArray
    f_rsi: FloatArray

    @property
    def tau_s(self) -> FloatArray:
        """Time constant τ = C/H [s]."""
        return np.asarray(self.capacity_j_k / self.heat_loss_w_k, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class RoomDrivers:
    """Inputs per step. Outdoor arrays have shape ``(N,)``; the others ``(R, N)``.

    outdoor_c : outdoor air temperature T_e [°C]
    outdoor_vapour_g_m3 : outdoor vapour density ρ_e [g/m³]
    setpoint_c : thermostat setpoint [°C]; ``HEATING_OFF`` (−inf) when not heating
    gains_w : internal gains (people, appliances, heat from neighbours) [W]
    moisture_g_h : moisture released into the room air G [g/h]
    air_changes_h : ventilation and infiltration air change rate n [1/h], > 0
    """

    outdoor_c: FloatArray
    outdoor_vapour_g_m3: FloatArray
    setpoint_c: FloatArray
    gains_w: FloatArray
    moisture_g_h: FloatArray
    air_changes_h: FloatArray


@dataclass(frozen=True, slots=True)
class RoomStates:
    """Simulated state at the *start* of each step, arrays of shape ``(R, N)``.

    air_c [°C], vapour_g_m3 [g/m³], rh_pct [%] (≤ 100), surface_c [°C], heat_w [W]
    """

    air_c: FloatArray
    vapour_g_m3: FloatArray
    rh_pct: FloatArray
    surface_c: FloatArray
    heat_w: FloatArray


def simulate_rooms(
    params: RoomParams,
    drivers: RoomDrivers,
    *,
    sample_s: int = 300,
    initial_c: FloatArray | float | None = None,
    initial_vapour_g_m3: FloatArray | float | None = None,
) -> RoomStates:
    """Step ``R`` rooms through ``N`` steps of ``sample_s`` seconds.

    ``initial_c`` defaults to the free-running equilibrium at the first step (or the
    setpoint when heating is on); ``initial_vapour_g_m3`` to the moisture equilibrium.
    The state recorded at step ``k`` is the state at the start of that step.
    """
    h = np.asarray(params.heat_loss_w_k, dtype=np.float64)
    r = h.shape[0]
    te = np.asarray(drivers.outdoor_c, dtype=np.float64)
    n_steps = te.shape[0]
    rho_e = np.asarray(drivers.outdoor_vapour_g_m3, dtype=np.float64)
    sp = np.broadcast_to(drivers.setpoint_c, (r, n_steps))
    gains = np.broadcast_to(drivers.gains_w, (r, n_steps))
    g = np.broadcast_to(drivers.moisture_g_h, (r, n_steps))
    n = np.broadcast_to(drivers.air_changes_h, (r, n_steps))
    if np.any(n <= 0.0):
        raise ValueError("air_changes_h must be > 0 everywhere")
    volume = np.asarray(params.volume_m3, dtype=np.float64)
    pmax = np.asarray(params.heater_w, dtype=np.float64)
    a_heat = np.exp(-float(sample_s) / params.tau_s)
    one_minus_a = 1.0 - a_heat
    dt_h = sample_s / 3600.0

    if n_steps == 0:
        empty = np.empty((r, 0))
        return RoomStates(empty, empty, empty, empty, empty)

    # Everything that does not depend on the state, for all steps at once; time-major
    # (steps, rooms) so that each step reads contiguous memory.
    shape = (n_steps, r)
    t_free_all = np.empty(shape)
    np.divide(gains.T, h, out=t_free_all)
    t_free_all += te[:, np.newaxis]
    sp_all = np.empty(shape)
    sp_all[...] = sp.T
    n_all = np.empty(shape)
    n_all[...] = n.T
    rho_eq_all = np.empty(shape)
    np.divide(g.T, n_all * volume, out=rho_eq_all)
    rho_eq_all += rho_e[:, np.newaxis]
    a_vap_all = n_all
    np.multiply(n_all, -dt_h, out=a_vap_all)
    np.exp(a_vap_all, out=a_vap_all)
    del n_all

    if initial_c is None:
        t_free0 = t_free_all[0]
        t = np.where(np.isfinite(sp_all[0]), np.maximum(sp_all[0], t_free0), t_free0)
    else:
        t = np.broadcast_to(np.asarray(initial_c, dtype=np.float64), (r,)).copy()
    if initial_vapour_g_m3 is None:
        rho = rho_eq_all[0].copy()
    else:
        rho = np.broadcast_to(np.asarray(initial_vapour_g_m3, dtype=np.float64), (r,)).copy()
    rho = np.minimum(rho, saturation_vapour_density_g_m3(t))

    air_t = np.empty((n_steps, r))
    vap_t = np.empty((n_steps, r))
    heat_t = np.empty((n_steps, r))
    h_over = h / one_minus_a
    q = np.empty(r)
    tmp = np.empty(r)
    for k in range(n_steps):
        air_t[k] = t
        vap_t[k] = rho
        t_free = t_free_all[k]
        # power that lands the air on the setpoint at the end of the step:
        # q = H·((sp − T·a)/(1 − a) − T_free), clipped to [0, P_max]
        np.multiply(t, a_heat, out=tmp)
        np.subtract(sp_all[k], tmp, out=tmp)
        np.multiply(tmp, h_over, out=q)
        q -= h * t_free
        np.clip(q, 0.0, pmax, out=q)
        heat_t[k] = q
        # T ← T_eq + (T − T_eq)·a with T_eq = T_free + q/H
        t_eq = t_free + q / h
        t = t_eq + (t - t_eq) * a_heat
        # ρ ← ρ_eq + (ρ − ρ_eq)·exp(−n·Δt), then condensation caps it at saturation
        rho_eq = rho_eq_all[k]
        rho = rho_eq + (rho - rho_eq) * a_vap_all[k]
        np.minimum(rho, _RHO_SAT_K * np.exp(_B * t / (_C + t)) / (t + 273.15), out=rho)

    air = np.ascontiguousarray(air_t.T)
    vap = np.ascontiguousarray(vap_t.T)
    del air_t, vap_t
    rh = np.minimum(relative_humidity_pct(air, vap), 100.0)
    surface = surface_temperature_c(air, te[np.newaxis, :], params.f_rsi[:, np.newaxis])
    return RoomStates(
        air_c=air,
        vapour_g_m3=vap,
        rh_pct=rh,
        surface_c=surface,
        heat_w=np.ascontiguousarray(heat_t.T),
    )
