"""Scheduled risk scoring: every flat, incrementally, from InfluxDB into the registry.

Each run reads, per device, only the complete hours that arrived since its last run
(hourly means and maxima, aggregated by InfluxDB), continues the device's mould index
and dry spell, adds the hours to daily buckets kept for the assessment window, and
re-assesses the flats that got new data. Assessments are kept as history.

A device uploads in batches (hourly or 4-hourly), oldest first, so the job scores a
device only up to the last complete hour it has sent: hours still on the device are
scored on a later run, and a device that was offline backfills in order.

Outdoor temperature comes from outdoor sensors: a device whose room is ``outdoor``
gives θ_e to every flat in its flat's block. Without one, a flat's surface risk uses
its wall probe if it has one, else is not estimated.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.risk.engine import (
    FIELDS,
    ClimateGrid,
    DailyMetrics,
    EngineParams,
    SeriesState,
    score_grid,
)
from backend.risk.levels import LEVELS, SeriesInfo, assess_flats
from backend.risk.surfaces import DEFAULT_F_RSI
from backend.risk.thresholds import Thresholds, load_thresholds
from dampwatch_core.influx import InfluxClient
from dampwatch_core.models import Device, Flat, FlatRisk, RiskAssessment, ScoringState

__all__ = ["OUTDOOR_ROOM", "ScoringReport", "score_estate"]

log = logging.getLogger(__name__)

OUTDOOR_ROOM = "outdoor"
MEASUREMENT = "climate"
#: How far back a device never scored before is read.
FIRST_RUN_DAYS = 14
NF = len(FIELDS)
#: A reading this close to the end of an hour (one sample interval) completes it.
COMPLETE_SLACK_S = 300


@dataclass
class ScoringReport:
    devices_scored: int = 0
    hours_read: int = 0
    flats_assessed: int = 0
    seconds: float = 0.0


@dataclass
class _DeviceState:
    last_ts: int
    mould: float
    dry: float
    day_starts: list[int]
    buckets: NDArray[np.float32]  # days × fields

    @classmethod
    def load(cls, row: ScoringState | None, first_start: int) -> _DeviceState:
        if row is None:
            return cls(first_start, 0.0, 0.0, [], np.zeros((0, NF), dtype=np.float32))
        days = [int(d) for d in row.state.get("days", [])]
        raw = np.frombuffer(row.buckets or b"", dtype=np.float32)
        buckets = (
            raw.reshape(len(days), NF)
            if raw.size == len(days) * NF
            else np.zeros((0, NF), np.float32)
        )
        return cls(
            int(row.last_ts),
            float(row.state.get("mould", 0.0)),
            float(row.state.get("dry", 0.0)),
            days if buckets.shape[0] == len(days) else [],
            buckets.copy(),
        )

    def merge(
        self, day_starts: NDArray[np.int64], values: NDArray[np.float64], keep_days: int
    ) -> None:
        """Add a run's daily buckets (additive fields summed, mould fields replaced)."""
        by_day = {d: self.buckets[i].astype(np.float64) for i, d in enumerate(self.day_starts)}
        for d, v in zip(day_starts.tolist(), values, strict=True):
            if np.nansum(v[: FIELDS.index("mould_max")]) == 0 and not np.isfinite(v[-2:]).any():
                continue
            old = by_day.get(d)
            if old is None:
                by_day[d] = v.copy()
            else:
                add = old + np.nan_to_num(v)
                add[-2] = np.fmax(old[-2], v[-2])
                add[-1] = v[-1] if np.isfinite(v[-1]) else old[-1]
                by_day[d] = add
        days = sorted(by_day)[-keep_days:]
        self.day_starts = days
        self.buckets = np.array([by_day[d] for d in days], dtype=np.float32).reshape(len(days), NF)


def _hourly_from_influx(
    influx: InfluxClient, start: int, end: int
) -> dict[str, dict[int, tuple[float, float, float, float]]]:
    """device -> hour -> (mean temp, mean RH, mean surface, max RH) for [start, end)."""
    series = influx.query(
        f"SELECT mean(temp_c), mean(rh_pct), mean(surface_c), max(rh_pct) FROM {MEASUREMENT} "  # noqa: S608
        "WHERE time >= $start AND time < $end GROUP BY time(1h), device fill(none)",
        {"start": start * 10**9, "end": end * 10**9},
    )
    out: dict[str, dict[int, tuple[float, float, float, float]]] = {}
    for s in series:
        rows = out.setdefault(s.tags.get("device", ""), {})
        for t, temp, rh, surf, rh_max in s.values:
            if temp is None or rh is None:
                continue
            rows[int(t)] = (
                float(temp),
                float(rh),
                np.nan if surf is None else float(surf),
                float(rh_max if rh_max is not None else rh),
            )
    return out


def _latest_reading(influx: InfluxClient, since: int) -> dict[str, int]:
    series = influx.query(
        f"SELECT last(temp_c) FROM {MEASUREMENT} WHERE time >= $since GROUP BY device",  # noqa: S608
        {"since": since * 10**9},
    )
    return {s.tags.get("device", ""): int(s.values[0][0]) for s in series if s.values}


def score_estate(
    sessions: sessionmaker[Session],
    influx: InfluxClient,
    *,
    now: int | None = None,
    thresholds: Thresholds | None = None,
    params: EngineParams | None = None,
    f_rsi: float = DEFAULT_F_RSI,
) -> ScoringReport:
    """One incremental run over the whole estate; see the module docstring."""
    started = time.perf_counter()
    th = thresholds or load_thresholds()
    params = params or EngineParams()
    now = int(time.time()) if now is None else now
    now_hour = now // 3600 * 3600
    first_start = (now_hour - FIRST_RUN_DAYS * 86400) // 86400 * 86400
    report = ScoringReport()

    with sessions() as session:
        rows = session.execute(
            select(Device.id, Device.flat_id, Device.room, Flat.block)
            .join(Flat, Flat.id == Device.flat_id)
            .where(Device.decommissioned_at.is_(None))
        ).all()
        states = {s.device_id: s for s in session.scalars(select(ScoringState))}
        dev_state = {r[0]: _DeviceState.load(states.get(r[0]), first_start) for r in rows}

    latest = _latest_reading(influx, first_start)
    # score each device up to the last complete hour it has sent: an hour is complete
    # once its last 5-minute sample (or anything later) has arrived
    until = {
        d: min((latest[d] + COMPLETE_SLACK_S) // 3600 * 3600, now_hour)
        for d in latest
        if d in dev_state
    }
    todo = [
        r for r in rows if r[2] != OUTDOOR_ROOM and until.get(r[0], 0) > dev_state[r[0]].last_ts
    ]
    outdoor_devices = [r for r in rows if r[2] == OUTDOOR_ROOM]
    if not todo:
        report.seconds = time.perf_counter() - started
        return report
    start = min(dev_state[r[0]].last_ts for r in todo) // 3600 * 3600
    end = max(until[r[0]] for r in todo)
    hourly = _hourly_from_influx(influx, start, end)
    hours = (end - start) // 3600
    hour_index = {start + 3600 * i: i for i in range(hours)}

    # outdoor temperature per block, from outdoor sensors
    outdoor_by_block: dict[str | None, NDArray[np.float64]] = {}
    for dev, _flat, _room, block in outdoor_devices:
        arr = np.full(hours, np.nan)
        for t, (otemp, *_rest) in hourly.get(dev, {}).items():
            if t in hour_index:
                arr[hour_index[t]] = otemp
        prev = outdoor_by_block.get(block)
        outdoor_by_block[block] = (
            arr if prev is None else np.nanmean(np.vstack([prev, arr]), axis=0)
        )

    n = len(todo)
    temp = np.full((n, hours), np.nan)
    rh = np.full((n, hours), np.nan)
    surface = np.full((n, hours), np.nan)
    rh_max = np.full((n, hours), np.nan)
    outdoor = np.full((n, hours), np.nan)
    infos: list[SeriesInfo] = []
    for i, (dev, flat, room, block) in enumerate(todo):
        lo, hi = dev_state[dev].last_ts, until[dev]
        for t, (tc, rhv, sc, rmx) in hourly.get(dev, {}).items():
            if lo <= t < hi and t in hour_index:
                j = hour_index[t]
                temp[i, j], rh[i, j], surface[i, j], rh_max[i, j] = tc, rhv, sc, rmx
        if block in outdoor_by_block:
            outdoor[i] = outdoor_by_block[block]
        has_probe = bool(np.isfinite(surface[i]).any())
        source = "probe" if has_probe else ("f_rsi" if np.isfinite(outdoor[i]).any() else None)
        infos.append(SeriesInfo(flat, room, f_rsi, source))
        report.hours_read += int(np.isfinite(temp[i]).sum())
    grid = ClimateGrid(
        start=start,
        step_s=3600,
        temp_c=temp,
        rh_pct=rh,
        rooms=[r[2] for r in todo],
        f_rsi=np.full(n, f_rsi),
        surface_c=surface,
        outdoor_c=outdoor,
        rh_max_pct=rh_max,
    )
    state = SeriesState(
        np.array([dev_state[r[0]].mould for r in todo]),
        np.array([dev_state[r[0]].dry for r in todo]),
    )
    daily, new_state = score_grid(grid, state, params)
    keep_days = th.window_days + 1
    for i, (dev, *_cols) in enumerate(todo):
        ds = dev_state[dev]
        ds.merge(daily.day_starts, daily.values[i], keep_days)
        ds.mould, ds.dry, ds.last_ts = (
            float(new_state.mould[i]),
            float(new_state.dry_hours[i]),
            until[dev],
        )
    report.devices_scored = n

    # ---- re-assess the flats with new data, from each device's window of buckets
    flats = sorted({r[1] for r in todo})
    flat_set = set(flats)
    flat_devices: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for dev, flat, room, block in rows:
        if room != OUTDOOR_ROOM and flat in flat_set:
            flat_devices[flat].append((dev, room, block))
    window_days = np.arange(
        (now_hour // 86400 - th.window_days + 1) * 86400,
        (now_hour // 86400 + 1) * 86400,
        86400,
        dtype=np.int64,
    )
    series_infos: list[SeriesInfo] = []
    series_values: list[NDArray[np.float64]] = []
    info_by_dev = {todo[i][0]: infos[i] for i in range(n)}
    for flat in flats:
        for dev, room, _block in flat_devices[flat]:
            ds = dev_state[dev]
            v = np.zeros((window_days.size, NF))
            v[:, -2:] = np.nan
            for k, d in enumerate(ds.day_starts):
                pos = np.searchsorted(window_days, d)
                if pos < window_days.size and window_days[pos] == d:
                    v[pos] = ds.buckets[k]
            series_values.append(v)
            series_infos.append(info_by_dev.get(dev) or SeriesInfo(flat, room, f_rsi, None))
    window = DailyMetrics(window_days, np.array(series_values), np.full(len(series_infos), np.nan))
    assessments = assess_flats(window, series_infos, th)

    assessed_at = datetime.now(UTC)
    period_start = datetime.fromtimestamp(int(window_days[0]), UTC)
    period_end = datetime.fromtimestamp(now_hour, UTC)
    todo_by_dev = {r[0]: r for r in todo}
    with sessions.begin() as session:
        existing = set(states)
        updates, inserts = [], []
        for dev in info_by_dev:
            ds = dev_state[dev]
            values = {
                "device_id": dev,
                "last_ts": ds.last_ts,
                "state": {"mould": ds.mould, "dry": ds.dry, "days": ds.day_starts},
                "buckets": ds.buckets.astype(np.float32).tobytes(),
                "updated_at": assessed_at,
            }
            if dev in existing:
                updates.append(values)
            else:
                _, flat, room, _ = todo_by_dev[dev]
                inserts.append({**values, "flat_id": flat, "room": room})
        if updates:
            session.execute(update(ScoringState), updates)  # bulk UPDATE by primary key
        if inserts:
            session.execute(insert(ScoringState), inserts)
        records = [
            {
                "flat_id": a.flat_id,
                "assessed_at": assessed_at,
                "period_start": period_start,
                "period_end": period_end,
                "damp_level": a.damp_level,
                "cold_level": a.cold_level,
                "score": a.score,
                "reasons": a.reasons,
                "flags": a.flags,
                "rooms": a.rooms,
                "thresholds_version": th.version,
            }
            for a in assessments
        ]
        ids = (
            session.execute(
                insert(RiskAssessment).returning(RiskAssessment.id, sort_by_parameter_order=True),
                records,
            )
            .scalars()
            .all()
        )
        assessed = [a.flat_id for a in assessments]
        for k in range(0, len(assessed), 500):
            session.execute(delete(FlatRisk).where(FlatRisk.flat_id.in_(assessed[k : k + 500])))
        if assessments:
            session.execute(
                insert(FlatRisk),
                [
                    {
                        "flat_id": a.flat_id,
                        "assessment_id": rid,
                        "assessed_at": assessed_at,
                        "damp_level": a.damp_level,
                        "cold_level": a.cold_level,
                        "rank": max(LEVELS.index(a.damp_level), LEVELS.index(a.cold_level)),
                        "score": a.score,
                    }
                    for a, rid in zip(assessments, ids, strict=True)
                ],
            )
    report.flats_assessed = len(assessments)
    report.seconds = time.perf_counter() - started
    log.info(
        "scored %d devices (%d hours), assessed %d flats in %.1f s",
        report.devices_scored,
        report.hours_read,
        report.flats_assessed,
        report.seconds,
    )
    return report
