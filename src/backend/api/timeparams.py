"""Time parameters in the API: Unix seconds or ISO 8601 with an offset, within
2000-01-01 .. 2100-01-01 UTC (InfluxDB holds 1677 .. 2262; no reading is older than the
project or newer than its sensors will last)."""

from __future__ import annotations

from backend.params import invalid
from dampwatch_core.parsing import (
    NoOffsetError,
    TimestampError,
    TimestampRangeError,
    parse_timestamp,
)

__all__ = ["MAX_TS", "MIN_TS", "check_range", "parse_time"]

MIN_TS = 946_684_800  # 2000-01-01T00:00:00Z
MAX_TS = 4_102_444_800  # 2100-01-01T00:00:00Z


def parse_time(value: str, name: str, *, bounded: bool = True) -> int:
    """Unix seconds from ``value``; a 422 with a message when it is neither form or
    (``bounded``) lies outside 2000-01-01 .. 2100-01-01."""
    try:
        ts = parse_timestamp(value, name)
    except TimestampRangeError as exc:
        ts = MIN_TS - 1 if exc.year < 2000 else MAX_TS + 1
    except NoOffsetError:
        raise invalid(
            name, f"'{name}' needs a UTC offset (e.g. 2025-11-03T08:00:00+00:00)"
        ) from None
    except TimestampError:
        raise invalid(name, f"'{name}' must be Unix seconds or ISO 8601 with an offset") from None
    return check_range(ts, name) if bounded else ts


def check_range(ts: int, name: str) -> int:
    """``ts``, or a 422 when it lies outside 2000-01-01 .. 2100-01-01."""
    if not MIN_TS <= ts <= MAX_TS:
        raise invalid(
            name,
            f"'{name}' must lie between 2000-01-01 and 2100-01-01 UTC (Unix {MIN_TS} .. {MAX_TS})",
        )
    return ts
