"""The InfluxDB schema the gateway writes (documented in ``gateway/README.md``).

measurement ``climate``; tags ``device``, ``flat``, ``room``, ``landlord``; fields
``temp_c``, ``rh_pct`` (floats) and ``surface_c`` (float, when the device has a wall
probe); timestamp = the reading's ``ts`` in seconds. A reading is identified by
(device, ts): one device always maps to one series, so a redelivered reading overwrites
itself instead of adding a point.
"""

from __future__ import annotations

from typing import Final

from dampwatch_core import const
from dampwatch_core.contract import Reading
from dampwatch_core.influx import escape_measurement, escape_tag

__all__ = ["MEASUREMENT", "reading_line", "series_key"]

MEASUREMENT: Final = const.MEASUREMENT


def series_key(device_id: str, flat_id: str, room: str, landlord: str) -> str:
    """Measurement and tags, tags sorted by key as InfluxDB prefers; an empty tag
    value is left out (line protocol has no empty tag). Raises :class:`ValueError` for
    a value line protocol cannot carry (a line break)."""
    tags = (("device", device_id), ("flat", flat_id), ("landlord", landlord), ("room", room))
    return escape_measurement(MEASUREMENT) + "".join(
        f",{key}={escape_tag(value)}" for key, value in tags if value
    )


def reading_line(key: str, reading: Reading) -> str:
    """One line of line protocol for ``reading`` in the series ``key``."""
    if reading.surface_c is None:
        return f"{key} temp_c={reading.temp_c!r},rh_pct={reading.rh_pct!r} {reading.ts}"
    return (
        f"{key} temp_c={reading.temp_c!r},rh_pct={reading.rh_pct!r},"
        f"surface_c={reading.surface_c!r} {reading.ts}"
    )
