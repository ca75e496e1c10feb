"""Simulators: physically plausible flats, labelled scenarios, whole estates and fleet
faults, deterministic from a seed (see ``simulators/README.md``).

    from simulators import load_estate, write_readings_csv
    data = load_estate("examples/estates/demo.toml").generate(seed=42)
    write_readings_csv(data, Path("readings.csv"))
"""

from simulators.csvout import write_outdoor_csv, write_readings_csv
from simulators.errors import SimulatorError
from simulators.estate import (
    DeviceData,
    Estate,
    EstateData,
    FlatData,
    Tenant,
    load_estate,
    parse_estate,
)
from simulators.scenario import GroundTruth, Scenario, bundled_scenarios, load_scenario

__all__ = [
    "DeviceData",
    "Estate",
    "EstateData",
    "FlatData",
    "GroundTruth",
    "Scenario",
    "SimulatorError",
    "Tenant",
    "bundled_scenarios",
    "load_estate",
    "load_scenario",
    "parse_estate",
    "write_outdoor_csv",
    "write_readings_csv",
]
