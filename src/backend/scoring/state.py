"""The carried-state store: what scoring keeps per device between runs.

A device's state is how far it has been scored (``last_ts``), its mould index and dry
spell at that hour, and daily metric buckets (float32, days × fields) for the
assessment window. Runs merge their new days into the buckets; the window of buckets
is what a flat is assessed from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from backend.risk.engine import FIELDS
from dampwatch_core.models import ScoringState

__all__ = [
    "NF",
    "DeviceState",
    "SqlStateStore",
    "StateStore",
    "merge_all",
    "window_values",
]

#: Daily metric fields per bucket.
NF = len(FIELDS)
#: Days of a run that carry nothing (no additive metric, no mould value) are not kept.
_MOULD_MAX = FIELDS.index("mould_max")


@dataclass
class DeviceState:
    last_ts: int
    mould: float
    dry: float
    day_starts: list[int]
    buckets: NDArray[np.float32]  # days × fields
    lag: float | None = None  # lagged outdoor temperature for surface estimates [°C]
    humid_run: float = 0.0  # hours of air RH over the limit without a break, at last_ts

    @classmethod
    def load(cls, row: ScoringState | Any | None, first_start: int) -> DeviceState:
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
            None if row.state.get("lag") is None else float(row.state["lag"]),
            float(row.state.get("humid_run", 0.0)),
        )

    def merge(
        self, day_starts: NDArray[np.int64], values: NDArray[np.float64], keep_days: int
    ) -> None:
        """Add a run's daily buckets (additive fields summed, mould fields replaced)."""
        merge_all([self], day_starts, values[None], keep_days)


def merge_all(
    states: list[DeviceState],
    day_starts: NDArray[np.int64],
    values: NDArray[np.float64],
    keep_days: int,
) -> None:
    """:meth:`DeviceState.merge` of ``values[i]`` into ``states[i]``, for all at once.

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


def window_values(states: list[DeviceState], window_days: NDArray[np.int64]) -> NDArray[np.float64]:
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


class StateStore(Protocol):
    """Where the job keeps devices' carried state between runs."""

    def last_scored(self, session: Session) -> dict[str, int]: ...

    def load(
        self, session: Session, devices: Iterable[str], first_start: int
    ) -> dict[str, DeviceState]: ...

    def save(
        self,
        conn: Connection,
        states: Mapping[str, DeviceState],
        new_devices: Mapping[str, tuple[str, str]],
        updated_at: datetime,
    ) -> None: ...


class SqlStateStore:
    """Devices' carried state in the relational store (table ``scoring_state``)."""

    def last_scored(self, session: Session) -> dict[str, int]:
        """How far each device with a state has been scored (Unix s)."""
        return {
            dev: ts
            for dev, ts in session.execute(
                select(ScoringState.device_id, ScoringState.last_ts)
            ).all()
        }

    def load(
        self, session: Session, devices: Iterable[str], first_start: int
    ) -> dict[str, DeviceState]:
        """Each of ``devices``' state (a fresh one, from ``first_start``, if it has none)."""
        rows = {
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
        return {dev: DeviceState.load(rows.get(dev), first_start) for dev in devices}

    def save(
        self,
        conn: Connection,
        states: Mapping[str, DeviceState],
        new_devices: Mapping[str, tuple[str, str]],
        updated_at: datetime,
    ) -> None:
        """Write ``states``: an UPDATE by primary key for devices that had one, an
        INSERT for ``new_devices`` (device -> (flat, room)). Core executemany: no ORM
        bookkeeping per row."""
        updates, inserts = [], []
        for dev, ds in states.items():
            values = {
                "device_id": dev,
                "last_ts": ds.last_ts,
                "state": {
                    "mould": ds.mould,
                    "dry": ds.dry,
                    "days": ds.day_starts,
                    "lag": ds.lag,
                    "humid_run": ds.humid_run,
                },
                "buckets": ds.buckets.astype(np.float32).tobytes(),
                "updated_at": updated_at,
            }
            if dev in new_devices:
                flat, room = new_devices[dev]
                inserts.append({**values, "flat_id": flat, "room": room})
            else:
                updates.append({f"b_{k}": v for k, v in values.items()})
        if updates:
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
