"""The compatibility API (simulators.model): physics, scenarios and estates as first published."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulators.errors import SimulatorError
from simulators.model.csvout import write_outdoor_csv, write_readings_csv
from simulators.model.estate import generate, load_estate, parse_estate
from simulators.model.flat import STEP_S, RoomParams, simulate_rooms, vapour_density
from simulators.model.scenario import bundled_scenarios, parse_scenario

EXAMPLES = Path(__file__).parents[2] / "examples" / "estates"


def rooms(n: int = 1, **over: float) -> RoomParams:
    base = dict(h=25.0, tau_h=40.0, volume=30.0, ach=0.5, f_rsi=0.75, heater=0.0, t0=20.0)
    base.update(over)
    return RoomParams(
        h_w_per_k=np.full(n, base["h"]),
        c_j_per_k=np.full(n, base["h"] * base["tau_h"] * 3600),
        volume_m3=np.full(n, base["volume"]),
        ach_per_h=np.full(n, base["ach"]),
        f_rsi=np.full(n, base["f_rsi"]),
        heater_w=np.full(n, base["heater"]),
        initial_c=np.full(n, base["t0"]),
        neighbour_share=0.0,
    )


def drive(steps: int, n: int = 1, q_w: float = 0.0, g_g_per_h: float = 0.0):  # type: ignore[no-untyped-def]
    return dict(
        setpoint_c=np.zeros((n, steps)),
        heating_allowed=np.zeros((n, steps), dtype=bool),
        gains_w=np.full((n, steps), q_w),
        moisture_g_per_s=np.full((n, steps), g_g_per_h / 3600),
        ach_boost=np.zeros((n, steps)),
    )


def test_heat_balance_steady_state_matches_analytic() -> None:
    steps = 60 * 24 * 3600 // STEP_S  # 60 days: many time constants
    te = np.full(steps, 2.0)
    t, _, surface = simulate_rooms(rooms(), te, np.full(steps, 80.0), **drive(steps, q_w=400.0))
    assert t[0, -1] == pytest.approx(2.0 + 400.0 / 25.0, abs=1e-3)  # T_i = T_e + Q/H
    assert surface[0, -1] == pytest.approx(2.0 + 0.75 * 16.0, abs=1e-3)


def test_moisture_balance_steady_state_matches_analytic() -> None:
    steps = 5 * 24 * 3600 // STEP_S
    te = np.full(steps, 20.0)
    g = 40.0  # g/h
    t, rh, _ = simulate_rooms(rooms(t0=20.0), te, np.full(steps, 60.0), **drive(steps, g_g_per_h=g))
    rho_e = vapour_density(np.array(20.0), np.array(60.0))
    rho_i = vapour_density(t[0, -1:], rh[0, -1:])[0]
    assert rho_i == pytest.approx(rho_e + g / (0.5 * 30.0), rel=1e-3)  # ρ_i = ρ_e + G/(n·V)


def test_heating_off_decays_with_the_configured_time_constant() -> None:
    steps = 24 * 3600 // STEP_S
    te = np.full(steps, 0.0)
    t, _, _ = simulate_rooms(
        rooms(n=2, tau_h=30.0, t0=20.0), te, np.full(steps, 80.0), **drive(steps, n=2)
    )
    hours = (np.arange(steps) + 1) * STEP_S / 3600
    expected = 20.0 * np.exp(-hours / 30.0)
    np.testing.assert_allclose(t[0], expected, rtol=3e-3)  # explicit Euler at 5 min
    fitted_tau = -hours[-1] / np.log(t[0, -1] / 20.0)
    assert fitted_tau == pytest.approx(30.0, rel=0.01)


def test_rh_never_exceeds_saturation() -> None:
    steps = 2 * 24 * 3600 // STEP_S
    _, rh, _ = simulate_rooms(
        rooms(ach=0.05), np.full(steps, 0.0), np.full(steps, 95.0), **drive(steps, g_g_per_h=2000.0)
    )
    assert rh.max() <= 100.0 and rh.max() > 99.0


def test_bundled_scenarios_load_and_bad_ones_are_explained() -> None:
    names = set(bundled_scenarios())
    assert {
        "healthy",
        "under_heated",
        "self_disconnection",
        "poor_ventilation",
        "thermal_bridge",
        "leak",
        "empty",
        "faulty_sensor",
        "offline_backfill",
    } <= names
    good = (Path(__file__).parents[2] / "src/simulators/scenarios/healthy.toml").read_text()
    for bad, needle in (
        (good.replace("ach = 0.7", "ach = 9"), "[ventilation] ach=9.0 is outside 0.05–5"),
        (good.replace('schedule = ["06-09", "16-23"]', 'schedule = ["6 to 9"]'), "like '06-09'"),
        (good.replace("occupants = 2", 'occupants = "two"'), "[occupancy] occupants must be int"),
        (good.replace("damp = false", ""), "[truth] damp"),
        (good + "\n[colour]\nx = 1\n", "unknown key 'colour'"),
        ("setpoint = [", "analyst.toml"),
    ):
        with pytest.raises(
            SimulatorError,
            match=r".*"
            + needle.replace("[", r"\[")
            .replace("]", r"\]")
            .replace("(", r"\(")
            .replace(")", r"\)"),
        ):
            parse_scenario("x", bad, "analyst.toml")


def test_estate_is_deterministic_and_plausible(tmp_path: Path) -> None:
    spec = load_estate(EXAMPLES / "small.toml")
    a = generate(spec, end=1765584000)
    b = generate(spec, end=1765584000)
    assert [d.device_id for d in a.devices] == [d.device_id for d in b.devices]
    np.testing.assert_array_equal(a.devices[3].temp_c, b.devices[3].temp_c)
    assert all(d.device_id.startswith("esp32-") and len(d.device_id) == 18 for d in a.devices)
    assert all(t.phone.startswith("07700 900") for t in a.tenants)
    by = {f.scenario: f.flat_id for f in a.flats}

    def room(scenario: str, name: str = "bedroom"):  # type: ignore[no-untyped-def]
        return next(d for d in a.devices if d.flat_id == by[scenario] and d.room == name)

    def surface_rh80_hours(d) -> float:  # type: ignore[no-untyped-def]
        es = lambda t: 610.94 * np.exp(17.625 * t / (243.04 + t))  # noqa: E731
        theta = a.outdoor_c + 0.75 * (d.temp_c - a.outdoor_c)
        rh_si = np.minimum(d.rh_pct * es(d.temp_c) / es(theta), 100)
        return float(np.sum(rh_si >= 80) * STEP_S / 3600)

    assert surface_rh80_hours(room("poor_ventilation")) > 0.5 * spec.days * 24
    assert surface_rh80_hours(room("healthy")) < 0.2 * spec.days * 24

    def below18(d) -> float:  # type: ignore[no-untyped-def]
        return float(np.mean(d.temp_c < 18))

    assert below18(room("under_heated", "living_room")) > 0.8
    assert below18(room("healthy", "living_room")) < 0.2
    assert a.outdoor_c.min() < -4  # the cold snap
    rows = write_readings_csv(a, tmp_path / "r.csv")
    assert rows == a.readings_count()
    assert write_outdoor_csv(a, tmp_path / "o.csv") == spec.days * 24
    header = (tmp_path / "r.csv").read_text().splitlines()[0]
    assert header == "flat_id,room,ts,temp_c,rh_pct,surface_c"


def test_estate_file_errors_are_clear() -> None:
    with pytest.raises(SimulatorError, match="at least one"):
        parse_estate({"name": "x"}, "e.toml")
    with pytest.raises(SimulatorError, match="'damp_flats' is not a scenario"):
        parse_estate(
            {"blocks": [{"name": "A", "code": "A", "flats": 3}], "mix": {"damp_flats": 1}}, "e.toml"
        )
    with pytest.raises(SimulatorError, match=r"blocks\[0\] needs name, code and flats"):
        parse_estate({"blocks": [{"name": "A"}]}, "e.toml")
    demo = load_estate(EXAMPLES / "demo.toml")
    assert sum(b.flats for b in demo.blocks) >= 200
