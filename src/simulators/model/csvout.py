"""Compatibility: see :mod:`simulators.csvout`."""

from simulators.csvout import write_outdoor_csv, write_readings_csv

__all__ = ["write_outdoor_csv", "write_readings_csv"]
