"""Writers for the analytics CSV formats (``dampwatch analyse``):

- readings: ``flat_id,room,ts,temp_c,rh_pct[,surface_c]``, ts in Unix seconds; lost
  samples (NaN) are left out; ``surface_c`` is empty where a device has no probe, and the
  column is present only when some device has one;
- outdoor: ``ts,temp_c``;
- ground truth, one row per flat (for scoring detection):
  ``flat_id,block,scenario,damp,cold,vacant,fault,onset_ts,event_start_ts,event_end_ts,``
  ``surface_rh80_days,share_below_18``;
- devices (the registry a simulated estate needs):
  ``device_id,flat_id,room,has_probe,fault,fault_start_ts,offline``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from simulators.flatsim.estate import Estate

__all__ = [
    "write_devices_csv",
    "write_outdoor_csv",
    "write_readings_csv",
    "write_truth_csv",
]


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


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def write_truth_csv(estate: Estate, path: str | Path) -> int:
    """One row per flat with its scenario and ground truth; booleans as 0/1, times as
    Unix seconds (empty when none)."""
    with Path(path).open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            [
                "flat_id",
                "block",
                "scenario",
                "damp",
                "cold",
                "vacant",
                "fault",
                "onset_ts",
                "event_start_ts",
                "event_end_ts",
                "surface_rh80_days",
                "share_below_18",
            ]
        )
        for f in estate.flats:
            t = f.truth
            w.writerow(
                [
                    f.flat_id,
                    f.block,
                    f.scenario,
                    int(t.damp),
                    int(t.cold),
                    int(t.vacant),
                    int(t.fault),
                    _opt(t.onset_ts),
                    _opt(t.event_start_ts),
                    _opt(t.event_end_ts),
                    t.surface_rh80_days,
                    f"{t.share_below_18:.4f}",
                ]
            )
    return len(estate.flats)


def write_devices_csv(estate: Estate, path: str | Path) -> int:
    """One row per device; ``offline`` is ``from-to`` Unix-second windows joined by ``;``."""
    with Path(path).open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            ["device_id", "flat_id", "room", "has_probe", "fault", "fault_start_ts", "offline"]
        )
        for d in estate.devices:
            w.writerow(
                [
                    d.device_id,
                    d.flat_id,
                    d.room,
                    int(d.has_probe),
                    d.fault or "",
                    _opt(d.fault_start_ts),
                    ";".join(f"{lo}-{hi}" for lo, hi in d.offline),
                ]
            )
    return len(estate.devices)
