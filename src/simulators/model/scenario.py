"""Labelled scenarios: small declarative TOML files (``scenarios/*.toml``), validated
with errors that name the file, the key and the allowed range."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

from simulators.errors import SimulatorError

__all__ = ["Scenario", "bundled_scenarios", "load_scenario"]

_SCHEDULE_RE = re.compile(r"^(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    setpoint_c: float
    schedule: tuple[tuple[int, int], ...]
    off_from_day: float | None
    occupants: int
    cooking_per_day: int
    showers_per_day: int
    drying_days_per_week: int
    ach: float
    extractor: bool
    f_rsi: float
    wall_probe: bool
    leak_g_per_h: float
    leak_from_day: float
    stuck_from_day: float | None
    dropout: float
    drift_c_per_day: float
    offline_from_day: float | None
    offline_days: float
    truth: dict[str, Any] = field(default_factory=dict)


def _get(
    data: dict[str, Any],
    source: str,
    table: str,
    key: str,
    kind: type,
    lo: float | None = None,
    hi: float | None = None,
    default: Any = ...,
) -> Any:
    section = data.get(table, {})
    if not isinstance(section, dict):
        raise SimulatorError(f"{source}: [{table}] must be a table")
    if key not in section:
        if default is ...:
            raise SimulatorError(f"{source}: [{table}] {key} is required")
        return default
    value: Any = section[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise SimulatorError(f"{source}: [{table}] {key} must be {kind.__name__}, not {value!r}")
    if lo is not None and hi is not None and not lo <= cast(float, value) <= hi:
        raise SimulatorError(f"{source}: [{table}] {key}={value} is outside {lo:g}–{hi:g}")
    return value


def parse_scenario(name: str, text: str, source: str) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SimulatorError(f"{source}: {exc}") from None
    known = {"description", "heating", "occupancy", "ventilation", "building", "sensor", "truth"}
    unknown = set(data) - known
    if unknown:
        raise SimulatorError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    schedule = []
    for window in _get(data, source, "heating", "schedule", list):
        m = _SCHEDULE_RE.match(str(window))
        if not m or not (0 <= int(m[1]) < int(m[2]) <= 24):
            raise SimulatorError(
                f"{source}: [heating] schedule entry {window!r} must be like '06-09'"
            )
        schedule.append((int(m[1]), int(m[2])))
    truth = data.get("truth", {})
    for key in ("damp", "cold"):
        if not isinstance(truth.get(key), bool) and truth.get(key) != "either":
            raise SimulatorError(f'{source}: [truth] {key} (true, false or "either") is required')
    return Scenario(
        name=name,
        description=str(data.get("description", name)),
        setpoint_c=_get(data, source, "heating", "setpoint_c", float, 5, 25),
        schedule=tuple(schedule),
        off_from_day=_get(data, source, "heating", "off_from_day", float, 0, 366, None),
        occupants=_get(data, source, "occupancy", "occupants", int, 0, 8),
        cooking_per_day=_get(data, source, "occupancy", "cooking_per_day", int, 0, 6),
        showers_per_day=_get(data, source, "occupancy", "showers_per_day", int, 0, 6),
        drying_days_per_week=_get(data, source, "occupancy", "drying_days_per_week", int, 0, 7),
        ach=_get(data, source, "ventilation", "ach", float, 0.05, 5),
        extractor=_get(data, source, "ventilation", "extractor", bool),
        f_rsi=_get(data, source, "building", "f_rsi", float, 0.3, 0.95),
        wall_probe=_get(data, source, "building", "wall_probe", bool, default=False),
        leak_g_per_h=_get(data, source, "building", "leak_g_per_h", float, 0, 500, 0.0),
        leak_from_day=_get(data, source, "building", "leak_from_day", float, 0, 366, 0.0),
        stuck_from_day=_get(data, source, "sensor", "stuck_from_day", float, 0, 366, None),
        dropout=_get(data, source, "sensor", "dropout", float, 0, 0.5, 0.0),
        drift_c_per_day=_get(data, source, "sensor", "drift_c_per_day", float, -2, 2, 0.0),
        offline_from_day=_get(data, source, "sensor", "offline_from_day", float, 0, 366, None),
        offline_days=_get(data, source, "sensor", "offline_days", float, 0, 60, 0.0),
        truth=dict(truth),
    )


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text()
    except OSError as exc:
        raise SimulatorError(f"cannot read {path}: {exc.strerror}") from None
    return parse_scenario(path.stem, text, str(path))


def bundled_scenarios() -> dict[str, Scenario]:
    """The scenarios shipped with DampWatch, by name."""
    out = {}
    for entry in (files("simulators.model") / "scenarios").iterdir():
        if entry.name.endswith(".toml"):
            name = entry.name.removesuffix(".toml")
            out[name] = parse_scenario(name, entry.read_text(), f"scenarios/{entry.name}")
    return out
