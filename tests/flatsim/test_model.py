"""Physics of the room model against analytic solutions."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.flatsim.model import HEATING_OFF, RoomDrivers, RoomParams, simulate_rooms

H = np.array([40.0, 55.0, 30.0])
TAU_H = np.array([40.0, 20.0, 70.0])
V = np.array([40.0, 30.0, 12.0])


def params(heater_w: float = 2000.0) -> RoomParams:
    return RoomParams(
        heat_loss_w_k=H,
        capacity_j_k=TAU_H * 3600.0 * H,
        heater_w=np.full(3, heater_w),
        volume_m3=V,
        f_rsi=np.full(3, 0.75),
    )


def drivers(
    n: int,
    *,
    te: float = 5.0,
    rho_e: float = 5.0,
    setpoint: float = HEATING_OFF,
    gains: float = 0.0,
    moisture: float = 0.0,
    ach: float = 0.5,
) -> RoomDrivers:
    return RoomDrivers(
        outdoor_c=np.full(n, te),
        outdoor_vapour_g_m3=np.full(n, rho_e),
        setpoint_c=np.full((3, n), setpoint),
        gains_w=np.full((3, n), gains),
        moisture_g_h=np.full((3, n), moisture),
        air_changes_h=np.full((3, n), ach),
    )


def test_heat_steady_state_is_analytic() -> None:
    """Constant Q and T_e: T_i → T_e + Q/H, and stays there exactly."""
    q = 600.0
    n = 288 * 60  # 60 days ≫ τ
    s = simulate_rooms(params(), drivers(n, te=3.0, gains=q), initial_c=10.0)
    assert s.air_c[:, -1] == pytest.approx(3.0 + q / H, abs=1e-6)
    # started at the steady state, it never moves
    s = simulate_rooms(params(), drivers(50, te=3.0, gains=q), initial_c=3.0 + q / H)
    assert np.ptp(s.air_c, axis=1) == pytest.approx(np.zeros(3), abs=1e-9)


def test_moisture_steady_state_is_analytic() -> None:
    """Constant G and n: ρ_i → ρ_e + G/(n·V)."""
    g, ach = 120.0, 0.7
    s = simulate_rooms(
        params(), drivers(288 * 3, gains=800.0, moisture=g, ach=ach), initial_vapour_g_m3=5.0
    )
    assert s.vapour_g_m3[:, -1] == pytest.approx(5.0 + g / (ach * V), rel=1e-9)


def test_moisture_decay_rate_is_air_change_rate() -> None:
    """Without sources, the excess decays as exp(−n·t)."""
    s = simulate_rooms(params(), drivers(37, gains=800.0, ach=0.5), initial_vapour_g_m3=9.0)
    t_h = np.arange(37) * 300 / 3600
    assert s.vapour_g_m3[0] == pytest.approx(5.0 + 4.0 * np.exp(-0.5 * t_h), rel=1e-12)


def test_heating_off_decays_with_tau() -> None:
    """T_i(t) = T_e + (T_0 − T_e)·exp(−t/τ) with τ = C/H, to rounding error."""
    n = 288 * 3
    s = simulate_rooms(params(), drivers(n, te=5.0), initial_c=20.0)
    t_s = np.arange(n) * 300.0
    expected = 5.0 + 15.0 * np.exp(-t_s[np.newaxis, :] / (TAU_H[:, np.newaxis] * 3600.0))
    assert np.max(np.abs(s.air_c - expected)) < 1e-9
    assert np.all(s.heat_w == 0.0)
    # the configured τ is recovered: after exactly τ the excess is 1/e
    for i, tau in enumerate(TAU_H):
        k = int(tau * 3600 / 300)
        assert (s.air_c[i, k] - 5.0) / 15.0 == pytest.approx(np.exp(-1.0), rel=1e-9)


def test_thermostat_holds_setpoint_with_power_to_spare() -> None:
    n = 288
    s = simulate_rooms(params(), drivers(n, te=0.0, setpoint=20.0, gains=100.0), initial_c=20.0)
    assert s.air_c == pytest.approx(np.full((3, n), 20.0), abs=1e-9)
    # energy balance: heating + gains = H·(T_i − T_e) in steady state
    assert s.heat_w[:, -1] == pytest.approx(H * 20.0 - 100.0, rel=1e-9)


def test_saturated_heater_reaches_its_own_steady_state() -> None:
    """A heater too small for the setpoint settles at T_e + P_max/H."""
    s = simulate_rooms(
        params(heater_w=300.0), drivers(288 * 40, te=0.0, setpoint=25.0), initial_c=0.0
    )
    assert s.air_c[:, -1] == pytest.approx(300.0 / H, abs=1e-3)
    assert np.all(s.heat_w <= 300.0 + 1e-9)


def test_air_cannot_exceed_saturation() -> None:
    s = simulate_rooms(params(), drivers(288, moisture=2000.0, ach=0.1, gains=0.0), initial_c=5.0)
    assert np.all(s.rh_pct <= 100.0)
    assert s.rh_pct[:, -1] == pytest.approx(np.full(3, 100.0))


def test_surface_follows_f_rsi() -> None:
    s = simulate_rooms(params(), drivers(10, te=0.0, setpoint=20.0), initial_c=20.0)
    assert s.surface_c == pytest.approx(np.full((3, 10), 15.0))


def test_rejects_non_positive_air_change() -> None:
    with pytest.raises(ValueError, match="air_changes_h"):
        simulate_rooms(params(), drivers(5, ach=0.0))
