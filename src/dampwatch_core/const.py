"""Names that two or more packages must spell the same way: InfluxDB measurements and
tags, room kinds, risk levels, file names, and the default surface temperature factor.

Spelled once here so that a rename is one edit; a package that needs one imports it
from here rather than writing the string again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "AGGREGATE_MEASUREMENT",
    "BEDROOM",
    "DEFAULT_F_RSI",
    "LEVELS",
    "LIVING_ROOM",
    "MEASUREMENT",
    "OUTDOOR_ROOM",
    "SETTINGS_FILENAME",
    "TAG_DEVICE",
    "TAG_FLAT",
    "TAG_LANDLORD",
    "TAG_ROOM",
    "Level",
]

#: Raw readings of every device (written by the gateway, read by the backend).
MEASUREMENT: Final = "climate"
#: Hourly aggregates of :data:`MEASUREMENT` (written by the downsampling job).
AGGREGATE_MEASUREMENT: Final = "climate_1h"

#: Tags of a climate series.
TAG_DEVICE: Final = "device"
TAG_FLAT: Final = "flat"
TAG_LANDLORD: Final = "landlord"
TAG_ROOM: Final = "room"

#: The room of a device outside the building: it gives θ_e to every flat in its block.
OUTDOOR_ROOM: Final = "outdoor"
#: The two rooms every flat has a device in by default (the simulators' flats, the
#: occupied hours of the heating metrics).
LIVING_ROOM: Final = "living_room"
BEDROOM: Final = "bedroom"

#: The settings file a local stack writes and ``dampwatch`` commands read.
SETTINGS_FILENAME: Final = "dampwatch.env"

#: Temperature factor f_Rsi of a flat's coldest wall when nothing better is known:
#: BS 5250 / Approved Document C, f_Rsi ≥ 0.75 for dwellings [-].
DEFAULT_F_RSI: Final = 0.75


class Level(StrEnum):
    """A damp/mould or cold risk level, in rank order (see :meth:`rank`)."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """0 for none … 3 for high."""
        return LEVELS.index(self.value)


#: The levels' names in rank order (index = rank).
LEVELS: Final = tuple(level.value for level in Level)
