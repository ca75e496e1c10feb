"""Writers for the analytics CSV formats (``dampwatch analyse``):

- readings: ``flat_id,room,ts,temp_c,rh_pct[,surface_c]``, ts in Unix seconds; lost
  samples (NaN) are left out; ``surface_c`` is empty where a device has no probe, and the
  column is present only when some device has one;
- outdoor: ``ts,temp_c``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulators.flatsim.estate import Estate

__all__ = ["write_outdoor_csv", "write_readings_csv"]


def write_readings_csv(estate: Estate, path: str | Path) -> int:
    """Write every device's readings; returns the number of rows written."""
    with_surface = any(d.has_probe for d in estate.devices)
    rows = 0
    with Path(path).open("w", encoding="utf-8", newline="") as out:
        out.write("flat_id,room,ts,temp_c,rh_pct" + (",surface_c" if with_surface else "") + "\n")
        for d in estate.devices:
            ok = ~(np.isnan(d.temp_c) | np.isnan(d.rh_pct))
            ts = d.ts[ok].tolist()
            temp = d.temp_c[ok].tolist()
            rh = d.rh_pct[ok].tolist()
            prefix = f"{d.flat_id},{d.room},"
            if not with_surface:
                lines = [
                    f"{prefix}{t},{a:.2f},{h:.1f}\n" for t, a, h in zip(ts, temp, rh, strict=True)
                ]
            elif d.has_probe:
                surf = d.surface_c[ok].tolist()
                lines = [
                    f"{prefix}{t},{a:.2f},{h:.1f}," + ("" if s != s else f"{s:.2f}") + "\n"
                    for t, a, h, s in zip(ts, temp, rh, surf, strict=True)
                ]
            else:
                lines = [
                    f"{prefix}{t},{a:.2f},{h:.1f},\n" for t, a, h in zip(ts, temp, rh, strict=True)
                ]
            out.writelines(lines)
            rows += len(lines)
    return rows


def write_outdoor_csv(estate: Estate, path: str | Path) -> int:
    """Write the outdoor temperature series; returns the number of rows written."""
    o = estate.outdoor
    with Path(path).open("w", encoding="utf-8", newline="") as out:
        out.write("ts,temp_c\n")
        out.writelines(
            f"{t},{x:.2f}\n" for t, x in zip(o.ts.tolist(), o.temp_c.tolist(), strict=True)
        )
    return int(o.ts.size)
