"""Cold-surface physics against worked answers (ISO 13788's relations, by hand)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from backend.risk.psychrometrics import dew_point
from backend.risk.surfaces import (
    condensation,
    surface_relative_humidity,
    surface_temperature,
    temperature_factor,
)


def test_surface_temperature_with_a_mild_outdoor_temperature() -> None:
    # θsi = θe + f(θi − θe): 5 + 0.75 × 15 = 16.25 °C; 5 + 0.5 × 16 = 13 °C.
    assert surface_temperature(20, 5, 0.75) == pytest.approx(16.25)
    got = surface_temperature(np.array([20, 21]), np.array([5, -3]), np.array([0.75, 0.5]))
    assert got == pytest.approx([16.25, 9.0])
    # Warmer outside than in (summer): the surface sits between them, nearer outdoors.
    assert surface_temperature(18, 28, 0.75) == pytest.approx(20.5)


def test_temperature_factor_inverts_the_surface_temperature() -> None:
    assert temperature_factor(16.25, 20, 5) == pytest.approx(0.75)
    assert temperature_factor(9.0, 21, -3) == pytest.approx(0.5)
    # Indoor and outdoor exactly 1 K apart is still defined; closer is not.
    assert temperature_factor(5.5, 6.0, 5.0) == pytest.approx(0.5)
    assert np.isnan(temperature_factor(5.5, 5.99, 5.0))
    assert temperature_factor(3.5, 4.0, 2.0) == pytest.approx(0.75)  # 2 K apart


def test_temperature_factor_is_quiet_when_ill_conditioned() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = temperature_factor(np.array([5.0, 5.0]), np.array([5.0, 5.0]), np.array([5.0, 5.0]))
    assert np.isnan(out).all()


def test_surface_rh_and_condensation_at_the_dew_point() -> None:
    td = float(dew_point(20, 60))
    assert td == pytest.approx(12.0, abs=0.05)
    assert surface_relative_humidity(20, 60, td) == pytest.approx(100.0, abs=0.01)
    assert surface_relative_humidity(20, 60, td - 3) == 100.0  # capped
    assert bool(condensation(20, 60, td)) is True  # at the dew point: wet
    assert bool(condensation(20, 60, td + 0.01)) is False
    assert bool(condensation(20, 60, td - 0.01)) is True
