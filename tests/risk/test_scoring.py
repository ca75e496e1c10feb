"""Scheduled scoring against real InfluxDB and the relational store: incremental,
state carried forward, late data waited for, assessments kept as history."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.registry import add_device, add_flat
from backend.scoring import score_estate
from dampwatch.stack.influxdb import InfluxDB
from dampwatch_core.const import Level
from dampwatch_core.contract import Reading
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.findings import Finding, FindingKind, FlagCode, ReasonCode, ReasonKind
from dampwatch_core.influx import InfluxClient
from dampwatch_core.models import FlatRisk, RiskAssessment, ScoringState
from gateway.schema import reading_line, series_key

DAY0 = 1764547200  # 2025-12-01T00:00Z
DEVICES = {
    # device: (flat, room, kind)
    "esp32-000000000d01": ("DAMP-1", "bedroom", "damp"),
    "esp32-000000000d02": ("DAMP-1", "living_room", "damp"),
    "esp32-000000000c01": ("COLD-1", "bedroom", "cold"),
    "esp32-000000000c02": ("COLD-1", "living_room", "cold"),
    "esp32-000000000a01": ("OK-1", "bedroom", "ok"),
    "esp32-000000000a02": ("OK-1", "living_room", "ok"),
    "esp32-000000000e01": ("SITE-1", "outdoor", "outdoor"),
}


def reading(kind: str, ts: int) -> Reading:
    hour = (ts // 3600) % 24
    spike = hour in (7, 18) and (ts // 300) % 12 < 3
    t, rh = {
        "damp": (18.5, 73.0 + (12 if spike else 0)),
        "cold": (14.5, 62.0 + (12 if spike else 0)),
        "ok": (20.5, 50.0 + (14 if spike else 0)),
        "outdoor": (3.0, 90.0),
    }[kind]
    return Reading(ts, round(t + 0.5 * math.sin(hour / 24 * 2 * math.pi), 2), rh)


def write(influx: InfluxClient, start: int, end: int, skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    lines = []
    for dev, (flat, room, kind) in DEVICES.items():
        if dev in skip:
            continue
        key = series_key(dev, flat, room, "leeds")
        lines += [reading_line(key, reading(kind, ts)) for ts in range(start, end, 300)]
    influx.write_lines(lines)


def registered(url: str) -> sessionmaker[Session]:
    """A migrated store at ``url`` with the test flats and devices registered."""
    migrate(url)
    sessions = make_sessionmaker(make_engine(url))
    with sessions.begin() as s:
        for flat in ("DAMP-1", "COLD-1", "OK-1", "SITE-1"):
            add_flat(s, flat, f"{flat} Test Court", block="Test Court")
        s.flush()
        for dev, (flat, room, _) in DEVICES.items():
            add_device(s, dev, flat, room)
    return sessions


@pytest.fixture
def estate(database_url: str, influxdb: InfluxDB):  # type: ignore[no-untyped-def]
    sessions = registered(database_url)
    with InfluxClient(influxdb.url, influxdb.database) as influx:
        yield sessions, influx


def test_scoring_ranks_and_explains(estate) -> None:  # type: ignore[no-untyped-def]
    sessions, influx = estate
    write(influx, DAY0, DAY0 + 4 * 86400)
    report = score_estate(sessions, influx, now=DAY0 + 4 * 86400 + 60)
    assert report.devices_scored == 6 and report.flats_assessed == 3
    with sessions() as s:
        risk = {r.flat_id: (r.damp_level, r.cold_level) for r in s.query(FlatRisk)}
        top = s.query(FlatRisk).order_by(FlatRisk.rank.desc(), FlatRisk.score.desc()).all()
        damp = s.query(RiskAssessment).filter_by(flat_id="DAMP-1").one()
    # a streaming wall for 4 days: medium; the mould index (below 1) says no growth yet
    assert risk["DAMP-1"][0] == "medium" and risk["COLD-1"][1] == "high"
    assert risk["OK-1"] == ("none", "none")
    assert {top[0].flat_id, top[1].flat_id} == {"DAMP-1", "COLD-1"}
    codes = {r["code"] for r in damp.reasons}
    assert "surface_rh_over_80" in codes
    assert "f_Rsi 0.75" in next(
        r["message"] for r in damp.reasons if r["code"] == "surface_rh_over_80"
    )


def test_incremental_runs_equal_one_run_and_keep_history(
    estate, influxdb: InfluxDB, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    sessions, influx = estate
    write(influx, DAY0, DAY0 + 3 * 86400)
    for hour in range(24, 3 * 24 + 1, 12):  # every 12 h over three days
        score_estate(sessions, influx, now=DAY0 + hour * 3600)
    with sessions() as s:
        inc = {
            r.device_id: (r.last_ts, r.state["mould"], r.state["dry"])
            for r in s.query(ScoringState)
        }
        history = s.query(RiskAssessment).filter_by(flat_id="DAMP-1").count()
    # one row per day of data (runs on days 1, 1, 2, 2, 3), more only where levels changed
    assert 3 <= history <= 5
    # the same data scored in one run, in a fresh store
    one = registered(f"sqlite:///{tmp_path / 'one.db'}")
    score_estate(one, influx, now=DAY0 + 3 * 86400)
    with one() as s:
        single = {
            r.device_id: (r.last_ts, r.state["mould"], r.state["dry"])
            for r in s.query(ScoringState)
        }
    assert inc.keys() == single.keys()
    for dev in inc:
        assert inc[dev][0] == single[dev][0]
        assert inc[dev][1] == pytest.approx(single[dev][1], abs=1e-9)
        assert inc[dev][2] == pytest.approx(single[dev][2])
    assert single["esp32-000000000d01"][1] > 0  # the damp bedroom grows mould


def test_history_keeps_a_row_per_day_and_per_level_change(estate) -> None:  # type: ignore[no-untyped-def]
    sessions, influx = estate
    write(influx, DAY0, DAY0 + 3 * 86400)
    for hour in (30, 36, 42):  # three runs on the second day
        score_estate(sessions, influx, now=DAY0 + hour * 3600)
    with sessions() as s:
        ok = s.query(RiskAssessment).filter_by(flat_id="OK-1").all()
        assert s.get(FlatRisk, "OK-1").assessment_id == ok[0].id
    # the same levels all day: the day's row was updated in place to the latest run
    assert len(ok) == 1 and (ok[0].damp_level, ok[0].cold_level) == ("none", "none")
    assert ok[0].period_end.timestamp() == DAY0 + 42 * 3600
    score_estate(sessions, influx, now=DAY0 + 54 * 3600)  # the next day starts a new row
    with sessions() as s:
        ok = (
            s.query(RiskAssessment)
            .filter_by(flat_id="OK-1")
            .order_by(RiskAssessment.period_end)
            .all()
        )
        assert len(ok) == 2 and s.get(FlatRisk, "OK-1").assessment_id == ok[1].id
        assert ok[1].period_end.timestamp() == DAY0 + 54 * 3600
        # wherever a day holds two rows of a flat, its levels changed between them
        for flat in ("DAMP-1", "COLD-1", "OK-1"):
            rows = (
                s.query(RiskAssessment)
                .filter_by(flat_id=flat)
                .order_by(RiskAssessment.period_end)
                .all()
            )
            for a, b in itertools.pairwise(rows):
                if a.period_end.date() == b.period_end.date():
                    assert (a.damp_level, a.cold_level) != (b.damp_level, b.cold_level)
        assert s.query(FlatRisk).count() == 3


def test_hours_still_on_a_device_are_scored_later(estate) -> None:  # type: ignore[no-untyped-def]
    sessions, influx = estate
    late = "esp32-000000000d01"
    write(influx, DAY0, DAY0 + 2 * 86400, skip={late})
    write(influx, DAY0, DAY0 + 86400 + 4 * 3600)  # the late device uploaded less so far
    score_estate(sessions, influx, now=DAY0 + 2 * 86400)
    with sessions() as s:
        assert s.get(ScoringState, late).last_ts == DAY0 + 86400 + 4 * 3600
        assert s.get(ScoringState, "esp32-000000000d02").last_ts == DAY0 + 2 * 86400
    write(influx, DAY0 + 86400 + 4 * 3600, DAY0 + 2 * 86400)  # its backlog arrives
    report = score_estate(sessions, influx, now=DAY0 + 2 * 86400 + 60)
    with sessions() as s:
        assert s.get(ScoringState, late).last_ts == DAY0 + 2 * 86400
    assert report.devices_scored == 1


def test_hourly_reads_split_by_rooms_near_half_the_devices() -> None:
    from backend.scoring import room_split as _room_split

    assert _room_split({"bedroom": 57_000, "living_room": 57_000}) == ["bedroom"]
    half = _room_split({"bedroom": 40, "living_room": 35, "kitchen": 20, "bathroom": 5})
    assert half == ["bedroom", "bathroom"]  # 45 of 100
    assert _room_split({"living_room": 90, "bedroom": 10}) == []  # no near-even split
    assert _room_split({}) == []


class Collect:
    """A finding sink that keeps what it is given, one list per run."""

    def __init__(self) -> None:
        self.runs: list[list[Finding]] = []

    def publish(self, findings: Sequence[Finding]) -> None:
        self.runs.append(list(findings))


def test_a_flat_going_from_none_to_medium_damp_is_one_finding(estate) -> None:  # type: ignore[no-untyped-def]
    sessions, influx = estate
    flat = {"esp32-000000000d01", "esp32-000000000d02"}
    site = {"esp32-000000000e01"}

    def write_as(kind: str, start: int, end: int) -> None:
        lines = []
        for dev in flat | site:
            f, room, own = DEVICES[dev]
            key = series_key(dev, f, room, "leeds")
            k = own if dev in site else kind
            lines += [reading_line(key, reading(k, ts)) for ts in range(start, end, 300)]
        influx.write_lines(lines)

    sink = Collect()
    # a sound flat for two days: assessed "none", nothing found
    write_as("ok", DAY0, DAY0 + 2 * 86400)
    first = score_estate(sessions, influx, now=DAY0 + 2 * 86400, sinks=[sink])
    assert first.flats_assessed == 1 and first.findings == []
    with sessions() as s:
        assert s.get(FlatRisk, "DAMP-1").damp_level == "none"
    # then a week of damp: one finding, the damp level from none to medium (the mould
    # index has not reached 1, so not high), with reasons
    write_as("damp", DAY0 + 2 * 86400, DAY0 + 10 * 86400)
    second = score_estate(sessions, influx, now=DAY0 + 10 * 86400, sinks=[sink])
    assert len(second.findings) == 1
    (found,) = second.findings
    assert (found.flat_id, found.kind) == ("DAMP-1", FindingKind.DAMP)
    assert (found.level_before, found.level_after) == (Level.NONE, Level.MEDIUM)
    assert found.rose
    codes = {r["code"] for r in found.reasons}
    assert ReasonCode.SURFACE_RH_OVER_80 in codes
    assert all(r["kind"] == ReasonKind.DAMP and r["message"] for r in found.reasons)
    assert found.period_end.timestamp() == DAY0 + 10 * 86400
    assert found.period_start.timestamp() == DAY0 + 4 * 86400  # the 7-day window
    with sessions() as s:
        assert found.assessment_id == s.get(FlatRisk, "DAMP-1").assessment_id
    # a re-run with no new data finds nothing; nor does a new hour at the same levels
    again = score_estate(sessions, influx, now=DAY0 + 10 * 86400 + 60, sinks=[sink])
    assert again.findings == []
    write_as("damp", DAY0 + 10 * 86400, DAY0 + 10 * 86400 + 3600)
    later = score_estate(sessions, influx, now=DAY0 + 10 * 86400 + 3600 + 60, sinks=[sink])
    assert later.devices_scored == 2 and later.findings == []
    # the sink was handed each run's findings, once per run that assessed
    assert sink.runs == [[], [found], []]


def test_a_stuck_sensor_is_one_device_fault_finding(estate) -> None:  # type: ignore[no-untyped-def]
    sessions, influx = estate

    def write_stuck(start: int, end: int) -> None:
        lines = []
        for dev in ("esp32-000000000a01", "esp32-000000000a02"):
            flat, room, _ = DEVICES[dev]
            key = series_key(dev, flat, room, "leeds")
            lines += [reading_line(key, Reading(ts, 20.0, 50.0)) for ts in range(start, end, 300)]
        influx.write_lines(lines)

    write_stuck(DAY0, DAY0 + 2 * 86400)
    first = score_estate(sessions, influx, now=DAY0 + 2 * 86400)
    (found,) = first.findings
    assert (found.flat_id, found.kind) == ("OK-1", FindingKind.DEVICE_FAULT)
    assert (found.level_before, found.level_after) == (Level.NONE, Level.HIGH)
    assert {f["code"] for f in found.flags} == {FlagCode.SENSOR_FLATLINE}
    # still stuck an hour later: the store sees the previous flag, nothing new is found
    write_stuck(DAY0 + 2 * 86400, DAY0 + 2 * 86400 + 3600)
    later = score_estate(sessions, influx, now=DAY0 + 2 * 86400 + 3600 + 60)
    assert later.devices_scored == 2 and later.findings == []
