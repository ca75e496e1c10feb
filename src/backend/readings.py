"""Reading queries against InfluxDB (v1 API, InfluxQL with bound parameters)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dampwatch_core.errors import DampWatchError, ServiceUnavailable
from dampwatch_core.influx import InfluxClient, Series

__all__ = ["ReadingRow", "ReadingStore", "ReadingsUnavailable"]

log = logging.getLogger(__name__)


class ReadingsUnavailable(ServiceUnavailable):
    """InfluxDB could not answer; the message is generic (its own error text can hold
    its address), the kind of failure is logged."""


MEASUREMENT = "climate"


@dataclass(frozen=True, slots=True)
class ReadingRow:
    ts: int
    device_id: str
    room: str
    temp_c: float
    rh_pct: float
    surface_c: float | None


class ReadingStore:
    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def for_flat(
        self, flat_id: str, start: int, end: int, limit: int = 100_000
    ) -> list[ReadingRow]:
        """Readings of ``flat_id`` with ``start <= ts < end`` (Unix seconds), oldest first."""
        series = self._query(
            f"SELECT temp_c, rh_pct, surface_c FROM {MEASUREMENT} "  # noqa: S608 (constant)
            "WHERE flat = $flat AND time >= $start AND time < $end "
            "GROUP BY device, room ORDER BY time ASC LIMIT $limit",
            {"flat": flat_id, "start": start * 10**9, "end": end * 10**9, "limit": limit},
        )
        rows: list[ReadingRow] = []
        for s in series:
            device, room = s.tags.get("device", ""), s.tags.get("room", "")
            for rec in s.records():
                rows.append(
                    ReadingRow(
                        ts=int(rec["time"]),
                        device_id=device,
                        room=room,
                        temp_c=float(rec["temp_c"]),
                        rh_pct=float(rec["rh_pct"]),
                        surface_c=None if rec.get("surface_c") is None else float(rec["surface_c"]),
                    )
                )
        rows.sort(key=lambda r: (r.ts, r.room, r.device_id))
        return rows

    def _query(self, q: str, params: Mapping[str, Any]) -> list[Series]:
        try:
            return self.client.query(q, params)
        except DampWatchError as exc:
            log.warning("readings query failed (%s)", type(exc).__name__)
            raise ReadingsUnavailable("the readings store is unavailable") from None
