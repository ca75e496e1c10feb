"""Psychrometrics at their edges, against values worked from the ideal gas law."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from backend.risk.mould import mould_index
from backend.risk.psychrometrics import absolute_humidity, dew_point


def test_absolute_humidity_from_the_ideal_gas_law() -> None:
    # ρ = p_v / (R_v·T): at 20 °C and 50 %, p_v = 0.5 × 610.94·e^(17.625·20/263.04) Pa.
    p_v = 0.5 * 610.94 * math.exp(17.625 * 20 / 263.04)
    expected = 1000 * p_v / (461.5 * 293.15)
    assert float(absolute_humidity(20, 50)) == pytest.approx(expected, rel=1e-9)
    # Tables give 8.65 g/m³ (half of 17.3); the Magnus form is about 0.25 % low at 20 °C.
    assert float(absolute_humidity(20, 50)) == pytest.approx(8.65, rel=0.004)


def test_dew_point_needs_some_vapour_and_stays_quiet() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = dew_point(np.array([20.0, 20.0, 20.0]), np.array([0.0, 0.5, 1.0]))
    assert math.isnan(got[0])
    assert math.isfinite(got[1]) and math.isfinite(got[2])
    assert got[1] < got[2] < -30


def test_mould_index_defaults_to_the_sensitive_class() -> None:
    t = np.full((1, 24 * 30), 22.0)
    rh = np.full((1, 24 * 30), 95.0)
    default, _, _ = mould_index(t, rh)
    sensitive, _, _ = mould_index(t, rh, material="s")
    np.testing.assert_array_equal(default, sensitive)
