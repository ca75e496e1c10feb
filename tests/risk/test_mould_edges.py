"""The VTT mould index at the edges of its conditions (Hukka & Viitanen 1999; Ojanen 2010).

Growth needs 0 °C < T < 50 °C and RH ≥ RH_crit(T); RH_crit follows the cubic up to 20 °C
and is the material's RH_min above it. Each case holds a surface at one condition for
six weeks and checks whether any growth happened.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend.risk.mould import MATERIALS, critical_rh, mould_index

HOURS = 24 * 42


def _final_m(temp_c: float, rh_pct: float, material: str = "s") -> float:
    t = np.full((1, HOURS), temp_c)
    rh = np.full((1, HOURS), rh_pct)
    _, m_final, _ = mould_index(t, rh, material=material)  # type: ignore[arg-type]
    return float(m_final[0])


def test_critical_rh_at_the_20_degree_joint() -> None:
    # The cubic gives 80.04 % at 20 °C; above 20 °C RH_crit is RH_min itself.
    assert float(critical_rh(20.0, 80.0)) == pytest.approx(80.04, abs=1e-9)
    assert float(critical_rh(20.5, 80.0)) == 80.0
    assert float(critical_rh(20.01, 80.0)) == 80.0
    assert float(critical_rh(10.0, 80.0)) == pytest.approx(82.03, abs=1e-9)
    assert float(critical_rh(30.0, 85.0)) == 85.0


@pytest.mark.parametrize("temp_c", [-5.0, 0.0, 50.0, 55.0])
def test_no_growth_outside_zero_to_fifty_degrees(temp_c: float) -> None:
    assert _final_m(temp_c, 100.0, "vs") == 0.0


def test_growth_just_inside_the_temperature_range() -> None:
    assert _final_m(0.5, 100.0, "vs") > 0.0
    assert _final_m(49.5, 100.0, "vs") > 0.0


def test_growth_at_exactly_the_critical_humidity() -> None:
    # RH equal to RH_crit grows (towards M_max = A: 0.3 for sensitive materials).
    assert _final_m(25.0, 80.0) > 0.0
    assert _final_m(25.0, 79.99) == 0.0
    at_10 = float(critical_rh(10.0, MATERIALS["s"].rh_min))
    assert _final_m(10.0, at_10) > 0.0
    assert _final_m(10.0, at_10 - 0.01) == 0.0


def test_index_never_passes_six() -> None:
    t = np.full((1, 24 * 400), 25.0)
    rh = np.full((1, 24 * 400), 100.0)
    m, m_final, _ = mould_index(t, rh, material="vs")
    assert float(m.max()) <= 6.0
    assert float(m_final[0]) == pytest.approx(6.0, abs=0.05)
