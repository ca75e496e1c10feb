"""Known answers from shared/science.md."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.flatsim.psychro import (
    relative_humidity_pct,
    saturation_vapour_pressure_pa,
    surface_rh_pct,
    surface_temperature_c,
    vapour_density_g_m3,
)


def test_vapour_pressure_known_answer() -> None:
    assert 0.6 * saturation_vapour_pressure_pa(20.0) == pytest.approx(1400, abs=1.0)


def test_vapour_density_round_trip() -> None:
    t = np.linspace(-10, 35, 10)
    rh = np.linspace(10, 100, 10)
    assert relative_humidity_pct(t, vapour_density_g_m3(t, rh)) == pytest.approx(rh, rel=1e-12)


def test_vapour_density_value() -> None:
    # 20 °C, 100 %: 17.3 g/m³ (standard tables give 17.3)
    assert vapour_density_g_m3(20.0, 100.0) == pytest.approx(17.3, abs=0.1)


def test_surface_known_answers() -> None:
    theta = surface_temperature_c(20.0, 0.0, 0.75)
    assert theta == pytest.approx(15.0)
    assert surface_rh_pct(20.0, 60.0, theta) == pytest.approx(82.3, abs=0.05)
    assert surface_rh_pct(20.0, 50.0, theta) == pytest.approx(68.6, abs=0.05)
    assert surface_rh_pct(20.0, 58.3, theta) == pytest.approx(80.0, abs=0.1)
    assert surface_rh_pct(20.0, 95.0, 5.0) == 100.0
