"""A flat's story as chart data (pure), and the chart endpoint over real InfluxDB."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from apiharness import write_readings
from dashharness import store
from fastapi.testclient import TestClient

from backend.dashboard.story import flat_chart_data
from backend.readings import ReadingRow
from backend.registry import add_device
from backend.risk.heating import local_hour
from backend.risk.psychrometrics import dew_point, saturation_vapour_pressure
from dampwatch_core.settings import Settings

T0 = 1_764_000_000 - 1_764_000_000 % 3600  # an hour start (November 2025)


def row(ts: int, room: str, temp: float, rh: float, surface: float | None = None) -> ReadingRow:
    return ReadingRow(ts, f"esp32-{room[:4]:0<4}00000001", room, temp, rh, surface)


def test_the_wall_is_estimated_from_outdoors_without_a_probe_and_gaps_stay_gaps() -> None:
    rows = [row(T0 + 3600 * h, "bedroom", 18.0, 70.0) for h in range(48) if h != 5]
    outdoor = [row(T0 + 3600 * h, "outdoor", 2.0, 90.0) for h in range(48)]
    d = flat_chart_data(rows, outdoor, T0, T0 + 48 * 3600)
    assert d["ts"][0] == T0 and len(d["ts"]) == 48
    room = d["rooms"][0]
    assert room["room"] == "bedroom" and room["surface_source"] == "estimated"
    assert room["temp_c"][5] is None and room["surface_c"][5] is None  # the missing hour
    assert room["hours_with_readings"] == 47
    wall = 2.0 + 0.75 * (18.0 - 2.0)  # θe + f_Rsi (θi − θe)
    assert room["surface_c"][0] == pytest.approx(wall, abs=0.01)
    rh_wall = min(100.0, 70.0 * saturation_vapour_pressure(18.0) / saturation_vapour_pressure(wall))
    assert room["surface_rh_pct"][0] == pytest.approx(float(rh_wall), abs=0.01)
    assert room["dew_point_c"][0] == pytest.approx(float(dew_point(18.0, 70.0)), abs=0.01)
    assert d["outdoor_c"][0] == 2.0


def test_a_probe_wins_over_the_estimate_and_a_wet_wall_grows_mould() -> None:
    wet = [row(T0 + 3600 * h, "kitchen", 17.0, 85.0, surface=12.0) for h in range(24 * 20)]
    dry = [row(T0 + 3600 * h, "bedroom", 21.0, 40.0, surface=20.0) for h in range(24 * 20)]
    d = flat_chart_data(wet + dry, [], T0, T0 + 24 * 20 * 3600)
    rooms = {r["room"]: r for r in d["rooms"]}
    assert rooms["kitchen"]["surface_source"] == "probe"
    assert rooms["kitchen"]["surface_c"][0] == 12.0
    assert d["outdoor_c"][0] is None  # no outdoor sensor in the block
    kitchen_m = rooms["kitchen"]["mould_index"]
    assert kitchen_m[-1] > kitchen_m[24] > 0  # grows on a wall at 100 % RH
    assert max(rooms["bedroom"]["mould_index"]) == 0


def test_the_heating_pattern_is_the_mean_by_local_hour() -> None:
    # warm from 07:00 to 09:00 and 17:00 to 22:00 local time, cold otherwise
    hours = [T0 + 3600 * h for h in range(24 * 7)]
    local = local_hour(np.array(hours))
    rows = [
        row(t, "living_room", 21.0 if (7 <= h < 9 or 17 <= h < 22) else 14.0, 55.0)
        for t, h in zip(hours, local, strict=True)
    ]
    d = flat_chart_data(rows, [], T0, T0 + 24 * 7 * 3600)
    pattern = d["rooms"][0]["heating"]
    assert pattern["hour"] == list(range(24))
    assert pattern["temp_c"][8] == 21.0 and pattern["temp_c"][18] == 21.0
    assert pattern["temp_c"][3] == 14.0 and pattern["temp_c"][12] == 14.0


def test_the_chart_endpoint_reads_hourly_readings_and_the_blocks_outdoor_sensor(
    client: TestClient, seeded_settings: Settings
) -> None:
    with store(seeded_settings) as s:
        add_device(s, "esp32-out000000001", "A-1", "outdoor")
    now = int(time.time())
    start = now - 3 * 86400
    write_readings(seeded_settings, "B-2", "esp32-bbbb00000002", "bedroom", range(start, now, 600))
    write_readings(seeded_settings, "A-1", "esp32-out000000001", "outdoor", range(start, now, 600))
    r = client.get("/flats/B-2/chart.json", params={"days": 3})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    d = r.json()
    assert [x["room"] for x in d["rooms"]] == ["bedroom"]  # the outdoor sensor is not a room
    bedroom = d["rooms"][0]
    assert bedroom["devices"] == ["esp32-bbbb00000002"]
    assert bedroom["hours_with_readings"] >= 70
    assert sum(v is not None for v in d["outdoor_c"]) >= 70
    # six readings an hour, averaged: the hour's mean, not a single reading
    temps = [v for v in bedroom["temp_c"] if v is not None]
    assert all(18.0 <= v <= 18.6 for v in temps)
    assert not any(isinstance(v, float) and math.isnan(v) for v in bedroom["surface_rh_pct"] if v)
    assert client.get("/flats/NOPE/chart.json").status_code == 404
    assert client.get("/flats/B-2/chart.json", params={"days": 91}).status_code == 422
