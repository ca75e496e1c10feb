from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from simulators.flatsim import (
    Estate,
    FlatsimError,
    generate,
    load_estate,
    write_outdoor_csv,
    write_readings_csv,
)

from .conftest import EXAMPLES, FIXED_END

SCENARIOS = {
    "healthy",
    "under_heated",
    "self_disconnection",
    "poor_ventilation",
    "thermal_bridge",
    "leak",
    "empty",
    "faulty_sensor",
    "offline_backfill",
}


def test_deterministic_from_seed() -> None:
    spec = load_estate(EXAMPLES / "small.toml")
    a, b = generate(spec), generate(spec)
    assert [d.device_id for d in a.devices] == [d.device_id for d in b.devices]
    assert [f.truth for f in a.flats] == [f.truth for f in b.flats]
    for da, db in zip(a.devices, b.devices, strict=True):
        assert np.array_equal(da.temp_c, db.temp_c, equal_nan=True)
        assert np.array_equal(da.rh_pct, db.rh_pct, equal_nan=True)
        assert np.array_equal(da.surface_c, db.surface_c, equal_nan=True)
    other = generate(load_estate(EXAMPLES / "small.toml").__class__(**{**spec.__dict__, "seed": 8}))
    assert [d.device_id for d in other.devices] != [d.device_id for d in a.devices]


def test_identities(small_estate: Estate) -> None:
    e = small_estate
    assert len(e.flats) == 20
    assert all(re.fullmatch(r"TC-\d{4}", f.flat_id) for f in e.flats)
    assert e.flats[0].flat_id == "TC-0101"
    ids = [d.device_id for d in e.devices]
    assert len(set(ids)) == len(ids) == 40
    assert all(re.fullmatch(r"esp32-[0-9a-f]{12}", i) for i in ids)
    for t in e.tenants:
        assert re.fullmatch(r"\+447700900\d{3}", t.phone)
    vacant = {f.flat_id for f in e.flats if f.truth.vacant}
    assert vacant and not vacant & {t.flat_id for t in e.tenants}
    assert {f.scenario for f in e.flats} == SCENARIOS


def test_window_and_arrays(small_estate: Estate) -> None:
    e = small_estate
    assert e.start == 1768176000  # 2026-01-12 from the file
    assert e.end - e.start == (14 * 288 - 1) * 300
    assert np.all(np.diff(e.outdoor.ts) == 300)
    for d in e.devices:
        assert d.ts.dtype == np.int64 and d.ts.size == d.temp_c.size == d.rh_pct.size
        ok = ~np.isnan(d.temp_c)
        assert np.allclose(d.temp_c[ok], np.round(d.temp_c[ok], 2))
        assert np.allclose(d.rh_pct[ok], np.round(d.rh_pct[ok], 1))
        assert np.all((d.rh_pct[ok] >= 0) & (d.rh_pct[ok] <= 100))
        assert np.isnan(d.surface_c).all() != d.has_probe


def test_end_override_moves_the_window() -> None:
    e = generate(load_estate(EXAMPLES / "small.toml"), end=FIXED_END + 299)
    assert e.end == FIXED_END


def test_truth_onsets(small_estate: Estate) -> None:
    for f in small_estate.flats:
        t = f.truth
        if f.scenario in ("healthy", "empty", "offline_backfill"):
            assert t.onset_ts is None
        elif f.scenario in ("poor_ventilation", "thermal_bridge", "under_heated"):
            assert t.onset_ts == small_estate.start
        else:
            assert t.onset_ts is not None and small_estate.start < t.onset_ts <= small_estate.end


def test_sensor_faults(small_estate: Estate) -> None:
    faulty = [d for d in small_estate.devices if d.fault is not None]
    assert faulty
    for d in faulty:
        assert d.fault_start_ts is not None
        after = d.ts >= d.fault_start_ts
        if d.fault == "stuck":
            assert np.ptp(d.temp_c[after]) == 0.0
        elif d.fault == "dropout":
            assert np.isnan(d.temp_c[after]).mean() > 0.1
            assert not np.isnan(d.temp_c[~after]).any()
        else:
            assert d.fault == "drift"
    offline = [d for d in small_estate.devices if d.offline]
    assert offline and all(d.fault is None for d in offline)


def test_csv_writers(small_estate: Estate, tmp_path: Path) -> None:
    readings = tmp_path / "readings.csv"
    outdoor = tmp_path / "outdoor.csv"
    n = write_readings_csv(small_estate, readings)
    with readings.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n
    assert list(rows[0]) == ["flat_id", "room", "ts", "temp_c", "rh_pct", "surface_c"]
    expected = sum(int((~np.isnan(d.temp_c)).sum()) for d in small_estate.devices)
    assert n == expected
    d0 = small_estate.devices[0]
    first = rows[0]
    assert first["flat_id"] == d0.flat_id and int(first["ts"]) == int(d0.ts[0])
    assert float(first["temp_c"]) == pytest.approx(d0.temp_c[0])
    assert (first["surface_c"] == "") != d0.has_probe
    m = write_outdoor_csv(small_estate, outdoor)
    lines = outdoor.read_text().splitlines()
    assert lines[0] == "ts,temp_c" and len(lines) == m + 1


def test_demo_estate_generates(demo_estate: Estate) -> None:
    assert len(demo_estate.flats) >= 200
    assert len({f.block for f in demo_estate.flats}) in (3, 4)
    assert {f.scenario for f in demo_estate.flats} == SCENARIOS
    healthy = sum(f.scenario == "healthy" for f in demo_estate.flats)
    assert healthy > len(demo_estate.flats) / 2
    assert demo_estate.outdoor.temp_c.min() < -4


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "estate.toml"
    path.write_text(text, encoding="utf-8")
    return path


ESTATE = """
name = "E"
seed = 1
days = 3
[[blocks]]
name = "A"
code = "AB"
flats = 4
[mix]
healthy = 1
"""


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (ESTATE.replace("days = 3", "days = 0"), ["estate.toml", "days", "1 to 366"]),
        (ESTATE.replace('code = "AB"', 'code = "ab"'), ["[[blocks]] #1 code", "capital"]),
        (
            ESTATE.replace("healthy = 1", "healthy = 1\nmouldy = 2"),
            ["[mix] mouldy", "unknown scenario", "leak"],
        ),
        (ESTATE.replace("seed = 1", ""), ["seed", "required"]),
        (ESTATE + 'rooms = ["attic"]\n', ["rooms"]),
        (ESTATE.replace("days = 3", 'days = 3\nstart = "next tuesday"'), ["start", "ISO"]),
        (ESTATE.replace("days = 3", "days = 3\nflats = 3"), ["flats", "unknown key"]),
    ],
)
def test_bad_estates_say_file_key_and_range(tmp_path: Path, text: str, needles: list[str]) -> None:
    with pytest.raises(FlatsimError) as info:
        load_estate(write(tmp_path, text))
    for needle in needles:
        assert needle in str(info.value)


def test_estate_with_own_scenario(tmp_path: Path) -> None:
    (tmp_path / "drafty.toml").write_text(
        'name = "drafty"\n[truth]\ndamp = false\ncold = true\n[ventilation]\nair_changes_h = 3.0\n',
        encoding="utf-8",
    )
    text = 'scenario_files = ["drafty.toml"]\n' + ESTATE.replace("healthy = 1", "drafty = 1")
    spec = load_estate(write(tmp_path, text))
    e = generate(spec, end=FIXED_END)
    assert {f.scenario for f in e.flats} == {"drafty"}
    assert all(f.truth.cold for f in e.flats)


def test_command_line_writes_all_files(tmp_path: Path) -> None:
    from simulators.flatsim.__main__ import main

    assert main([str(EXAMPLES / "small.toml"), "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    with (out / "truth.csv").open() as fh:
        truth = list(csv.DictReader(fh))
    assert len(truth) == 20 and {r["scenario"] for r in truth} == SCENARIOS
    assert all(r["damp"] in ("0", "1") for r in truth)
    with (out / "devices.csv").open() as fh:
        devices = list(csv.DictReader(fh))
    assert len(devices) == 40 and any(r["offline"] for r in devices)
    assert (out / "readings.csv").stat().st_size > 0 and (out / "outdoor.csv").exists()


def test_command_line_reports_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from simulators.flatsim.__main__ import main

    bad = write(tmp_path, ESTATE.replace("days = 3", "days = -1"))
    assert main([str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "days" in capsys.readouterr().err


def test_four_rooms_across_a_clock_change(tmp_path: Path) -> None:
    """Kitchen and bathroom (fans, showers where they happen) through the March clock change."""
    rooms = 'rooms = ["living_room", "bedroom", "kitchen", "bathroom"]\n'
    text = rooms + ESTATE.replace("days = 3", 'days = 4\nstart = "2026-03-27"').replace(
        "healthy = 1", "healthy = 1\npoor_ventilation = 1"
    )
    e = generate(load_estate(write(tmp_path, text)))
    assert len(e.devices) == 16
    bath = [d for d in e.devices if d.room == "bathroom"]
    # showers: the bathroom has the sharpest RH rises of any room
    rises = {
        room: max(float(np.nanmax(np.diff(d.rh_pct))) for d in e.devices if d.room == room)
        for room in ("living_room", "bedroom", "bathroom")
    }
    assert rises["bathroom"] == max(rises.values()) and rises["bathroom"] > 10
    assert all(np.isfinite(d.temp_c).all() for d in bath)


@pytest.mark.parametrize("rooms", [["living_room"], ["bathroom", "kitchen"], ["bedroom"]])
def test_any_room_set_stays_plausible(tmp_path: Path, rooms: list[str]) -> None:
    text = f"rooms = {rooms!r}\n".replace("'", '"') + ESTATE
    e = generate(load_estate(write(tmp_path, text)), end=FIXED_END)
    for d in e.devices:
        assert 10 < float(np.nanmean(d.temp_c)) < 26, (rooms, d.room)
