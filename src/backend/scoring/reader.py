"""The hourly reader: InfluxDB -> an :class:`HourlyFrame` of each device's complete
hours (means and maxima aggregated by InfluxDB), and each device's latest reading.

Queries are started on a thread pool and collected later, so the job can read the
carried state while InfluxDB aggregates. The client is injected (anything with the
:class:`InfluxQuery` shape), so a test can pass a fake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dampwatch_core.const import MEASUREMENT, TAG_DEVICE, TAG_ROOM
from dampwatch_core.influx import Series

__all__ = ["HourValues", "HourlyFrame", "HourlyReader", "InfluxQuery", "room_split"]

#: (mean temperature [°C], mean RH [%], mean surface temperature [°C] or NaN, max RH [%])
HourValues = tuple[float, float, float, float]

HOURLY_QUERY = (
    f"SELECT mean(temp_c), mean(rh_pct), mean(surface_c), max(rh_pct) FROM {MEASUREMENT} "  # noqa: S608
    f"WHERE time >= $start AND time < $end{{rooms}} GROUP BY time(1h), {TAG_DEVICE} fill(none)"
)
LATEST_QUERY = f"SELECT last(temp_c) FROM {MEASUREMENT} WHERE time >= $since GROUP BY {TAG_DEVICE}"  # noqa: S608


class InfluxQuery(Protocol):
    """What the reader needs of an InfluxDB client (``dampwatch_core.influx.InfluxClient``)."""

    def query(self, q: str, params: Mapping[str, Any] | None = None) -> list[Series]: ...


@dataclass
class HourlyFrame:
    """Device -> hour start (Unix s) -> :data:`HourValues`; hours without a mean
    temperature and RH are left out."""

    hours: dict[str, dict[int, HourValues]] = field(default_factory=dict)

    def of(self, device: str) -> dict[int, HourValues]:
        return self.hours.get(device, {})

    def add(self, series: Sequence[Series]) -> None:
        for s in series:
            rows = self.hours.setdefault(s.tags.get(TAG_DEVICE, ""), {})
            for t, temp, rh, surf, rh_max in s.values:
                if temp is None or rh is None:
                    continue
                rows[int(t)] = (
                    float(temp),
                    float(rh),
                    np.nan if surf is None else float(surf),
                    float(rh_max if rh_max is not None else rh),
                )


def room_split(room_counts: Mapping[str, int]) -> list[str]:
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


class HourlyReader:
    """Reads climate aggregates through ``client`` on ``pool``'s threads."""

    def __init__(self, client: InfluxQuery, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.pool = pool

    def submit_latest(self, since: int) -> Future[dict[str, int]]:
        """Start finding each device's latest reading at or after ``since``."""
        return self.pool.submit(self._latest, since)

    def _latest(self, since: int) -> dict[str, int]:
        series = self.client.query(LATEST_QUERY, {"since": since * 10**9})
        return {s.tags.get(TAG_DEVICE, ""): int(s.values[0][0]) for s in series if s.values}

    def submit_hourly(
        self, start: int, end: int, split_rooms: Sequence[str] = ()
    ) -> list[Future[list[Series]]]:
        """Start reading the hourly aggregates of [start, end) (see :meth:`collect`).

        With ``split_rooms``, two queries run side by side: series tagged with one of
        those rooms, and all others (so a series with a room tag the registry no longer
        knows is still read)."""
        params: dict[str, Any] = {"start": start * 10**9, "end": end * 10**9}
        if split_rooms:
            names = {f"room{i}": room for i, room in enumerate(split_rooms)}
            params.update(names)
            wheres = [
                " AND (" + " OR ".join(f"{TAG_ROOM} = ${k}" for k in names) + ")",
                " AND " + " AND ".join(f"{TAG_ROOM} != ${k}" for k in names),
            ]
        else:
            wheres = [""]
        return [
            self.pool.submit(self.client.query, HOURLY_QUERY.format(rooms=w), params)
            for w in wheres
        ]

    @staticmethod
    def collect(futures: Sequence[Future[list[Series]]], frame: HourlyFrame) -> None:
        """Add the answers of :meth:`submit_hourly` to ``frame``."""
        for future in futures:
            frame.add(future.result())
