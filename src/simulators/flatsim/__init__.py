"""flatsim: physically plausible flats, labelled scenarios and whole estates.

See README.md in this folder. The public API::

    spec = load_estate("examples/flatsim/demo.toml")
    estate = generate(spec)                  # ends now; or generate(spec, end=ts)
    write_readings_csv(estate, "readings.csv")
    write_outdoor_csv(estate, "outdoor.csv")
"""

from __future__ import annotations

from simulators.flatsim.csvout import (
    write_devices_csv,
    write_outdoor_csv,
    write_readings_csv,
    write_truth_csv,
)
from simulators.flatsim.errors import FlatsimError
from simulators.flatsim.estate import (
    Block,
    Device,
    Estate,
    Flat,
    RoomPhysics,
    Tenant,
    Truth,
    generate,
)
from simulators.flatsim.scenario import Scenario, load_builtin_scenarios, load_scenario
from simulators.flatsim.spec import BlockSpec, EstateSpec, load_estate, parse_estate
from simulators.flatsim.weather import ColdSnap, Outdoor, leeds_weather

__all__ = [
    "Block",
    "BlockSpec",
    "ColdSnap",
    "Device",
    "Estate",
    "EstateSpec",
    "Flat",
    "FlatsimError",
    "Outdoor",
    "RoomPhysics",
    "Scenario",
    "Tenant",
    "Truth",
    "generate",
    "leeds_weather",
    "load_builtin_scenarios",
    "load_estate",
    "load_scenario",
    "parse_estate",
    "write_devices_csv",
    "write_outdoor_csv",
    "write_readings_csv",
    "write_truth_csv",
]
