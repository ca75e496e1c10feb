"""The scoring job: one incremental run over the whole estate, the stages in order.

1. the registry's commissioned devices, and how far each has been scored;
2. (while the carried state loads) InfluxDB finds each device's latest reading and
   aggregates the hours most devices need (:mod:`.reader`);
3. each device is scored up to the last complete hour it has sent (:mod:`.grid`, then
   the engine), its state carried forward (:mod:`.state`);
4. the flats with new data are re-assessed from their window of daily buckets, stored,
   and what changed is returned as findings and handed to the sinks (:mod:`.store`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.risk.engine import DailyMetrics, EngineParams, SeriesState, score_grid
from backend.risk.levels import SeriesInfo, assess_flats
from backend.risk.thresholds import Thresholds, load_thresholds
from backend.scoring.grid import DeviceRow, build_grid
from backend.scoring.reader import HourlyFrame, HourlyReader, InfluxQuery, room_split
from backend.scoring.state import (
    DeviceState,
    SqlStateStore,
    StateStore,
    merge_all,
    window_values,
)
from backend.scoring.store import AssessmentPeriod, AssessmentStore, SqlAssessmentStore
from dampwatch_core.const import DEFAULT_F_RSI, OUTDOOR_ROOM
from dampwatch_core.findings import Finding, FindingSink
from dampwatch_core.models import Device, Flat

__all__ = ["COMPLETE_SLACK_S", "FIRST_RUN_DAYS", "ScoringReport", "score_estate"]

log = logging.getLogger(__name__)

#: How far back a device never scored before is read.
FIRST_RUN_DAYS = 14
#: A reading this close to the end of an hour (one sample interval) completes it.
COMPLETE_SLACK_S = 300


@dataclass
class ScoringReport:
    devices_scored: int = 0
    hours_read: int = 0
    flats_assessed: int = 0
    seconds: float = 0.0
    #: seconds spent in each phase of the run, in order
    phases: dict[str, float] = field(default_factory=dict)
    #: what changed in this run (also handed to the sinks)
    findings: list[Finding] = field(default_factory=list)

    def lap(self, phase: str, since: float) -> float:
        """Record ``phase`` as having taken from ``since`` until now; returns now."""
        now = time.perf_counter()
        self.phases[phase] = round(now - since, 3)
        return now


def _registry(session: Session) -> list[DeviceRow]:
    return [
        DeviceRow._make(r)
        for r in session.execute(
            select(Device.id, Device.flat_id, Device.room, Flat.block)
            .join(Flat, Flat.id == Device.flat_id)
            .where(Device.decommissioned_at.is_(None))
        ).all()
    ]


def score_estate(
    sessions: sessionmaker[Session],
    influx: InfluxQuery,
    *,
    now: int | None = None,
    thresholds: Thresholds | None = None,
    params: EngineParams | None = None,
    f_rsi: float = DEFAULT_F_RSI,
    sinks: Sequence[FindingSink] = (),
    state_store: StateStore | None = None,
    assessment_store: AssessmentStore | None = None,
) -> ScoringReport:
    """One incremental run over the whole estate (see the module docstring). Returns
    the report with the run's findings, which each of ``sinks`` is also given once
    the run's writes are committed. ``influx``, ``state_store`` and
    ``assessment_store`` may be replaced (a test's fakes); the stores default to the
    relational ones."""
    started = time.perf_counter()
    th = thresholds or load_thresholds()
    params = params or EngineParams(limits=th.metrics)
    states = state_store or SqlStateStore()
    assessments_store = assessment_store or SqlAssessmentStore()
    now = int(time.time()) if now is None else now
    now_hour = now // 3600 * 3600
    first_start = (now_hour - FIRST_RUN_DAYS * 86400) // 86400 * 86400
    report = ScoringReport()

    lap = started
    with ThreadPoolExecutor(max_workers=3) as pool:
        reader = HourlyReader(influx, pool)
        with sessions() as session:
            last_ts = states.last_scored(session)
            rows = _registry(session)
            dev_last = {r.device_id: int(last_ts.get(r.device_id, first_start)) for r in rows}
            # a device is scored only if it sent something after (its last_ts - slack),
            # so readings older than the earliest such time need not be looked at
            indoor = [r for r in rows if r.room != OUTDOOR_ROOM]
            indoor_last = [dev_last[r.device_id] for r in indoor]
            since = max(first_start, min(indoor_last, default=0) - COMPLETE_SLACK_S)
            split = room_split(Counter(r.room for r in indoor))
            # While the carried state is read, InfluxDB finds each device's latest
            # reading and aggregates the hours most devices need (from the most common
            # last scored hour); earlier hours, if any device needs them, are read after.
            latest_future = reader.submit_latest(since)
            usual = Counter(indoor_last).most_common(1)
            ahead = max(first_start, usual[0][0] // 3600 * 3600) if usual else now_hour
            ahead_futures = reader.submit_hourly(ahead, now_hour, split) if ahead < now_hour else []
            lap = report.lap("registry", lap)
            dev_state = states.load(session, (r.device_id for r in rows), first_start)
            lap = report.lap("state", lap)
        latest = latest_future.result()
        lap = report.lap("latest_wait", lap)
        # score each device up to the last complete hour it has sent: an hour is
        # complete once its last 5-minute sample (or anything later) has arrived
        until = {
            d: min((latest[d] + COMPLETE_SLACK_S) // 3600 * 3600, now_hour)
            for d in latest
            if d in dev_last
        }
        todo = [r for r in indoor if until.get(r.device_id, 0) > dev_last[r.device_id]]
        if not todo:
            report.seconds = time.perf_counter() - started
            return report
        start = min(dev_last[r.device_id] for r in todo) // 3600 * 3600
        end = max(until[r.device_id] for r in todo)
        frame = HourlyFrame()
        if start < ahead:
            reader.collect(reader.submit_hourly(start, min(ahead, end), split), frame)
        reader.collect(ahead_futures, frame)
        lap = report.lap("hourly_wait", lap)

    built = build_grid(
        frame,
        todo,
        [r for r in rows if r.room == OUTDOOR_ROOM],
        {r.device_id: dev_state[r.device_id].last_ts for r in todo},
        until,
        start,
        end,
        f_rsi,
    )
    report.hours_read = built.hours_read
    carried = SeriesState(
        np.array([dev_state[r.device_id].mould for r in todo]),
        np.array([dev_state[r.device_id].dry for r in todo]),
        np.array([_nan_if_none(dev_state[r.device_id].lag) for r in todo]),
        np.array([dev_state[r.device_id].humid_run for r in todo]),
    )
    lap = report.lap("grid", lap)
    daily, new_state = score_grid(built.grid, carried, params)
    todo_states = [dev_state[r.device_id] for r in todo]
    merge_all(todo_states, daily.day_starts, daily.values, th.window_days + 1)
    new_mould = new_state.mould.tolist()
    new_dry = new_state.dry_hours.tolist()
    new_lag = new_state.lag().tolist()
    new_run = new_state.run().tolist()
    for i, r in enumerate(todo):
        ds = todo_states[i]
        ds.mould, ds.dry, ds.last_ts = float(new_mould[i]), float(new_dry[i]), until[r.device_id]
        ds.lag = None if new_lag[i] != new_lag[i] else float(new_lag[i])
        ds.humid_run = float(new_run[i])
    report.devices_scored = len(todo)
    lap = report.lap("score", lap)

    # ---- re-assess the flats with new data, from each device's window of buckets
    flats = sorted({r.flat_id for r in todo})
    flat_set = set(flats)
    flat_devices: dict[str, list[DeviceRow]] = defaultdict(list)
    for r in rows:
        if r.room != OUTDOOR_ROOM and r.flat_id in flat_set:
            flat_devices[r.flat_id].append(r)
    window_days = np.arange(
        (now_hour // 86400 - th.window_days + 1) * 86400,
        (now_hour // 86400 + 1) * 86400,
        86400,
        dtype=np.int64,
    )
    series_infos: list[SeriesInfo] = []
    series_states: list[DeviceState] = []
    info_by_dev = {r.device_id: info for r, info in zip(todo, built.infos, strict=True)}
    for flat in flats:
        for r in flat_devices[flat]:
            series_states.append(dev_state[r.device_id])
            series_infos.append(
                info_by_dev.get(r.device_id) or SeriesInfo(flat, r.room, f_rsi, None)
            )
    window = DailyMetrics(
        window_days, window_values(series_states, window_days), np.full(len(series_infos), np.nan)
    )
    assessments = assess_flats(window, series_infos, th)
    lap = report.lap("assess", lap)

    period = AssessmentPeriod(
        assessed_at=datetime.now(UTC),
        start=datetime.fromtimestamp(int(window_days[0]), UTC),
        end=datetime.fromtimestamp(now_hour, UTC),
        thresholds_version=th.version,
    )
    with sessions.begin() as session:
        conn = session.connection()  # Core executemany: no ORM bookkeeping per row
        states.save(
            conn,
            {r.device_id: dev_state[r.device_id] for r in todo},
            {r.device_id: (r.flat_id, r.room) for r in todo if r.device_id not in last_ts},
            period.assessed_at,
        )
        report.findings = assessments_store.write(conn, assessments, period)
    report.flats_assessed = len(assessments)
    report.lap("write", lap)
    for sink in sinks:
        sink.publish(report.findings)
    report.seconds = time.perf_counter() - started
    log.info(
        "scored %d devices (%d hours), assessed %d flats in %.1f s, %d findings (%s)",
        report.devices_scored,
        report.hours_read,
        report.flats_assessed,
        report.seconds,
        len(report.findings),
        ", ".join(f"{k} {v:.1f} s" for k, v in report.phases.items()),
    )
    return report


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else value
