"""Estates: determinism, identities, ground truth and the scenarios' physical signatures
(computed here with plain numpy, independent of the analytics package)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from simulators.errors import SimulatorError
from simulators.estate import EstateData, load_estate, parse_estate
from simulators.flat import saturation_vapour_pressure

EXAMPLES = Path(__file__).parents[2] / "examples" / "estates"
DEVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")


@pytest.fixture(scope="module")
def small() -> EstateData:
    return load_estate(EXAMPLES / "small.toml").generate()


def device(data: EstateData, scenario: str, room: str, nth: int = 0):  # type: ignore[no-untyped-def]
    flat = [f for f in data.flats if f.scenario == scenario][nth]
    return next(d for d in data.devices_of(flat.flat_id) if d.room == room)


def test_generation_is_deterministic_from_the_seed() -> None:
    estate = load_estate(EXAMPLES / "small.toml")
    a = estate.generate()
    b = estate.generate(chunk_flats=3)  # chunking bounds memory, never changes readings
    c = estate.generate(seed=8)
    assert [d.device_id for d in a.devices] == [d.device_id for d in b.devices]
    np.testing.assert_array_equal(a.temp_c, b.temp_c)
    np.testing.assert_array_equal(a.rh_pct, b.rh_pct)
    np.testing.assert_array_equal(a.surface_c, b.surface_c)
    np.testing.assert_array_equal(a.outdoor_c, b.outdoor_c)
    assert [f.scenario for f in a.flats] == [f.scenario for f in b.flats]
    assert a.tenants == b.tenants
    assert not np.array_equal(a.outdoor_c, c.outdoor_c)


def test_identities_and_tenants(small: EstateData) -> None:
    ids = [d.device_id for d in small.devices]
    assert len(set(ids)) == len(ids) == 2 * len(small.flats)
    assert all(DEVICE_ID.match(i) and re.fullmatch(r"esp32-[0-9a-f]{12}", i) for i in ids)
    assert len({f.flat_id for f in small.flats}) == 20
    assert small.flats[0].flat_id == "TC-0101" and small.flats[4].flat_id == "TC-0201"
    for t in small.tenants:
        number = int(t.phone.replace(" ", "")[5:])
        assert t.phone.startswith("07700 900") and 900000 <= number <= 900999
    vacant = {f.flat_id for f in small.flats if f.truth.vacant}
    assert vacant and not vacant & {t.flat_id for t in small.tenants}
    assert len(small.tenants) == 20 - len(vacant)


def test_readings_are_sampled_and_rounded_as_the_firmware_does(small: EstateData) -> None:
    assert small.sample_s == 300
    assert np.all(np.diff(small.ts) == 300)
    assert small.ts.size == 14 * 288 and small.end - small.start == 14 * 86400
    assert small.end == 1765584000  # end = 2025-12-13 in the file
    temp = small.temp_c[np.isfinite(small.temp_c)]
    rh = small.rh_pct[np.isfinite(small.rh_pct)]
    np.testing.assert_allclose(temp, np.round(temp, 2))
    np.testing.assert_allclose(rh, np.round(rh, 1))
    assert rh.min() >= 0 and rh.max() <= 100 and temp.min() >= -40 and temp.max() <= 85
    probes = [d for d in small.devices if d.has_probe]
    assert probes and all(d.surface_c is not None for d in probes)
    assert all(d.surface_c is None for d in small.devices if not d.has_probe)
    assert small.outdoor_c.min() < -4  # the cold snap


def test_ground_truth_per_flat(small: EstateData) -> None:
    rows = {r["scenario"]: r for r in small.ground_truth()}
    assert rows["poor_ventilation"]["damp"] is True and rows["healthy"]["damp"] is False
    assert rows["under_heated"]["cold"] is True and rows["self_disconnection"]["damp"] is None
    sd = next(f for f in small.flats if f.scenario == "self_disconnection")
    assert sd.heating_off == (sd.onset_ts, small.end)
    leak = next(f for f in small.flats if f.scenario == "leak")
    assert leak.onset_ts == small.start + 3 * 86400
    ob = next(f for f in small.flats if f.scenario == "offline_backfill")
    assert ob.offline is not None
    assert all(d.offline == ob.offline for d in small.devices_of(ob.flat_id))
    assert rows["faulty_sensor"]["faults"] == ["stuck", "dropout"]


def surface_rh80_hours(data: EstateData, d) -> float:  # type: ignore[no-untyped-def]
    """Hours with surface RH ≥ 80 % at the design temperature factor 0.75."""
    theta = data.outdoor_c + 0.75 * (d.temp_c - data.outdoor_c)
    rh_si = d.rh_pct * saturation_vapour_pressure(d.temp_c) / saturation_vapour_pressure(theta)
    return float(np.sum(np.minimum(rh_si, 100) >= 80) * data.sample_s / 3600)


def longest_spell_days(data: EstateData, d) -> float:  # type: ignore[no-untyped-def]
    """The longest unbroken spell of surface RH ≥ 80 % [days]."""
    theta = data.outdoor_c + 0.75 * (d.temp_c - data.outdoor_c)
    rh_si = d.rh_pct * saturation_vapour_pressure(d.temp_c) / saturation_vapour_pressure(theta)
    wet = np.r_[0, (rh_si >= 80).astype(int), 0]
    edges = np.flatnonzero(np.diff(wet))
    runs = edges[1::2] - edges[::2]
    return float(runs.max() * data.sample_s / 86400) if runs.size else 0.0


def test_poor_ventilation_keeps_walls_damp_and_healthy_does_not(small: EstateData) -> None:
    hours = small.ts.size * small.sample_s / 3600
    for nth in (0, 1):
        for room in ("living_room", "bedroom"):
            damp = device(small, "poor_ventilation", room, nth)
            sound = device(small, "healthy", room, nth)
            assert surface_rh80_hours(small, damp) > 0.5 * hours
            assert longest_spell_days(small, damp) >= 0.75  # unbroken but for the heating
            assert surface_rh80_hours(small, sound) < 0.25 * hours
            assert longest_spell_days(small, sound) < 0.5


def test_thermal_bridge_probe_sees_the_cold_corner(small: EstateData) -> None:
    d = device(small, "thermal_bridge", "living_room")
    assert d.has_probe and d.surface_c is not None and d.f_rsi == 0.5
    ok = np.isfinite(d.surface_c)
    f = (d.surface_c[ok] - small.outdoor_c[ok]) / (d.temp_c[ok] - small.outdoor_c[ok])
    assert float(np.median(f)) == pytest.approx(0.5, abs=0.05)


def occupied_below_18_share(data: EstateData, d) -> float:  # type: ignore[no-untyped-def]
    """Share of occupied hours below 18 °C (living rooms 08–20, bedrooms 20–08 local;
    in December local time is UTC)."""
    hour = (data.ts % 86400) // 3600
    occupied = (hour >= 8) & (hour < 20) if d.room == "living_room" else (hour >= 20) | (hour < 8)
    ok = occupied & np.isfinite(d.temp_c)
    return float(np.mean(d.temp_c[ok] < 18))


def test_under_heated_flats_are_cold_while_occupied_and_healthy_are_not(small: EstateData) -> None:
    for room in ("living_room", "bedroom"):
        for nth in (0, 1):
            assert occupied_below_18_share(small, device(small, "under_heated", room, nth)) > 0.8
            assert occupied_below_18_share(small, device(small, "healthy", room, nth)) < 0.2


def test_self_disconnection_free_runs_after_the_heating_stops(small: EstateData) -> None:
    flat = next(f for f in small.flats if f.scenario == "self_disconnection")
    d = small.devices_of(flat.flat_id)[0]
    before = d.temp_c[(small.ts < flat.onset_ts) & (small.ts >= flat.onset_ts - 3 * 86400)]
    after = d.temp_c[small.ts >= flat.onset_ts + 2 * 86400]
    assert np.nanmean(before) > 18.5 and np.nanmean(after) < np.nanmean(before) - 4


def test_empty_flat_is_cold_without_an_occupancy_signature(small: EstateData) -> None:
    empty = device(small, "empty", "bedroom")
    lived_in = device(small, "healthy", "bedroom")
    assert np.nanmean(empty.temp_c) < 14

    # showers and cooking make short humidity spikes; an empty flat has none
    def spikes_per_day(rh: np.ndarray) -> float:
        """Rises of more than 5 % RH within 15 minutes, per day."""
        return float(np.sum(rh[3:] - rh[:-3] > 5.0) / (rh.size / 288))

    assert spikes_per_day(empty.rh_pct) == 0
    assert spikes_per_day(lived_in.rh_pct) > 1


def test_sensor_faults(small: EstateData) -> None:
    stuck = device(small, "faulty_sensor", "bedroom")
    k0 = 8 * 288
    tail = stuck.temp_c[k0:][np.isfinite(stuck.temp_c[k0:])]
    assert np.all(tail == tail[0])
    lost = np.mean(~np.isfinite(stuck.temp_c))
    assert 0.02 < lost < 0.09
    assert np.all(np.isfinite(device(small, "healthy", "bedroom").temp_c))
    drift = device(small, "drifting_sensor", "bedroom")
    sound = device(small, "drifting_sensor", "living_room")
    gap = drift.rh_pct - sound.rh_pct  # the two rooms share the weather
    assert np.nanmean(gap[-288:]) - np.nanmean(gap[:288]) > 12


def test_rooms_and_own_scenarios_from_the_estate_file(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    healthy = (Path(__file__).parents[2] / "src/simulators/scenarios/healthy.toml").read_text()
    (tmp_path / "mine" / "mouldy.toml").write_text(
        healthy.replace("ach = 0.7", "ach = 0.15").replace("damp = false", "damp = true")
    )
    (tmp_path / "e.toml").write_text(
        """
name = "Four rooms"
seed = 3
days = 3
end = 2026-01-10T12:00:00Z
[[blocks]]
name = "Ash House"
code = "AH"
flats = 4
[[rooms]]
name = "living_room"
kind = "living"
volume_m3 = 40
heater_w = 1500
[[rooms]]
name = "kitchen"
kind = "kitchen"
volume_m3 = 18
heater_w = 500
probe = true
[[rooms]]
name = "bathroom"
kind = "bathroom"
volume_m3 = 10
heater_w = 400
[[rooms]]
name = "bedroom"
kind = "bedroom"
volume_m3 = 28
heater_w = 1000
[mix]
mouldy = 1
[scenarios]
files = ["mine/mouldy.toml"]
"""
    )
    data = load_estate(tmp_path / "e.toml").generate()
    assert data.end == 1768046400 and len(data.devices) == 16
    assert {f.scenario for f in data.flats} == {"mouldy"}
    assert [d.room for d in data.devices_of("AH-0101")] == [
        "living_room", "kitchen", "bathroom", "bedroom"
    ]  # fmt: skip
    kitchen = data.devices_of("AH-0101")[1]
    assert kitchen.has_probe and kitchen.surface_c is not None
    bathroom = data.devices_of("AH-0101")[2]
    assert np.nanmax(bathroom.rh_pct) > 90  # showers


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x"}, "at least one [[blocks]] table is required"),
        (
            {"blocks": [{"name": "A"}]},
            "blocks[0] code (1–8 capital letters or digits) is required; "
            "blocks[0] flats is required",
        ),
        ({"blocks": [{"name": "A", "code": "a b", "flats": 3}]}, "blocks[0] code 'a b' must be"),
        (
            {"blocks": [{"name": "A", "code": "A", "flats": 0}]},
            "blocks[0] flats=0 is outside 1–10000",
        ),
        (
            {"blocks": [{"name": "A", "code": "A", "flats": 3, "floors": 2}]},
            "blocks[0] unknown key 'floors'",
        ),
        (
            {"blocks": [{"name": "A", "code": "A", "flats": 3}], "mix": {"damp_flats": 1}},
            "[mix] 'damp_flats' is not a scenario",
        ),
        (
            {"blocks": [{"name": "A", "code": "A", "flats": 3}], "mix": {"healthy": -1}},
            "[mix] healthy must be a weight ≥ 0",
        ),
        (
            {"blocks": [{"name": "A", "code": "A", "flats": 3}], "days": 400},
            "days=400 is outside 1–120",
        ),
        (
            {"blocks": [{"name": "A", "code": "A", "flats": 3}], "sead": 4},
            "unknown key 'sead' (did you mean 'seed'?)",
        ),
        (
            {"blocks": [{"name": "A", "code": "A", "flats": 3}], "sample_s": 7},
            "sample_s=7 is outside 30–3600",
        ),
        (
            {
                "blocks": [{"name": "A", "code": "A", "flats": 3}],
                "rooms": [{"name": "loft", "kind": "attic", "volume_m3": 9, "heater_w": 0}],
            },
            "rooms[0] kind 'attic' must be one of",
        ),
        (
            {"blocks": [{"name": "A", "code": "A", "flats": 3}], "building": {"tau_h": [60, 30]}},
            "[building] tau_h must be [low, high]",
        ),
    ],
)
def test_estate_file_errors_are_clear(data: dict[str, object], message: str) -> None:
    with pytest.raises(SimulatorError, match=re.escape(f"e.toml: {message}")):
        parse_estate(data, "e.toml")


def test_missing_estate_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(SimulatorError, match="cannot read estate"):
        load_estate(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("name = [")
    with pytest.raises(SimulatorError, match=r"bad\.toml: not valid TOML"):
        load_estate(tmp_path / "bad.toml")


def test_demo_estate_is_large_mostly_healthy_and_quick() -> None:
    import time

    estate = load_estate(EXAMPLES / "demo.toml")
    started = time.perf_counter()
    data = estate.generate()
    elapsed = time.perf_counter() - started
    assert len(data.flats) >= 200 and len({f.block for f in data.flats}) >= 3
    scenarios = [f.scenario for f in data.flats]
    assert scenarios.count("healthy") > len(scenarios) / 2
    assert set(scenarios) >= {"poor_ventilation", "under_heated", "empty", "thermal_bridge"}
    # about 1 s on a developer's machine; the bound only catches a gross regression
    assert elapsed < 60
