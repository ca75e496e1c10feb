"""Scheduled risk scoring: every flat, incrementally, from InfluxDB into the registry.

Each run reads, per device, only the complete hours that arrived since its last run
(hourly means and maxima, aggregated by InfluxDB), continues the device's mould index
and dry spell, adds the hours to daily buckets kept for the assessment window, and
re-assesses the flats that got new data. Assessments are kept as history: a row per
flat per day of data, and one at every level change (see :func:`_write_assessments`).

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
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.risk.engine import (
    FIELDS,
    ClimateGrid,
    DailyMetrics,
    EngineParams,
    SeriesState,
    score_grid,
)
from backend.risk.levels import LEVELS, FlatAssessment, SeriesInfo, assess_flats
from backend.risk.surfaces import DEFAULT_F_RSI
from backend.risk.thresholds import Thresholds, load_thresholds
from dampwatch_core.influx import InfluxClient, Series
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
    #: seconds spent in each phase of the run, in order
    phases: dict[str, float] = field(default_factory=dict)

    def lap(self, phase: str, since: float) -> float:
        """Record ``phase`` as having taken from ``since`` until now; returns now."""
        now = time.perf_counter()
        self.phases[phase] = round(now - since, 3)
        return now


@dataclass
class _DeviceState:
    last_ts: int
    mould: float
    dry: float
    day_starts: list[int]
    buckets: NDArray[np.float32]  # days × fields

    @classmethod
    def load(cls, row: ScoringState | Any | None, first_start: int) -> _DeviceState:
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
        _merge_all([self], day_starts, values[None], keep_days)


#: Days of a run that carry nothing (no additive metric, no mould value) are not kept.
_MOULD_MAX = FIELDS.index("mould_max")


def _merge_all(
    states: list[_DeviceState],
    day_starts: NDArray[np.int64],
    values: NDArray[np.float64],
    keep_days: int,
) -> None:
    """:meth:`_DeviceState.merge` of ``values[i]`` into ``states[i]``, for all at once.

    Devices with the same stored days and the same days to add get the same layout,
    so each such group is merged with a few array operations."""
    run_days = [int(d) for d in day_starts.tolist()]
    with np.errstate(invalid="ignore"):
        empty = (np.nansum(values[:, :, :_MOULD_MAX], axis=2) == 0) & ~np.isfinite(
            values[:, :, -2:]
        ).any(axis=2)
    groups: dict[tuple[tuple[int, ...], bytes], list[int]] = defaultdict(list)
    for i, (st, skip) in enumerate(zip(states, empty, strict=True)):
        groups[(tuple(st.day_starts), skip.tobytes())].append(i)
    for (old_days, skip_key), members in groups.items():
        skip = np.frombuffer(skip_key, dtype=bool)
        run_pos = {d: k for k, d in enumerate(run_days) if not skip[k]}
        old_pos = {d: k for k, d in enumerate(old_days)}
        days = sorted(set(old_days) | set(run_pos))[-keep_days:]
        rows = np.array(members, dtype=np.intp)
        old = (
            np.stack([states[i].buckets for i in members]).astype(np.float64)
            if old_days
            else np.zeros((len(members), 0, NF))
        )
        out = np.empty((len(members), len(days), NF))
        for j, d in enumerate(days):
            if d not in run_pos:
                out[:, j] = old[:, old_pos[d]]
                continue
            v = values[rows, run_pos[d]]
            if d not in old_pos:
                out[:, j] = v
                continue
            prev = old[:, old_pos[d]]
            add = prev + np.nan_to_num(v)
            add[:, -2] = np.fmax(prev[:, -2], v[:, -2])
            add[:, -1] = np.where(np.isfinite(v[:, -1]), v[:, -1], prev[:, -1])
            out[:, j] = add
        out32 = out.astype(np.float32)
        for k, i in enumerate(members):
            states[i].day_starts = list(days)
            states[i].buckets = out32[k]


def _window_values(
    states: list[_DeviceState], window_days: NDArray[np.int64]
) -> NDArray[np.float64]:
    """``series × window days × fields``: each device's stored buckets on the window's
    days (zero, mould fields NaN, where it has none). Devices with the same stored days
    are placed together."""
    out = np.zeros((len(states), window_days.size, NF))
    out[:, :, -2:] = np.nan
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, st in enumerate(states):
        groups[tuple(st.day_starts)].append(i)
    for days, members in groups.items():
        if not days:
            continue
        pos = np.searchsorted(window_days, np.array(days, dtype=np.int64))
        inside = pos < window_days.size
        inside[inside] = window_days[pos[inside]] == np.array(days, dtype=np.int64)[inside]
        if not inside.any():
            continue
        src = np.flatnonzero(inside)
        buckets = np.stack([states[i].buckets for i in members])
        out[np.ix_(np.array(members, dtype=np.intp), pos[src])] = buckets[:, src]
    return out


HOURLY_QUERY = (
    f"SELECT mean(temp_c), mean(rh_pct), mean(surface_c), max(rh_pct) FROM {MEASUREMENT} "  # noqa: S608
    "WHERE time >= $start AND time < $end{rooms} GROUP BY time(1h), device fill(none)"
)


def _room_split(room_counts: Mapping[str, int]) -> list[str]:
    """Rooms whose devices make up about half the estate (greedy, largest first), so
    that the hourly aggregates can be read in two queries side by side, one per core:
    InfluxDB's cost grows with the series a query reads, and one query uses one core.
    Empty when no such split is near even (within 1:3)."""
    total = sum(room_counts.values())
    half: list[str] = []
    count = 0
    for room, n in sorted(room_counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if count + n <= total / 2 or not half:
            half.append(room)
            count += n
    return half if total and 0.25 <= count / total <= 0.75 else []


Hourly = dict[str, dict[int, tuple[float, float, float, float]]]


def _submit_hourly(
    influx: InfluxClient,
    start: int,
    end: int,
    pool: ThreadPoolExecutor,
    split_rooms: Sequence[str] = (),
) -> list[Future[list[Series]]]:
    """Start reading the hourly aggregates of [start, end) (see :func:`_collect_hourly`).

    With ``split_rooms``, two queries run side by side: series tagged with one of those
    rooms, and all others (so a series with a room tag the registry no longer knows
    is still read)."""
    params: dict[str, Any] = {"start": start * 10**9, "end": end * 10**9}
    if split_rooms:
        names = {f"room{i}": room for i, room in enumerate(split_rooms)}
        params.update(names)
        wheres = [
            " AND (" + " OR ".join(f"room = ${k}" for k in names) + ")",
            " AND " + " AND ".join(f"room != ${k}" for k in names),
        ]
    else:
        wheres = [""]
    return [pool.submit(influx.query, HOURLY_QUERY.format(rooms=w), params) for w in wheres]


def _collect_hourly(futures: Sequence[Future[list[Series]]], out: Hourly) -> None:
    """Add the answers of :func:`_submit_hourly` to ``out``: device -> hour ->
    (mean temp, mean RH, mean surface, max RH)."""
    for future in futures:
        for s in future.result():
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


def _latest_reading(influx: InfluxClient, since: int) -> dict[str, int]:
    series = influx.query(
        f"SELECT last(temp_c) FROM {MEASUREMENT} WHERE time >= $since GROUP BY device",  # noqa: S608
        {"since": since * 10**9},
    )
    return {s.tags.get("device", ""): int(s.values[0][0]) for s in series if s.values}


def _write_assessments(
    conn: Connection, records: list[dict[str, Any]], assessments: list[FlatAssessment]
) -> tuple[dict[str, int], set[str]]:
    """Keep the history of assessments compact: one row per flat per UTC day of data
    (its latest assessment of that day), and a new row whenever a level changes. A run
    on the same day with the same levels updates that day's row in place, so the store
    grows by about one row per flat per day, not one per run. Returns each flat's
    current assessment id, and the flats that already had one."""
    current: dict[str, tuple[int, datetime | None, str, str]] = {
        flat: (aid, period_end, damp, cold)
        for flat, aid, period_end, damp, cold in conn.execute(
            select(
                FlatRisk.flat_id,
                FlatRisk.assessment_id,
                RiskAssessment.period_end,
                FlatRisk.damp_level,
                FlatRisk.cold_level,
            ).join(RiskAssessment, RiskAssessment.id == FlatRisk.assessment_id)
        )
    }
    fresh, same_day = [], []
    id_by_flat: dict[str, int] = {}
    for a, rec in zip(assessments, records, strict=True):
        cur = current.get(a.flat_id)
        if (
            cur is not None
            and cur[1] is not None
            and cur[1].date() == rec["period_end"].date()
            and (cur[2], cur[3]) == (a.damp_level, a.cold_level)
        ):
            id_by_flat[a.flat_id] = cur[0]
            same_day.append({"b_id": cur[0], **{f"b_{k}": v for k, v in rec.items()}})
        else:
            fresh.append(rec)
    if same_day:
        columns = RiskAssessment.__table__.c
        conn.execute(
            update(RiskAssessment)
            .where(RiskAssessment.id == bindparam("b_id"))
            .values({k: bindparam(f"b_{k}", type_=columns[k].type) for k in records[0]}),
            same_day,
        )
    if fresh:
        # one new row per flat, so ids are matched by flat (RETURNING in batches, in
        # whatever order the database gives them)
        for rid, flat in conn.execute(
            insert(RiskAssessment).returning(RiskAssessment.id, RiskAssessment.flat_id), fresh
        ).all():
            id_by_flat[flat] = rid
    return id_by_flat, set(current)


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

    lap = started
    with ThreadPoolExecutor(max_workers=3) as pool:
        with sessions() as session:
            last_ts: dict[str, int] = {
                dev: ts
                for dev, ts in session.execute(
                    select(ScoringState.device_id, ScoringState.last_ts)
                ).all()
            }
            existing = set(last_ts)
            rows = session.execute(
                select(Device.id, Device.flat_id, Device.room, Flat.block)
                .join(Flat, Flat.id == Device.flat_id)
                .where(Device.decommissioned_at.is_(None))
            ).all()
            dev_last = {r[0]: int(last_ts.get(r[0], first_start)) for r in rows}
            # a device is scored only if it sent something after (its last_ts - slack),
            # so readings older than the earliest such time need not be looked at
            indoor = [r for r in rows if r[2] != OUTDOOR_ROOM]
            indoor_last = [dev_last[r[0]] for r in indoor]
            since = max(first_start, min(indoor_last, default=0) - COMPLETE_SLACK_S)
            split = _room_split(Counter(r[2] for r in indoor))
            # While the carried state is read, InfluxDB finds each device's latest
            # reading and aggregates the hours most devices need (from the most common
            # last scored hour); earlier hours, if any device needs them, are read after.
            latest_future = pool.submit(_latest_reading, influx, since)
            usual = Counter(indoor_last).most_common(1)
            ahead = max(first_start, usual[0][0] // 3600 * 3600) if usual else now_hour
            ahead_futures = (
                _submit_hourly(influx, ahead, now_hour, pool, split) if ahead < now_hour else []
            )
            lap = report.lap("registry", lap)
            state_rows = {
                r.device_id: r
                for r in session.execute(
                    select(
                        ScoringState.device_id,
                        ScoringState.last_ts,
                        ScoringState.state,
                        ScoringState.buckets,
                    )
                )
            }
            dev_state = {r[0]: _DeviceState.load(state_rows.get(r[0]), first_start) for r in rows}
            del state_rows
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
        todo = [r for r in indoor if until.get(r[0], 0) > dev_last[r[0]]]
        if not todo:
            report.seconds = time.perf_counter() - started
            return report
        start = min(dev_last[r[0]] for r in todo) // 3600 * 3600
        end = max(until[r[0]] for r in todo)
        hourly: Hourly = {}
        if start < ahead:
            _collect_hourly(_submit_hourly(influx, start, min(ahead, end), pool, split), hourly)
        _collect_hourly(ahead_futures, hourly)
        lap = report.lap("hourly_wait", lap)
    outdoor_devices = [r for r in rows if r[2] == OUTDOOR_ROOM]
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
    cells_i: list[int] = []
    cells_j: list[int] = []
    cells_v: list[tuple[float, float, float, float]] = []
    for i, (dev, _flat, _room, block) in enumerate(todo):
        lo, hi = dev_state[dev].last_ts, until[dev]
        for t, v in hourly.get(dev, {}).items():
            if lo <= t < hi and t in hour_index:
                cells_i.append(i)
                cells_j.append(hour_index[t])
                cells_v.append(v)
        if block in outdoor_by_block:
            outdoor[i] = outdoor_by_block[block]
    if cells_v:
        ci = np.array(cells_i, dtype=np.intp)
        cj = np.array(cells_j, dtype=np.intp)
        cv = np.array(cells_v, dtype=np.float64)
        temp[ci, cj], rh[ci, cj], surface[ci, cj], rh_max[ci, cj] = cv.T
    has_probe = np.isfinite(surface).any(axis=1).tolist()
    has_outdoor = np.isfinite(outdoor).any(axis=1).tolist()
    infos = [
        SeriesInfo(
            flat, room, f_rsi, "probe" if has_probe[i] else ("f_rsi" if has_outdoor[i] else None)
        )
        for i, (_dev, flat, room, _block) in enumerate(todo)
    ]
    report.hours_read = int(np.isfinite(temp).sum())
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
    lap = report.lap("grid", lap)
    daily, new_state = score_grid(grid, state, params)
    keep_days = th.window_days + 1
    todo_states = [dev_state[r[0]] for r in todo]
    _merge_all(todo_states, daily.day_starts, daily.values, keep_days)
    new_mould = new_state.mould.tolist()
    new_dry = new_state.dry_hours.tolist()
    for i, (dev, *_cols) in enumerate(todo):
        ds = todo_states[i]
        ds.mould, ds.dry, ds.last_ts = float(new_mould[i]), float(new_dry[i]), until[dev]
    report.devices_scored = n
    lap = report.lap("score", lap)

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
    series_states: list[_DeviceState] = []
    info_by_dev = {todo[i][0]: infos[i] for i in range(n)}
    for flat in flats:
        for dev, room, _block in flat_devices[flat]:
            series_states.append(dev_state[dev])
            series_infos.append(info_by_dev.get(dev) or SeriesInfo(flat, room, f_rsi, None))
    window = DailyMetrics(
        window_days, _window_values(series_states, window_days), np.full(len(series_infos), np.nan)
    )
    assessments = assess_flats(window, series_infos, th)
    lap = report.lap("assess", lap)

    assessed_at = datetime.now(UTC)
    period_start = datetime.fromtimestamp(int(window_days[0]), UTC)
    period_end = datetime.fromtimestamp(now_hour, UTC)
    todo_by_dev = {r[0]: r for r in todo}
    with sessions.begin() as session:
        conn = session.connection()  # Core executemany: no ORM bookkeeping per row
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
                updates.append({f"b_{k}": v for k, v in values.items()})
            else:
                _, flat, room, _ = todo_by_dev[dev]
                inserts.append({**values, "flat_id": flat, "room": room})
        if updates:  # one executemany UPDATE by primary key
            conn.execute(
                update(ScoringState)
                .where(ScoringState.device_id == bindparam("b_device_id"))
                .values(
                    last_ts=bindparam("b_last_ts", type_=ScoringState.last_ts.type),
                    state=bindparam("b_state", type_=ScoringState.state.type),
                    buckets=bindparam("b_buckets", type_=ScoringState.buckets.type),
                    updated_at=bindparam("b_updated_at", type_=ScoringState.updated_at.type),
                ),
                updates,
            )
        if inserts:
            conn.execute(insert(ScoringState), inserts)
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
        id_by_flat, ranked = _write_assessments(conn, records, assessments)
        # the ranking row of each flat points at its current assessment
        ranking = [
            {
                "flat_id": a.flat_id,
                "assessment_id": id_by_flat[a.flat_id],
                "assessed_at": assessed_at,
                "damp_level": a.damp_level,
                "cold_level": a.cold_level,
                "rank": max(LEVELS.index(a.damp_level), LEVELS.index(a.cold_level)),
                "score": a.score,
            }
            for a in assessments
        ]
        old = [{f"b_{k}": v for k, v in r.items()} for r in ranking if r["flat_id"] in ranked]
        if old:
            conn.execute(
                update(FlatRisk)
                .where(FlatRisk.flat_id == bindparam("b_flat_id"))
                .values(
                    {
                        c: bindparam(f"b_{c}", type_=FlatRisk.__table__.c[c].type)
                        for c in ranking[0]
                        if c != "flat_id"
                    }
                ),
                old,
            )
        new = [r for r in ranking if r["flat_id"] not in ranked]
        if new:
            conn.execute(insert(FlatRisk), new)
    report.flats_assessed = len(assessments)
    report.lap("write", lap)
    report.seconds = time.perf_counter() - started
    log.info(
        "scored %d devices (%d hours), assessed %d flats in %.1f s (%s)",
        report.devices_scored,
        report.hours_read,
        report.flats_assessed,
        report.seconds,
        ", ".join(f"{k} {v:.1f} s" for k, v in report.phases.items()),
    )
    return report
