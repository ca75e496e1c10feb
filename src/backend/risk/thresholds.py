"""Loading the versioned thresholds (``thresholds.toml``): each table a frozen model,
validated at load (an unknown key, a wrong type or a value out of range is refused with
the file, table and key)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from pydantic import Field

from dampwatch_core.configfile import FileModel, between, parse_toml, read_toml, validate
from dampwatch_core.errors import ConfigError

__all__ = [
    "ColdThresholds",
    "DampThresholds",
    "DeviceThresholds",
    "FlagThresholds",
    "MetricLimits",
    "Thresholds",
    "load_thresholds",
]

#: A share of hours or of a window.
Fraction = Annotated[float, between(0, 1)]
#: Hours, a count or a level: not below zero.
Amount = Annotated[float, Field(ge=0)]


class MetricLimits(FileModel):
    """The limits the engine counts hours against (``[metrics]``)."""

    air_rh_pct: Annotated[float, between(0, 100)]
    surface_rh_pct: Annotated[float, between(0, 100)]
    warm_c: float
    cold_c: float
    implausible_below_c: float
    implausible_above_c: float
    spike_rise_pct: Amount
    jump_temp_c: Amount


Percent = Annotated[float, between(0, 100)]


class DampThresholds(FileModel):
    """Damp and mould levels (sources in ``thresholds.toml``)."""

    high_mould_index: Amount
    medium_mould_index: Amount
    medium_surface_rh_pct: Percent
    low_surface_rh_pct: Percent
    mean_min_hours: Amount
    air_daily_rh_pct: Percent
    air_weekly_rh_pct: Percent
    air_monthly_rh_pct: Percent
    wet_room_slow_clear_fraction: Fraction


class ColdThresholds(FileModel):
    high_mean_temp_c: float
    high_below16_fraction: Fraction
    medium_below18_fraction: Fraction
    medium_below16_fraction: Fraction
    low_below18_fraction: Fraction


class FlagThresholds(FileModel):
    min_coverage: Fraction
    flatline_hours: Amount
    jumps: Amount
    implausible_hours: Amount
    vacancy_spikes_per_day: Amount
    vacancy_vapour_excess_pa: Amount
    heated_day_c: float
    unheated_day_c: float
    min_heated_days: Annotated[int, Field(ge=0)]
    min_unheated_days: Annotated[int, Field(ge=0)]


class DeviceThresholds(FileModel):
    """Device health (``[devices]``): when a device's dropped readings are a fault."""

    drops_per_check: Annotated[int, Field(ge=1)] = 1


class WindowTable(FileModel):
    days: Annotated[int, between(1, 366)] = 7
    min_hours: Amount = 24.0


class ThresholdsFile(FileModel):
    """``thresholds.toml`` as written (``[metrics]`` may be left out of a landlord's
    file from before it existed)."""

    version: Annotated[str, Field(min_length=1)]
    window: WindowTable = WindowTable()
    metrics: MetricLimits | None = None
    damp: DampThresholds
    cold: ColdThresholds
    flags: FlagThresholds
    devices: DeviceThresholds = DeviceThresholds()  # a file from before [devices]


@dataclass(frozen=True)
class Thresholds:
    version: str
    window_days: int
    min_hours: float
    metrics: MetricLimits
    damp: DampThresholds
    cold: ColdThresholds
    flags: FlagThresholds
    devices: DeviceThresholds


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The bundled thresholds, or a landlord's own file (validated, clear errors)."""
    return _bundled() if path is None else _load(path)


@cache
def _bundled() -> Thresholds:
    return _load(None)


def _load(path: Path | None) -> Thresholds:
    if path is None:
        source = "thresholds.toml"
        text = (files("backend.risk") / source).read_text(encoding="utf-8")
        data = parse_toml(text, source, ConfigError)
    else:
        source = str(path)
        data = read_toml(path, "thresholds", ConfigError)
    table = validate(ThresholdsFile, data, source, ConfigError)
    if table.metrics is None and path is None:
        raise ConfigError(f"{source}: [metrics] table is required")
    return Thresholds(
        version=table.version,
        window_days=table.window.days,
        min_hours=table.window.min_hours,
        damp=table.damp,
        cold=table.cold,
        flags=table.flags,
        devices=table.devices,
        # a landlord's file from before [metrics] existed counts with the bundled limits
        metrics=table.metrics if table.metrics is not None else _bundled().metrics,
    )
