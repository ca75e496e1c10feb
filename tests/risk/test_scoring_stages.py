"""The scoring stages on their own: the hourly reader against a fake client, the grid
builder (pure) and the change detection that makes findings (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np

from backend.risk.levels import FlatAssessment
from backend.scoring.grid import DeviceRow, build_grid
from backend.scoring.reader import HourlyFrame, HourlyReader
from backend.scoring.store import AssessmentPeriod, findings_of
from dampwatch_core.const import Level
from dampwatch_core.findings import (
    Finding,
    FindingKind,
    FindingSink,
    Flag,
    FlagCode,
    Reason,
    ReasonCode,
    ReasonKind,
)
from dampwatch_core.influx import Series

H0 = 1764547200  # 2025-12-01T00:00Z


class FakeInflux:
    """Answers every query with the same series, and remembers the queries."""

    def __init__(self, series: list[Series]) -> None:
        self.series = series
        self.queries: list[tuple[str, Mapping[str, Any] | None]] = []

    def query(self, q: str, params: Mapping[str, Any] | None = None) -> list[Series]:
        self.queries.append((q, params))
        return self.series


def test_the_reader_makes_a_frame_of_complete_hours_from_any_client() -> None:
    rows = [[H0, 20.0, 60.0, None, 64.0], [H0 + 3600, None, None, None, None]]
    fake = FakeInflux([Series("climate", {"device": "d1"}, ["time", "a", "b", "c", "d"], rows)])
    frame = HourlyFrame()
    with ThreadPoolExecutor(1) as pool:
        reader = HourlyReader(fake, pool)
        reader.collect(reader.submit_hourly(H0, H0 + 7200, ["bedroom"]), frame)
    temp, rh, surface, rh_max = frame.of("d1")[H0]
    assert (temp, rh, rh_max) == (20.0, 60.0, 64.0) and math.isnan(surface)
    assert list(frame.of("d1")) == [H0]  # the hour without readings is left out
    assert frame.of("nobody") == {}
    # split by rooms: one query for the listed rooms, one for all others
    wheres = [q for q, _ in fake.queries]
    assert len(wheres) == 2 and "room = $room0" in wheres[0] and "room != $room0" in wheres[1]
    assert all(p == {"start": H0 * 10**9, "end": (H0 + 7200) * 10**9, "room0": "bedroom"}
               for _, p in fake.queries)  # fmt: skip


def test_the_grid_places_hours_and_outdoor_temperature_by_block() -> None:
    frame = HourlyFrame(
        {
            "in1": {H0: (20.0, 60.0, math.nan, 61.0), H0 + 3600: (21.0, 62.0, 15.0, 63.0)},
            "in2": {H0 + 3600: (18.0, 70.0, math.nan, 70.0)},
            "out": {H0: (4.0, 90.0, math.nan, 90.0), H0 + 3600: (5.0, 90.0, math.nan, 90.0)},
        }
    )
    todo = [DeviceRow("in1", "F1", "bedroom", "A"), DeviceRow("in2", "F2", "bedroom", "B")]
    built = build_grid(
        frame,
        todo,
        [DeviceRow("out", "A-SITE", "outdoor", "A")],
        {"in1": H0 + 3600, "in2": H0},  # in1 already scored its first hour
        {"in1": H0 + 7200, "in2": H0 + 7200},
        H0,
        H0 + 7200,
        0.75,
    )
    g = built.grid
    assert g.temp_c.shape == (2, 2) and built.hours_read == 2
    assert math.isnan(g.temp_c[0, 0]) and g.temp_c[0, 1] == 21.0  # before its last scored hour
    assert g.temp_c[1, 1] == 18.0
    assert g.outdoor_c is not None
    assert list(g.outdoor_c[0]) == [4.0, 5.0] and np.isnan(g.outdoor_c[1]).all()  # block B
    assert [i.surface_source for i in built.infos] == ["probe", None]


def _assessment(damp: str, cold: str, flags: list[Flag] | None = None) -> FlatAssessment:
    reasons = [
        Reason(
            kind=ReasonKind.DAMP,
            code=ReasonCode.SURFACE_RH_OVER_80,
            room="bedroom",
            message="surface RH …",
        ),
        Reason(kind=ReasonKind.COLD, code=ReasonCode.BELOW_18C, message="below 18 °C …"),
    ]
    return FlatAssessment("F1", damp, cold, 30.0, reasons, flags or [])


PERIOD = AssessmentPeriod(
    datetime(2025, 12, 8, tzinfo=UTC),
    datetime(2025, 12, 2, tzinfo=UTC),
    datetime(2025, 12, 8, tzinfo=UTC),
    "2026.1",
)


def test_a_finding_is_a_change_of_level_with_the_reasons_of_its_kind() -> None:
    (damp,) = findings_of(_assessment("high", "none"), "none", "none", False, False, PERIOD, 7)
    assert (damp.kind, damp.level_before, damp.level_after) == (
        FindingKind.DAMP,
        Level.NONE,
        Level.HIGH,
    )
    assert [r["code"] for r in damp.reasons] == [ReasonCode.SURFACE_RH_OVER_80]
    assert damp.assessment_id == 7 and damp.thresholds_version == "2026.1"
    assert findings_of(_assessment("high", "none"), "high", "none", False, False, PERIOD) == []
    (cold,) = findings_of(_assessment("high", "low"), "high", "medium", False, False, PERIOD)
    assert cold.kind is FindingKind.COLD and not cold.rose


def test_flags_appearing_or_going_are_findings() -> None:
    vacant = Flag(code=FlagCode.POSSIBLE_VACANCY, message="no occupancy", spikes_per_day=0.1)
    stuck = Flag(code=FlagCode.SENSOR_FLATLINE, room="bedroom", message="no change at all")
    gap = Flag(code=FlagCode.DATA_GAP, message="readings cover 50 % of the period")
    a = _assessment("none", "none", [vacant, stuck, gap])
    kinds = {f.kind: f for f in findings_of(a, "none", "none", False, False, PERIOD)}
    assert set(kinds) == {FindingKind.VACANCY, FindingKind.DEVICE_FAULT}  # a gap is not one
    assert kinds[FindingKind.DEVICE_FAULT].flags == (stuck,)
    assert kinds[FindingKind.VACANCY].level_after is Level.HIGH
    assert findings_of(a, "none", "none", True, True, PERIOD) == []  # still flagged
    (gone,) = findings_of(_assessment("none", "none"), "none", "none", False, True, PERIOD)
    assert (gone.kind, gone.level_after) == (FindingKind.DEVICE_FAULT, Level.NONE)


def test_a_list_is_a_finding_sink() -> None:
    class Keep:
        def __init__(self) -> None:
            self.got: list[Finding] = []

        def publish(self, findings: Any) -> None:
            self.got += findings

    assert isinstance(Keep(), FindingSink)
