"""Reading CSVs for ``dampwatch analyse`` and laying them on the engine's grid.

Samples hold until the next sample (time-weighted); an interval longer than
``max_gap_s`` (1 hour) is a gap and counts for nothing. The last sample holds for the
series' median interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dampwatch_core.parsing import csv_rows, parse_timestamp

__all__ = [
    "OutdoorSeries",
    "ReadingsTable",
    "RowError",
    "hold_on_grid",
    "read_outdoor",
    "read_readings",
]

MAX_GAP_S = 3600


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class ReadingsTable:
    """Readings grouped by (flat, room), each sorted by time."""

    series: dict[tuple[str, str], dict[str, NDArray[np.float64]]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    has_surface: bool = False


@dataclass
class OutdoorSeries:
    ts: NDArray[np.int64]
    temp_c: NDArray[np.float64]
    errors: list[RowError] = field(default_factory=list)


def _number(row: dict[str, str], key: str, lo: float, hi: float, optional: bool = False) -> float:
    text = (row.get(key) or "").strip()
    if not text:
        if optional:
            return math.nan
        raise ValueError(f"{key} is empty")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{key} {text!r} is not a number") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{key} {text} is outside {lo:g}–{hi:g}")
    return value


def read_readings(path: Path) -> ReadingsTable:
    """Parse ``flat_id,room,ts,temp_c,rh_pct[,surface_c]``; bad rows go to ``errors``."""
    table = ReadingsTable()
    raw: dict[tuple[str, str], dict[int, tuple[float, float, float, int]]] = {}
    for line, row in csv_rows(path, ("flat_id", "room", "ts", "temp_c", "rh_pct")):
        try:
            if None in row:
                raise ValueError("row has more fields than the header")
            flat = (row.get("flat_id") or "").strip()
            room = (row.get("room") or "").strip()
            if not flat or not room:
                raise ValueError("flat_id and room are required")
            ts = parse_timestamp(row.get("ts") or "")
            temp = _number(row, "temp_c", -40, 85)
            rh = _number(row, "rh_pct", 0, 100)
            surface = _number(row, "surface_c", -40, 85, optional=True)
            series = raw.setdefault((flat, room), {})
            if ts in series:
                raise ValueError(
                    f"duplicate reading for {flat}/{room} at {ts} (first on line {series[ts][3]})"
                )
            series[ts] = (temp, rh, surface, line)
            if math.isfinite(surface):
                table.has_surface = True
        except ValueError as exc:
            table.errors.append(RowError(line, str(exc)))
    for key, samples in raw.items():
        ts_sorted = np.array(sorted(samples), dtype=np.int64)
        vals = np.array([samples[int(t)][:3] for t in ts_sorted], dtype=np.float64)
        table.series[key] = {
            "ts": ts_sorted.astype(np.float64),
            "temp_c": vals[:, 0],
            "rh_pct": vals[:, 1],
            "surface_c": vals[:, 2],
        }
    return table


def read_outdoor(path: Path) -> OutdoorSeries:
    """Parse ``ts,temp_c``; bad rows go to ``errors``."""
    samples: dict[int, float] = {}
    errors: list[RowError] = []
    for line, row in csv_rows(path, ("ts", "temp_c")):
        try:
            ts = parse_timestamp(row.get("ts") or "")
            samples[ts] = _number(row, "temp_c", -60, 60)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
    ts_sorted = np.array(sorted(samples), dtype=np.int64)
    return OutdoorSeries(ts_sorted, np.array([samples[int(t)] for t in ts_sorted]), errors)


def hold_on_grid(
    ts: NDArray[np.int64] | NDArray[np.float64],
    values: NDArray[np.float64],
    grid_ts: NDArray[np.int64],
    max_gap_s: int = MAX_GAP_S,
) -> NDArray[np.float64]:
    """Each grid time takes the latest sample at or before it, if that sample's holding
    interval (to the next sample) is at most ``max_gap_s``; else NaN."""
    t = np.asarray(ts, dtype=np.int64)
    if t.size == 0:
        return np.full(grid_ts.shape, np.nan)
    interval = np.diff(t)
    last_hold = int(np.median(interval)) if interval.size else 300
    hold = np.append(interval, min(last_hold, max_gap_s))
    hold = np.where(hold <= max_gap_s, hold, 0)
    idx = np.searchsorted(t, grid_ts, side="right") - 1
    ok = idx >= 0
    safe = np.where(ok, idx, 0)
    ok &= grid_ts < t[safe] + hold[safe]
    return np.asarray(np.where(ok, values[safe], np.nan))
