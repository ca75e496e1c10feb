"""The estate's readings as the CSVs ``dampwatch analyse`` reads."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from simulators.model.estate import Estate

__all__ = ["write_outdoor_csv", "write_readings_csv"]


def write_readings_csv(estate: Estate, path: Path) -> int:
    """``flat_id,room,ts,temp_c,rh_pct,surface_c``; returns rows written."""
    rows = 0
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["flat_id", "room", "ts", "temp_c", "rh_pct", "surface_c"])
        for d in estate.devices:
            ok = np.isfinite(d.temp_c) & np.isfinite(d.rh_pct)
            for k in np.nonzero(ok)[0]:
                surface = "" if d.surface_c is None else f"{d.surface_c[k]:.2f}"
                w.writerow(
                    [
                        d.flat_id,
                        d.room,
                        int(d.ts[k]),
                        f"{d.temp_c[k]:.2f}",
                        f"{d.rh_pct[k]:.1f}",
                        surface,
                    ]
                )
                rows += 1
    return rows


def write_outdoor_csv(estate: Estate, path: Path) -> int:
    """``ts,temp_c`` hourly."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ts", "temp_c"])
        for k in range(0, estate.outdoor_ts.size, 12):
            w.writerow([int(estate.outdoor_ts[k]), f"{estate.outdoor_c[k]:.2f}"])
    return (estate.outdoor_ts.size + 11) // 12
