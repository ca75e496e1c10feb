"""Loading the versioned thresholds (``thresholds.toml``) into frozen dataclasses."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from dampwatch_core.errors import ConfigError
from dampwatch_core.tables import TableError, check_keys, number

__all__ = [
    "ColdThresholds",
    "DampThresholds",
    "FlagThresholds",
    "MetricLimits",
    "Thresholds",
    "load_thresholds",
]


@dataclass(frozen=True)
class MetricLimits:
    """The limits the engine counts hours against (``[metrics]``)."""

    air_rh_pct: float
    surface_rh_pct: float
    warm_c: float
    cold_c: float
    implausible_below_c: float
    implausible_above_c: float
    spike_rise_pct: float
    jump_temp_c: float


@dataclass(frozen=True)
class DampThresholds:
    high_mould_index: float
    high_condensation_hours: float
    high_surface_rh80_fraction: float
    medium_mould_index: float
    medium_condensation_hours: float
    medium_surface_rh80_fraction: float
    low_surface_rh80_fraction: float
    air_rh70_fraction_medium: float
    air_rh70_fraction_low: float


@dataclass(frozen=True)
class ColdThresholds:
    high_mean_temp_c: float
    high_below16_fraction: float
    medium_below18_fraction: float
    medium_below16_fraction: float
    low_below18_fraction: float


@dataclass(frozen=True)
class FlagThresholds:
    min_coverage: float
    flatline_hours: float
    jumps: float
    implausible_hours: float
    vacancy_spikes_per_day: float
    heated_day_c: float
    unheated_day_c: float
    min_heated_days: int
    min_unheated_days: int


@dataclass(frozen=True)
class Thresholds:
    version: str
    window_days: int
    min_hours: float
    metrics: MetricLimits
    damp: DampThresholds
    cold: ColdThresholds
    flags: FlagThresholds


def _section(cls: type[Any], data: dict[str, Any], name: str, source: str) -> Any:
    table = data.get(name)
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: missing [{name}] table")
    wanted = [f.name for f in fields(cls)]
    try:
        check_keys(table, wanted)
        return cls(**{key: number(table, key, -math.inf, math.inf) for key in wanted})
    except TableError as exc:
        raise ConfigError(f"{source}: [{name}] {exc}") from None


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The bundled thresholds, or a landlord's own file (validated, clear errors)."""
    return _bundled() if path is None else _load(path)


@cache
def _bundled() -> Thresholds:
    return _load(None)


def _load(path: Path | None) -> Thresholds:
    if path is None:
        text = (files("backend.risk") / "thresholds.toml").read_text()
        source = "thresholds.toml"
    else:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    window = data.get("window", {})
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ConfigError(f"{source}: 'version' (a string) is required")
    return Thresholds(
        version=version,
        window_days=int(window.get("days", 7)),
        min_hours=float(window.get("min_hours", 24)),
        damp=_section(DampThresholds, data, "damp", source),
        cold=_section(ColdThresholds, data, "cold", source),
        flags=_section(FlagThresholds, data, "flags", source),
        # a landlord's file from before [metrics] existed counts with the bundled limits
        metrics=(
            _bundled().metrics
            if path is not None and "metrics" not in data
            else _section(MetricLimits, data, "metrics", source)
        ),
    )
