"""Compatibility: see :mod:`simulators.scenario`."""

from simulators.scenario import (
    GroundTruth,
    Scenario,
    bundled_scenarios,
    load_scenario,
    parse_scenario,
)

__all__ = ["GroundTruth", "Scenario", "bundled_scenarios", "load_scenario", "parse_scenario"]
