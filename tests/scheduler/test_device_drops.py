"""A device whose dropped readings rise between status messages is one device_fault
finding for its flat, handed to the finding sinks; a check with no new status finds
nothing. The counts arrive as the gateway stores them (its ingest and registry store),
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.devicefaults import Counters, DropWatch, drop_findings, dropped_since
from backend.risk.thresholds import DeviceThresholds, load_thresholds
from backend.scheduler import JOBS, watch_device_drops
from dampwatch_core.contract import status_topic
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.findings import Finding, FindingKind, FlagCode, is_device_fault
from dampwatch_core.models import Device, Flat, utcnow
from dampwatch_core.settings import load_settings
from gateway.directory import DeviceDirectory
from gateway.ingest import Received, handle_message
from gateway.store import RegistryStore

A, B, C = "esp32-00000000000a", "esp32-00000000000b", "esp32-00000000000c"


class Collected:
    def __init__(self) -> None:
        self.calls: list[list[Finding]] = []

    def publish(self, findings: Sequence[Finding]) -> None:
        self.calls.append(list(findings))


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    migrate(database_url)
    engine = make_engine(database_url)
    maker = make_sessionmaker(engine)
    with maker.begin() as s:
        s.add_all([Flat(id="F1", address="1 Drop Court"), Flat(id="F2", address="2 Drop Court")])
        s.flush()
        for device_id, flat, room in (
            (A, "F1", "bedroom"),
            (B, "F1", "kitchen"),
            (C, "F2", "bedroom"),
        ):
            s.add(Device(id=device_id, flat_id=flat, room=room, password_hash="x"))
    yield maker
    engine.dispose()


def status(sessions: sessionmaker[Session], device_id: str, **counters: int) -> None:
    """A status message from ``device_id``, through the gateway's ingest and store."""
    body = {"v": 1, "state": "online", **counters}
    msg = Received(status_topic(device_id), json.dumps(body).encode(), time.time(), qos=1)
    outcome = handle_message(msg, DeviceDirectory(sessions), max_age_s=3600)
    assert outcome.health is not None and not outcome.quarantined
    RegistryStore(sessions).save([outcome])


def test_rising_drops_are_one_finding_and_a_rerun_without_status_none(
    sessions: sessionmaker[Session],
) -> None:
    status(sessions, A, boot=3, drops=2, buffered=10)
    status(sessions, B, boot=1, drops=0)
    status(sessions, C, boot=1, drops=4)
    watch, sink = DropWatch(), Collected()
    assert watch.run(sessions, [sink]) == [] and sink.calls == []  # first counts: recorded

    status(sessions, A, boot=3, drops=7, buffered=60)  # 5 readings lost
    status(sessions, C, boot=1, drops=4)  # a new status, nothing lost
    findings = watch.run(sessions, [sink])
    assert sink.calls == [findings] and len(findings) == 1
    (finding,) = findings
    assert (finding.flat_id, finding.kind) == ("F1", FindingKind.DEVICE_FAULT)
    assert (finding.level_before.value, finding.level_after.value) == ("none", "high")
    (flag,) = finding.flags
    assert flag["code"] is FlagCode.READINGS_DROPPED and is_device_fault(flag)
    assert (flag.get("device_id"), flag.get("room"), flag.get("count")) == (A, "bedroom", 5)
    assert finding.period_start <= finding.period_end
    assert finding.thresholds_version == load_thresholds().version

    assert watch.run(sessions, [sink]) == [] and len(sink.calls) == 1  # no new status

    status(sessions, A, boot=4, drops=1)  # rebooted: its count starts again
    assert [f.flags[0].get("count") for f in watch.run(sessions, [sink])] == [1]


def test_the_scheduler_job_hands_its_findings_to_the_sinks(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    settings = load_settings(environ={"DAMPWATCH_DATABASE_URL": database_url})
    assert "watch_device_drops" in {j.name for j in JOBS}
    sink = Collected()
    status(sessions, B, boot=1, drops=10)
    watch_device_drops(settings, sessions, [sink])  # may be the process's first check
    status(sessions, B, boot=1, drops=12)
    assert watch_device_drops(settings, sessions, [sink]) == 1
    assert [f.flat_id for f in sink.calls[-1]] == ["F1"]


def _counters(drops: int, boot: int = 1) -> Counters:
    return Counters(A, "F1", "bedroom", boot, drops, datetime(2026, 1, 5, tzinfo=UTC))


def test_what_counts_as_dropped_and_the_threshold() -> None:
    assert dropped_since(None, _counters(9)) is None
    assert dropped_since(_counters(9), _counters(9)) == 0
    assert dropped_since(_counters(9), _counters(12)) == 3
    assert dropped_since(_counters(9), _counters(2)) == 2  # counter restarted
    assert dropped_since(_counters(9, boot=1), _counters(12, boot=2)) == 12  # rebooted
    strict = replace(load_thresholds(), devices=DeviceThresholds(drops_per_check=3))
    before = {A: _counters(9)}
    assert drop_findings(before, [_counters(11)], strict, checked_at=utcnow()) == []
    assert len(drop_findings(before, [_counters(12)], strict, checked_at=utcnow())) == 1
