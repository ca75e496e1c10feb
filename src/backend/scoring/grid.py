"""The grid builder (pure): an :class:`~backend.scoring.reader.HourlyFrame` and the
devices to score -> the engine's :class:`~backend.risk.engine.ClimateGrid`, one row per
device, one column per hour of [start, end).

Outdoor temperature comes from outdoor sensors: a device whose room is ``outdoor``
gives θ_e to every flat in its flat's block (the mean of a block's outdoor devices).
A device's surface is known from its wall probe if it has one, else estimated from
θ_e and f_Rsi, else not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from backend.risk.engine import ClimateGrid
from backend.risk.levels import SeriesInfo
from backend.scoring.reader import HourlyFrame, HourValues

__all__ = ["DeviceRow", "GridInput", "build_grid"]


class DeviceRow(NamedTuple):
    """A commissioned device as the registry places it (a named tuple: the job makes
    one per device of the estate)."""

    device_id: str
    flat_id: str
    room: str
    block: str | None


@dataclass(frozen=True)
class GridInput:
    """The engine's input for one run, and what it was made from."""

    grid: ClimateGrid
    infos: list[SeriesInfo]
    hours_read: int


def _outdoor_by_block(
    frame: HourlyFrame, outdoor: Sequence[DeviceRow], hour_index: Mapping[int, int], hours: int
) -> dict[str | None, NDArray[np.float64]]:
    out: dict[str | None, NDArray[np.float64]] = {}
    for d in outdoor:
        arr = np.full(hours, np.nan)
        for t, (otemp, *_rest) in frame.of(d.device_id).items():
            if t in hour_index:
                arr[hour_index[t]] = otemp
        prev = out.get(d.block)
        out[d.block] = arr if prev is None else np.nanmean(np.vstack([prev, arr]), axis=0)
    return out


def build_grid(
    frame: HourlyFrame,
    todo: Sequence[DeviceRow],
    outdoor: Sequence[DeviceRow],
    scored_until: Mapping[str, int],
    read_until: Mapping[str, int],
    start: int,
    end: int,
    f_rsi: float,
) -> GridInput:
    """The grid of ``todo``'s hours in [``scored_until[d]``, ``read_until[d]``) within
    [start, end), with θ_e from the ``outdoor`` devices of each one's block."""
    hours = (end - start) // 3600
    hour_index = {start + 3600 * i: i for i in range(hours)}
    outdoor_by_block = _outdoor_by_block(frame, outdoor, hour_index, hours)
    n = len(todo)
    temp = np.full((n, hours), np.nan)
    rh = np.full((n, hours), np.nan)
    surface = np.full((n, hours), np.nan)
    rh_max = np.full((n, hours), np.nan)
    outdoor_c = np.full((n, hours), np.nan)
    cells_i: list[int] = []
    cells_j: list[int] = []
    cells_v: list[HourValues] = []
    for i, d in enumerate(todo):
        lo, hi = scored_until[d.device_id], read_until[d.device_id]
        for t, v in frame.of(d.device_id).items():
            if lo <= t < hi and t in hour_index:
                cells_i.append(i)
                cells_j.append(hour_index[t])
                cells_v.append(v)
        if d.block in outdoor_by_block:
            outdoor_c[i] = outdoor_by_block[d.block]
    if cells_v:
        ci = np.array(cells_i, dtype=np.intp)
        cj = np.array(cells_j, dtype=np.intp)
        cv = np.array(cells_v, dtype=np.float64)
        temp[ci, cj], rh[ci, cj], surface[ci, cj], rh_max[ci, cj] = cv.T
    has_probe = np.isfinite(surface).any(axis=1).tolist()
    has_outdoor = np.isfinite(outdoor_c).any(axis=1).tolist()
    infos = [
        SeriesInfo(
            d.flat_id,
            d.room,
            f_rsi,
            "probe" if has_probe[i] else ("f_rsi" if has_outdoor[i] else None),
        )
        for i, d in enumerate(todo)
    ]
    grid = ClimateGrid(
        start=start,
        step_s=3600,
        temp_c=temp,
        rh_pct=rh,
        rooms=[d.room for d in todo],
        f_rsi=np.full(n, f_rsi),
        surface_c=surface,
        outdoor_c=outdoor_c,
        rh_max_pct=rh_max,
    )
    return GridInput(grid, infos, int(np.isfinite(temp).sum()))
