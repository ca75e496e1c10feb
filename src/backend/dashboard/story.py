"""A flat's story as chart data: per room, hourly temperature, RH, dew point, the wall
surface temperature (measured by a surface probe, else estimated from the outdoor
temperature with the default temperature factor) and surface RH, the VTT mould index
on that surface, and the heating pattern (mean temperature by hour of the day, local
time); the outdoor temperature alongside. Pure: rows in, JSON-ready dicts out.

The series are on one hourly grid per flat (uPlot draws every series of a chart on
the same x values); an hour with no reading is ``None``, which the chart shows as a gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backend.readings import ReadingRow
from backend.risk.heating import local_hour
from backend.risk.mould import mould_index
from backend.risk.psychrometrics import dew_point
from backend.risk.surfaces import surface_relative_humidity, surface_temperature
from dampwatch_core.const import DEFAULT_F_RSI, OUTDOOR_ROOM

__all__ = ["HOUR", "flat_chart_data", "hour_grid"]

HOUR = 3600


def hour_grid(start: int, end: int) -> NDArray[np.int64]:
    """Hour starts from the hour containing ``start`` up to before ``end``."""
    first = start - start % HOUR
    return np.arange(first, end, HOUR, dtype=np.int64)


def _on_grid(
    rows: Iterable[ReadingRow], grid: NDArray[np.int64], field: str
) -> NDArray[np.float64]:
    """Hourly means of ``field`` on ``grid`` (NaN where the hour has none)."""
    total = np.zeros(grid.size)
    count = np.zeros(grid.size)
    first = int(grid[0]) if grid.size else 0
    for r in rows:
        value = getattr(r, field)
        if value is None:
            continue
        i = (r.ts - first) // HOUR
        if 0 <= i < grid.size:
            total[i] += value
            count[i] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _json(values: NDArray[np.floating[Any]], digits: int = 2) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), digits) for v in values]


def flat_chart_data(
    rows: Sequence[ReadingRow],
    outdoor_rows: Sequence[ReadingRow],
    start: int,
    end: int,
    *,
    f_rsi: float = DEFAULT_F_RSI,
) -> dict[str, Any]:
    """Everything the flat page charts, for ``start <= ts < end``."""
    grid = hour_grid(start, end)
    outdoor = _on_grid([r for r in outdoor_rows if r.room == OUTDOOR_ROOM], grid, "temp_c")
    rooms: list[dict[str, Any]] = []
    for room in sorted({r.room for r in rows if r.room != OUTDOOR_ROOM}):
        mine = [r for r in rows if r.room == room]
        temp = _on_grid(mine, grid, "temp_c")
        rh = _on_grid(mine, grid, "rh_pct")
        measured = _on_grid(mine, grid, "surface_c")
        estimated = surface_temperature(temp, outdoor, f_rsi)
        surface = np.where(np.isfinite(measured), measured, estimated)
        with np.errstate(invalid="ignore", over="ignore"):
            surface_rh = surface_relative_humidity(temp, rh, surface)
            dew = dew_point(temp, rh)
        mould, _final, _dry = mould_index(surface, surface_rh)
        hours = local_hour(grid)
        profile = [
            float(np.nanmean(temp[(hours == h) & np.isfinite(temp)]))
            if np.any((hours == h) & np.isfinite(temp))
            else np.nan
            for h in range(24)
        ]
        rooms.append(
            {
                "room": room,
                "devices": sorted({r.device_id for r in mine}),
                "hours_with_readings": int(np.isfinite(temp).sum()),
                "surface_source": "probe" if np.isfinite(measured).any() else "estimated",
                "temp_c": _json(temp),
                "rh_pct": _json(rh),
                "dew_point_c": _json(dew),
                "surface_c": _json(surface),
                "surface_rh_pct": _json(surface_rh),
                "mould_index": _json(mould, 3),
                "heating": {"hour": list(range(24)), "temp_c": _json(np.asarray(profile))},
            }
        )
    return {
        "start": int(start),
        "end": int(end),
        "ts": [int(t) for t in grid],
        "outdoor_c": _json(outdoor),
        "f_rsi": f_rsi,
        "rooms": rooms,
    }
