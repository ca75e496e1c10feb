"""Estates: tower blocks of flats living labelled scenarios, their devices and tenants,
and the readings those devices would take, deterministic from a seed.

Estate file (TOML; see ``examples/estates/demo.toml``)::

    name = "Demo estate"
    seed = 42
    days = 14                  # simulated days, 1–120
    end = 2025-12-13           # last simulated instant (date, datetime or Unix s)
    landlord = "demo-council"
    sample_s = 300             # the firmware's sample interval

    [[blocks]]                 # one or more
    name = "Lindsey Court"
    code = "LC"                # flat ids are CODE-FFNN (floor, number on the floor)
    flats = 60
    flats_per_floor = 4

    [[rooms]]                  # optional; default: living_room and bedroom
    name = "living_room"       # one device per room
    kind = "living"            # living | bedroom | kitchen | bathroom
    volume_m3 = 40
    heater_w = 1500
    probe = false              # a wall-surface probe on every device in this room

    [mix]                      # scenario weights; each weighted scenario appears
    healthy = 70               # at least once
    poor_ventilation = 6

    [scenarios]                # the analyst's own scenario files (relative paths)
    files = ["scenarios/my_case.toml"]

    [weather]                  # the Leeds cold snap (days = 0: none)
    cold_snap_day = 7
    cold_snap_days = 3
    cold_snap_depth_c = 7.0

    [building]                 # ranges drawn per room, and the party-wall share
    h_w_per_k = [18, 32]
    tau_h = [30, 60]
    neighbour_share = 0.5

    [tenants]
    sms_consent_share = 0.8
    over_65_share = 0.2

Every flat, room and device draws from its own random stream, seeded by the estate
seed and the flat's position, so a flat's readings do not depend on how the estate is
split into chunks for generation.

One module per part: :mod:`.spec` (the types), :mod:`.parsing` (the file, validated)
and :mod:`.generation` (the simulation).
"""

from simulators.estate.parsing import load_estate, parse_estate
from simulators.estate.spec import (
    DEFAULT_END,
    DEFAULT_ROOMS,
    BlockSpec,
    DeviceData,
    Estate,
    EstateData,
    FlatData,
    RoomSpec,
    Tenant,
)

__all__ = [
    "DEFAULT_END",
    "DEFAULT_ROOMS",
    "BlockSpec",
    "DeviceData",
    "Estate",
    "EstateData",
    "FlatData",
    "RoomSpec",
    "Tenant",
    "load_estate",
    "parse_estate",
]
