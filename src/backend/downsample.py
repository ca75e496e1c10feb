"""Hourly aggregates: ``climate`` -> ``climate_1h`` by a scheduled job through ``/write``
(not continuous queries, so it works the same on InfluxDB 1.x, 2.x and 3.x).

Each run aggregates the complete hours since the last aggregated hour (looking back at
most ``max_lookback_h``), and rewrites the last ``overlap_h`` hours, so that readings
that arrived late (devices upload 4-hourly, or backfill after an outage) are included.
Writing an hour again overwrites it: the job is idempotent.
"""

from __future__ import annotations

import logging
import time

from dampwatch_core.const import (
    AGGREGATE_MEASUREMENT,
    MEASUREMENT,
    TAG_DEVICE,
    TAG_FLAT,
    TAG_LANDLORD,
    TAG_ROOM,
)
from dampwatch_core.influx import InfluxClient, format_line

__all__ = ["AGGREGATE", "downsample_hourly"]

log = logging.getLogger(__name__)
AGGREGATE = AGGREGATE_MEASUREMENT
QUERY = (
    "SELECT mean(temp_c) AS temp_c_mean, min(temp_c) AS temp_c_min, "  # noqa: S608 (constants)
    "max(temp_c) AS temp_c_max, mean(rh_pct) AS rh_pct_mean, max(rh_pct) AS rh_pct_max, "
    f"mean(surface_c) AS surface_c_mean, count(temp_c) AS samples FROM {MEASUREMENT} "
    "WHERE time >= $start AND time < $end "
    f"GROUP BY time(1h), {TAG_DEVICE}, {TAG_FLAT}, {TAG_ROOM}, {TAG_LANDLORD} fill(none)"
)


def downsample_hourly(
    influx: InfluxClient,
    *,
    now: int | None = None,
    overlap_h: int = 6,
    max_lookback_h: int = 24 * 14,
    window_h: int = 6,
) -> int:
    """Write hourly mean/min/max per device; returns the number of points written."""
    now_hour = (int(time.time()) if now is None else now) // 3600 * 3600
    last = influx.query(f"SELECT last(temp_c_mean) FROM {AGGREGATE}")  # noqa: S608
    if last and last[0].values:
        start = int(last[0].values[0][0]) - overlap_h * 3600
    else:
        start = now_hour - max_lookback_h * 3600
    start = max(start, now_hour - max_lookback_h * 3600)
    written = 0
    # a few hours per query: at council scale one query over days would return
    # millions of rows at once
    for window_start in range(start, now_hour, window_h * 3600):
        window_end = min(window_start + window_h * 3600, now_hour)
        written += _downsample_window(influx, window_start, window_end)
    log.info("downsampled %d device-hours into %s", written, AGGREGATE)
    return written


def _downsample_window(influx: InfluxClient, start: int, end: int) -> int:
    series = influx.query(QUERY, {"start": start * 10**9, "end": end * 10**9})
    lines = []
    for s in series:
        for row in s.values:
            values = dict(zip(s.columns, row, strict=True))
            if values.get("temp_c_mean") is None:
                continue
            fields = {
                k: (float(v) if k != "samples" else int(v))
                for k, v in values.items()
                if k != "time" and v is not None
            }
            lines.append(format_line(AGGREGATE, s.tags, fields, int(values["time"])))
    written = 0
    for k in range(0, len(lines), 5000):
        written += influx.write_lines(lines[k : k + 5000])
    return written
