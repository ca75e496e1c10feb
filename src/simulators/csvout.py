"""A generated estate's readings as the CSVs ``dampwatch analyse`` reads.

``readings.csv``: ``flat_id,room,ts,temp_c,rh_pct[,surface_c]`` (``ts`` Unix seconds
UTC, ``temp_c`` to 0.01 °C, ``rh_pct`` to 0.1 %, ``surface_c`` blank for devices without
a probe); lost samples are left out. ``outdoor.csv``: ``ts,temp_c``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulators.estate import EstateData

__all__ = ["write_outdoor_csv", "write_readings_csv"]


def write_readings_csv(data: EstateData, path: Path, *, surface: bool | None = None) -> int:
    """Write every reading of ``data`` to ``path``; returns the rows written.

    ``surface``: include the ``surface_c`` column (default: when any device has a
    probe).
    """
    with_surface = any(d.has_probe for d in data.devices) if surface is None else surface
    header = "flat_id,room,ts,temp_c,rh_pct" + (",surface_c" if with_surface else "")
    rows = 0
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        fh.write(header + "\n")
        for d in data.devices:
            ok = np.isfinite(d.temp_c) & np.isfinite(d.rh_pct)
            ts = d.ts[ok].tolist()
            temp = d.temp_c[ok].tolist()
            rh = d.rh_pct[ok].tolist()
            prefix = f"{d.flat_id},{d.room},"
            if not with_surface:
                lines = [
                    f"{prefix}{t},{a:.2f},{b:.1f}\n" for t, a, b in zip(ts, temp, rh, strict=True)
                ]
            elif d.surface_c is None:
                lines = [
                    f"{prefix}{t},{a:.2f},{b:.1f},\n" for t, a, b in zip(ts, temp, rh, strict=True)
                ]
            else:
                sur = d.surface_c[ok].tolist()
                lines = [
                    f"{prefix}{t},{a:.2f},{b:.1f},{s:.2f}\n"
                    if s == s
                    else f"{prefix}{t},{a:.2f},{b:.1f},\n"
                    for t, a, b, s in zip(ts, temp, rh, sur, strict=True)
                ]
            fh.writelines(lines)
            rows += len(lines)
    return rows


def write_outdoor_csv(data: EstateData, path: Path, *, every_s: int = 3600) -> int:
    """Write the outdoor air temperature every ``every_s`` seconds (default hourly,
    as an outdoor sensor or a weather feed would give it); returns the rows written."""
    stride = max(1, every_s // data.sample_s)
    ts = data.ts[::stride].tolist()
    temp = data.outdoor_c[::stride].tolist()
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        fh.write("ts,temp_c\n")
        fh.writelines(f"{t},{c:.2f}\n" for t, c in zip(ts, temp, strict=True))
    return len(ts)
