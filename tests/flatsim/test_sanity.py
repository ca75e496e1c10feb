"""Scenarios behave as labelled: plain numpy over the generated readings."""

from __future__ import annotations

import numpy as np

from simulators.flatsim import Estate
from simulators.flatsim.psychro import surface_rh_pct


def surface_rh(estate: Estate, flat_id: str) -> np.ndarray:
    """Per room, RH at the coldest surface, from the sensor readings and the room's f_Rsi."""
    flat = estate.flat(flat_id)
    te = estate.outdoor.temp_c
    rows = []
    for d in estate.devices_of(flat_id):
        f = flat.physics[d.room].f_rsi
        theta = te + f * (d.temp_c - te)
        rows.append(surface_rh_pct(d.temp_c, d.rh_pct, theta))
    return np.array(rows)


def longest_run_h(mask: np.ndarray, sample_s: int = 300) -> float:
    best = run = 0
    for m in mask:
        run = run + 1 if m else 0
        best = max(best, run)
    return best * sample_s / 3600


def daily_mean_surface_rh_max(estate: Estate, flat_id: str) -> np.ndarray:
    srh = surface_rh(estate, flat_id)
    return np.nanmean(srh.reshape(srh.shape[0], -1, 288), axis=2).max(axis=0)


def by_scenario(estate: Estate, name: str) -> list[str]:
    return [f.flat_id for f in estate.flats if f.scenario == name]


def test_poor_ventilation_gives_long_spells_of_surface_rh_over_80(demo_estate: Estate) -> None:
    for fid in by_scenario(demo_estate, "poor_ventilation"):
        srh = surface_rh(demo_estate, fid).max(axis=0)
        assert longest_run_h(srh >= 80) >= 24, fid
        assert (daily_mean_surface_rh_max(demo_estate, fid) >= 80).sum() >= 7, fid


def test_healthy_has_no_long_spells_of_surface_rh_over_80(demo_estate: Estate) -> None:
    for fid in by_scenario(demo_estate, "healthy"):
        srh = surface_rh(demo_estate, fid).max(axis=0)
        assert longest_run_h(srh >= 80) < 24, fid
        assert (daily_mean_surface_rh_max(demo_estate, fid) >= 80).sum() == 0, fid


def test_thermal_bridge_and_leak_are_damp(demo_estate: Estate) -> None:
    for name in ("thermal_bridge", "leak"):
        for fid in by_scenario(demo_estate, name):
            assert (daily_mean_surface_rh_max(demo_estate, fid) >= 80).sum() >= 2, (name, fid)


def time_below_18(estate: Estate, flat_id: str) -> float:
    temps = np.array([d.temp_c for d in estate.devices_of(flat_id)])
    return float(np.nanmean(np.nanmean(temps, axis=0) < 18.0))


def test_under_heated_mostly_below_18_and_healthy_not(demo_estate: Estate) -> None:
    for fid in by_scenario(demo_estate, "under_heated"):
        assert time_below_18(demo_estate, fid) > 0.5, fid
    for fid in by_scenario(demo_estate, "healthy"):
        assert time_below_18(demo_estate, fid) < 0.5, fid


def test_self_disconnection_cools_after_onset(demo_estate: Estate) -> None:
    for fid in by_scenario(demo_estate, "self_disconnection"):
        flat = demo_estate.flat(fid)
        assert flat.truth.event_start_ts is not None and flat.truth.event_end_ts is not None
        temps = np.nanmean([d.temp_c for d in demo_estate.devices_of(fid)], axis=0)
        ts = demo_estate.outdoor.ts
        before = temps[ts < flat.truth.event_start_ts].mean()
        during = temps[(ts >= flat.truth.event_start_ts + 86400) & (ts < flat.truth.event_end_ts)]
        assert during.mean() < before - 3, fid


def test_empty_flats_have_no_shower_spikes(demo_estate: Estate) -> None:
    """Occupied flats show short RH rises (showers, cooking); vacant ones do not."""

    def spikes(fid: str) -> int:
        n = 0
        for d in demo_estate.devices_of(fid):
            rise = np.diff(d.rh_pct[~np.isnan(d.rh_pct)])
            n += int((rise > 3.0).sum())
        return n

    assert all(spikes(fid) == 0 for fid in by_scenario(demo_estate, "empty"))
    assert np.mean([spikes(fid) > 5 for fid in by_scenario(demo_estate, "healthy")]) > 0.9


def test_leak_keeps_rh_high_day_and_night(demo_estate: Estate) -> None:
    """After the leak starts, the wettest room's night-time RH is as high as its day-time."""
    for fid in by_scenario(demo_estate, "leak"):
        onset = demo_estate.flat(fid).truth.onset_ts
        assert onset is not None
        ts = demo_estate.outdoor.ts
        after = ts >= onset + 86400
        hour = (ts % 86400) // 3600
        night = after & (hour >= 1) & (hour < 5)
        wet = max(demo_estate.devices_of(fid), key=lambda d: float(np.nanmean(d.rh_pct[after])))
        assert np.nanmean(wet.rh_pct[night]) > 60, fid
        before = np.nanmean(wet.rh_pct[ts < onset])
        assert np.nanmean(wet.rh_pct[after]) > before + 10, fid


def test_truth_carries_the_physics(demo_estate: Estate) -> None:
    """The physics figures in the truth agree with the labels on the demo estate."""
    for f in demo_estate.flats:
        t = f.truth
        if f.scenario == "healthy":
            assert t.surface_rh80_days == 0 and t.share_below_18 < 0.5, f.flat_id
        if f.scenario == "poor_ventilation":
            assert t.surface_rh80_days >= 7, f.flat_id
        if f.scenario == "under_heated":
            assert t.share_below_18 > 0.5, f.flat_id
