"""Known answers of shared/science.md, round trips and physical bounds."""

from __future__ import annotations

import math

import numpy as np
import psychrolib
import pytest

from backend.risk import mould
from backend.risk.mould import MATERIALS, critical_rh, mould_index
from backend.risk.psychrometrics import (
    absolute_humidity,
    dew_point,
    relative_humidity,
    saturation_vapour_pressure,
    vapour_pressure,
)
from backend.risk.surfaces import (
    condensation,
    surface_relative_humidity,
    surface_temperature,
    temperature_factor,
)


def test_psychrometric_known_answers() -> None:
    assert dew_point(20, 50) == pytest.approx(9.26, abs=0.005)
    assert dew_point(20, 60) == pytest.approx(12.00, abs=0.005)
    assert vapour_pressure(20, 60) == pytest.approx(1400, abs=1)
    assert dew_point(10, 100) == pytest.approx(10.00, abs=1e-9)
    assert absolute_humidity(20, 60) == pytest.approx(10.35, abs=0.01)


def test_dew_point_round_trip_and_bounds() -> None:
    t = np.linspace(-10, 40, 51)[:, None]
    rh = np.linspace(5, 100, 20)[None, :]
    td = dew_point(t, rh)
    assert np.all(td <= t + 1e-9)
    # RH of air at T holding the vapour pressure saturated at T_d is the RH again
    back = relative_humidity(t, saturation_vapour_pressure(td))
    np.testing.assert_allclose(back, np.broadcast_to(rh, back.shape), rtol=1e-9)
    assert np.isnan(dew_point(20, 0))


def test_dew_point_agrees_with_psychrolib() -> None:
    """Within 0.05 °C where the dew point is above 0 °C. Below it psychrolib returns the
    frost point (over ice) while we state the dew point over water (science.md's
    choice), which is always the lower of the two."""
    psychrolib.SetUnitSystem(psychrolib.SI)
    worst = 0.0
    compared = 0
    for t in np.arange(0, 40.01, 0.5):
        for rh in np.arange(20, 100.01, 1.0):
            ref = psychrolib.GetTDewPointFromRelHum(float(t), float(rh) / 100)
            ours = float(dew_point(t, rh))
            if ref >= 0:
                worst = max(worst, abs(ours - ref))
                compared += 1
            else:
                assert ours <= ref + 1e-9
    assert compared > 4000
    assert worst < 0.05


def test_surface_known_answers() -> None:
    assert surface_temperature(20, 0, 0.75) == pytest.approx(15.0)
    assert surface_relative_humidity(20, 60, 15.0) == pytest.approx(82.3, abs=0.05)
    assert surface_relative_humidity(20, 50, 15.0) == pytest.approx(68.6, abs=0.05)
    # the indoor RH that reaches 80 % at that surface
    rh = 80 * saturation_vapour_pressure(15.0) / saturation_vapour_pressure(20.0)
    assert rh == pytest.approx(58.3, abs=0.06)  # 58.35, quoted as 58.3
    assert temperature_factor(15.0, 20.0, 0.0) == pytest.approx(0.75)
    assert np.isnan(temperature_factor(15.0, 20.0, 19.5))


def test_surface_bounds_and_condensation() -> None:
    ti = np.linspace(5, 30, 26)[:, None]
    rh = np.linspace(10, 100, 10)[None, :]
    si = surface_temperature(ti, -5, 0.5)
    rh_si = surface_relative_humidity(ti, rh, si)
    assert np.all(rh_si <= 100) and np.all(rh_si >= rh - 1e-9)
    cond = condensation(ti, rh, si)
    assert np.array_equal(cond, si <= dew_point(ti, rh))
    assert bool(condensation(20, 60, 11.9)) and not bool(condensation(20, 60, 12.1))


def test_vtt_known_answers() -> None:
    hours = 12 * 7 * 24
    m, final, _ = mould_index(np.full(hours, 20.0), np.full(hours, 90.0), material="vs")
    assert m[4 * 7 * 24 - 1] == pytest.approx(0.952, abs=0.001)
    assert final == pytest.approx(3.919, abs=0.001)
    _, final_mr, _ = mould_index(np.full(hours, 20.0), np.full(hours, 85.0), material="mr")
    assert final_mr == 0.0
    assert critical_rh(20.0, 80.0) == pytest.approx(80.04)
    assert critical_rh(25.0, 80.0) == 80.0


def test_vtt_vectorised_matches_scalar_and_carries_state() -> None:
    rng = np.random.default_rng(1)
    t = rng.uniform(5, 25, (3, 500))
    rh = rng.uniform(60, 100, (3, 500))
    m_all, final_all, dry_all = mould_index(t, rh, material="s")
    for i in range(3):
        m_i, _, _ = mould_index(t[i], rh[i], material="s")
        np.testing.assert_allclose(m_all[i], m_i)
    # two runs with carried state equal one run
    _, f1, d1 = mould_index(t[:, :200], rh[:, :200], material="s")
    _, f2, d2 = mould_index(t[:, 200:], rh[:, 200:], material="s", m0=f1, dry_hours0=d1)
    np.testing.assert_allclose(f2, final_all)
    np.testing.assert_allclose(d2, dry_all)
    assert np.all((m_all >= 0) & (m_all <= 6))


def _vtt_reference(
    t: list[float], rh: list[float], material: str, m: float, dry: float
) -> tuple[list[float], float]:
    """The VTT step written out hour by hour, as science.md states it."""
    p = MATERIALS[material]
    out = []
    for temp, r in zip(t, rh, strict=True):
        if math.isnan(temp) or math.isnan(r):
            out.append(m)
            continue
        crit = float(critical_rh(temp, p.rh_min))
        if 0 < temp < 50 and r >= crit:
            x = (crit - r) / (crit - 100)
            m_max = p.a + p.b * x - p.c * x * x
            k1 = p.k1_below_1 if m < 1 else p.k1_from_1
            k2 = max(1 - math.exp(2.3 * (m - m_max)), 0.0)
            m += k1 * k2 / (7 * math.exp(-0.68 * math.log(temp) - 13.9 * math.log(r) + 66.02)) / 24
            dry = 0.0
        else:
            if dry < 6:
                m -= 0.032 * 0.25 / 24
            elif dry >= 24:
                m -= 0.016 * 0.25 / 24
            dry += 1
        m = min(max(m, 0.0), 6.0)
        out.append(m)
    return out, dry


@pytest.mark.parametrize("material", ["vs", "s", "mr", "r"])
def test_vtt_matches_an_hour_by_hour_reference_across_blocks(
    material: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    hours = 400
    t = rng.uniform(-3, 30, (6, hours))
    rh = rng.uniform(55, 100, (6, hours))
    rh[:, (np.arange(hours) // 9) % 4 == 0] = 40.0  # dry spells of 9 h
    rh[:, (np.arange(hours) // 40) % 5 == 1] = 50.0  # and of 40 h
    t[rng.random(t.shape) < 0.05] = np.nan  # gaps keep the state
    m0 = rng.uniform(0, 4, 6)
    dry0 = rng.uniform(0, 30, 6).round()
    whole = mould_index(t, rh, material=material, m0=m0, dry_hours0=dry0)  # type: ignore[arg-type]
    # a few hours per block: the state carries from block to block
    monkeypatch.setattr(mould, "BLOCK_VALUES", 6 * 7)
    blocked = mould_index(t, rh, material=material, m0=m0, dry_hours0=dry0)  # type: ignore[arg-type]
    for a, b in zip(whole, blocked, strict=True):
        np.testing.assert_array_equal(a, b)
    for i in range(6):
        ref, dry = _vtt_reference(list(t[i]), list(rh[i]), material, m0[i], dry0[i])
        np.testing.assert_allclose(whole[0][i], ref, rtol=1e-9, atol=1e-12)
        assert whole[2][i] == dry


def test_vtt_declines_in_dry_spells_and_ignores_gaps() -> None:
    wet = np.full(24 * 30, 95.0)
    _, grown, _ = mould_index(np.full(wet.size, 20.0), wet, material="vs")
    dry = np.full(24 * 30, 40.0)
    m, final, dry_h = mould_index(np.full(dry.size, 20.0), dry, material="vs", m0=grown)
    assert final < grown and dry_h == dry.size
    # first 6 h decline at 0.032·C per day, then nothing until 24 h
    assert grown - m[5] == pytest.approx(6 * 0.032 * 0.25 / 24)
    assert m[23] == pytest.approx(m[5])
    gap = np.full(48, np.nan)
    _, same, _ = mould_index(gap, gap, material="vs", m0=grown, dry_hours0=3.0)
    assert same == grown
