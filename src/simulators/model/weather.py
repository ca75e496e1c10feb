"""Compatibility: see :mod:`simulators.weather`."""

from simulators.weather import LEEDS_MONTHLY_RH_PCT, LEEDS_MONTHLY_TEMP_C, ColdSnap, hourly_weather

__all__ = ["LEEDS_MONTHLY_RH_PCT", "LEEDS_MONTHLY_TEMP_C", "ColdSnap", "hourly_weather"]
