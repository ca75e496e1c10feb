"""Reading queries against InfluxDB (v1 API, InfluxQL with bound parameters), a page at
a time.

A page holds at most ``limit`` rows across all of a flat's devices, oldest first, and
ends at a :class:`Position` from which the next page starts, so no reading is dropped
or repeated however long the window (rows at one timestamp are in InfluxDB's series
order, by device, both for the raw points and for the hourly aggregates).

Two resolutions:

``raw``
    the points as the gateway wrote them (``climate``).
``hourly``
    one row per device per hour starting in the window: the stored aggregates
    (``climate_1h``, written by ``backend.downsample``) up to the flat's last aggregated
    hour, and after it the same aggregates computed by InfluxDB from the raw points, so
    the newest hours (not yet downsampled) are there too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from backend.downsample import AGGREGATE
from dampwatch_core.const import MEASUREMENT
from dampwatch_core.errors import DampWatchError, ServiceUnavailable
from dampwatch_core.influx import InfluxClient, Series

__all__ = [
    "Position",
    "ReadingPage",
    "ReadingRow",
    "ReadingStore",
    "ReadingsUnavailable",
    "Resolution",
]

log = logging.getLogger(__name__)

HOUR = 3600
Resolution = Literal["raw", "hourly"]

RAW_QUERY = (
    f"SELECT temp_c, rh_pct, surface_c, device, room FROM {MEASUREMENT} "  # noqa: S608
    "WHERE flat = $flat AND time >= $start AND time < $end "
    "ORDER BY time ASC LIMIT $limit OFFSET $offset"
)
STORED_HOURLY_QUERY = (
    "SELECT temp_c_mean AS temp_c, temp_c_min, temp_c_max, rh_pct_mean AS rh_pct, "  # noqa: S608
    f"rh_pct_max, surface_c_mean AS surface_c, samples, device, room FROM {AGGREGATE} "
    "WHERE flat = $flat AND time >= $start AND time < $end "
    "ORDER BY time ASC LIMIT $limit OFFSET $offset"
)
LIVE_HOURLY_QUERY = (
    "SELECT mean(temp_c) AS temp_c, min(temp_c) AS temp_c_min, max(temp_c) AS temp_c_max, "  # noqa: S608
    "mean(rh_pct) AS rh_pct, max(rh_pct) AS rh_pct_max, mean(surface_c) AS surface_c, "
    f"count(temp_c) AS samples FROM {MEASUREMENT} "
    "WHERE flat = $flat AND time >= $start AND time < $end "
    "GROUP BY time(1h), device, room fill(none) LIMIT $limit"
)
LAST_AGGREGATED_QUERY = f"SELECT last(samples) FROM {AGGREGATE} WHERE flat = $flat"  # noqa: S608


class ReadingsUnavailable(ServiceUnavailable):
    """InfluxDB could not answer; the message is generic (its own error text can hold
    its address), the kind of failure is logged."""


@dataclass(frozen=True, slots=True)
class ReadingRow:
    """A reading (raw) or one device-hour (hourly: means, with min, max and count)."""

    ts: int
    device_id: str
    room: str
    temp_c: float
    rh_pct: float
    surface_c: float | None
    temp_c_min: float | None = None
    temp_c_max: float | None = None
    rh_pct_max: float | None = None
    samples: int | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: at ``ts``, after the first ``skip`` rows with that ``ts``."""

    ts: int
    skip: int = 0


@dataclass(frozen=True, slots=True)
class ReadingPage:
    rows: list[ReadingRow]
    #: where the next page starts; ``None`` when this page reaches the window's end
    next: Position | None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _rows(series: list[Series]) -> list[ReadingRow]:
    rows: list[ReadingRow] = []
    for s in series:
        for rec in s.records():
            if rec.get("temp_c") is None or rec.get("rh_pct") is None:
                continue  # a point without the two required fields is no reading
            device = str(rec.get("device") or s.tags.get("device", ""))
            room = str(rec.get("room") or s.tags.get("room", ""))
            samples = rec.get("samples")
            rows.append(
                ReadingRow(
                    ts=int(rec["time"]),
                    device_id=device,
                    room=room,
                    temp_c=float(rec["temp_c"]),
                    rh_pct=float(rec["rh_pct"]),
                    surface_c=_float(rec.get("surface_c")),
                    temp_c_min=_float(rec.get("temp_c_min")),
                    temp_c_max=_float(rec.get("temp_c_max")),
                    rh_pct_max=_float(rec.get("rh_pct_max")),
                    samples=None if samples is None else int(samples),
                )
            )
    return rows


def _next_position(page: list[ReadingRow], start: Position) -> Position:
    """The position just after the last row of ``page``, which began at ``start``."""
    last = page[-1].ts
    at_last = sum(1 for r in page if r.ts == last)
    return Position(last, start.skip + at_last if last == start.ts else at_last)


def _ceil_hour(ts: int) -> int:
    return -(-ts // HOUR) * HOUR


class ReadingStore:
    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def page(
        self,
        flat_id: str,
        start: int,
        end: int,
        *,
        limit: int,
        resolution: Resolution = "raw",
        after: Position | None = None,
    ) -> ReadingPage:
        """At most ``limit`` rows of ``flat_id`` with ``start <= ts < end`` (Unix
        seconds), oldest first, from ``after`` (default: ``start``) on."""
        at = after or Position(start)
        if resolution == "raw":
            rows = self._window(RAW_QUERY, flat_id, at, end, limit + 1)
        else:
            rows = self._hourly(flat_id, at, end, limit + 1)
        if len(rows) <= limit:
            return ReadingPage(rows, None)
        rows = rows[:limit]
        return ReadingPage(rows, _next_position(rows, at))

    def _window(self, query: str, flat_id: str, at: Position, end: int, n: int) -> list[ReadingRow]:
        params = {
            "flat": flat_id,
            "start": at.ts * 10**9,
            "end": end * 10**9,
            "limit": n,
            "offset": at.skip,
        }
        return _rows(self._query(query, params))

    def _hourly(self, flat_id: str, at: Position, end: int, n: int) -> list[ReadingRow]:
        last = self._query(LAST_AGGREGATED_QUERY, {"flat": flat_id})
        stored_until = int(last[0].values[0][0]) + HOUR if last and last[0].values else None
        rows: list[ReadingRow] = []
        live_from = at
        if stored_until is not None and at.ts < stored_until:
            rows = self._window(STORED_HOURLY_QUERY, flat_id, at, min(end, stored_until), n)
            live_from = Position(stored_until)
        if len(rows) >= n or live_from.ts >= end:
            return rows
        return rows + self._live_hourly(flat_id, live_from, end, n - len(rows))

    def _live_hourly(self, flat_id: str, at: Position, end: int, n: int) -> list[ReadingRow]:
        """Hours not yet downsampled, aggregated by InfluxDB from the raw points (at most
        ``n`` per device, merged in series order)."""
        first_hour = _ceil_hour(at.ts)
        params = {
            "flat": flat_id,
            "start": first_hour * 10**9,
            "end": _ceil_hour(end) * 10**9,
            "limit": n + at.skip,
        }
        rows = sorted(
            (r for r in _rows(self._query(LIVE_HOURLY_QUERY, params)) if r.ts < end),
            key=lambda r: (r.ts, r.device_id),
        )
        skipped = 0
        while skipped < min(at.skip, len(rows)) and rows[skipped].ts == at.ts:
            skipped += 1
        return rows[skipped : skipped + n]

    def _query(self, q: str, params: Mapping[str, Any]) -> list[Series]:
        try:
            return self.client.query(q, params)
        except DampWatchError as exc:
            log.warning("readings query failed (%s)", type(exc).__name__)
            raise ReadingsUnavailable("the readings store is unavailable") from None
