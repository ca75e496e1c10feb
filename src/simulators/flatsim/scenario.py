"""Labelled scenarios: small declarative TOML files that say how a household lives, how
its flat is built and heated, what goes wrong and when, and the ground truth to score
detection against.

A value written as a number is fixed; a value written as ``[lo, hi]`` is drawn per flat,
uniformly, from that range. Every key is optional except ``name`` and ``[truth]``; the
defaults are those of a sound, well-heated flat (``healthy.toml``). The package
README lists the keys, units and allowed ranges; :data:`SCHEMA` holds them in code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from simulators.flatsim.errors import FlatsimError

__all__ = [
    "EVENT_KINDS",
    "SCHEMA",
    "SENSOR_FAULTS",
    "Scenario",
    "builtin_scenario_names",
    "load_builtin_scenarios",
    "load_scenario",
    "parse_scenario",
]

EVENT_KINDS: Final = ("none", "heating_off", "leak")
SENSOR_FAULTS: Final = ("none", "stuck", "drift", "dropout", "any")
ONSETS: Final = ("auto", "start", "event", "sensor_fault", "none")


@dataclass(frozen=True, slots=True)
class Key:
    """One scenario key: kind, allowed range (inclusive), default, unit."""

    kind: Literal["range", "bool", "choice", "periods", "text"]
    lo: float = 0.0
    hi: float = 0.0
    default: Any = None
    unit: str = ""
    choices: tuple[str, ...] = ()


#: section -> key -> rule. Ranges are inclusive. "" is the top level.
SCHEMA: Final[dict[str, dict[str, Key]]] = {
    "": {
        "name": Key("text"),
        "description": Key("text", default=""),
    },
    "truth": {
        "damp": Key("bool"),
        "cold": Key("bool"),
        "vacant": Key("bool", default=False),
        "fault": Key("bool", default=False),
        "onset": Key("choice", default="auto", choices=ONSETS),
    },
    "occupancy": {
        "occupants": Key("range", 0, 8, (1, 3), "people"),
        "away_weekdays": Key("range", 0, 1, 0.4, "probability, out 09:00–17:00"),
    },
    "heating": {
        "setpoint_c": Key("range", 5, 28, (20.0, 22.0), "°C"),
        "periods": Key("periods", 0, 24, ((6.5, 9.0), (16.0, 23.0)), "local hours"),
        "heater_oversize": Key(
            "range",
            0.2,
            4,
            (1.3, 1.8),
            "× the room's design heat loss H·24 K (21 °C in, −3 °C out)",
        ),
        "bedroom_offset_c": Key("range", -6, 2, -0.5, "°C"),
    },
    "building": {
        "heat_loss_w_m3k": Key("range", 0.2, 5, (0.7, 1.1), "W/(m³·K) of room volume"),
        "tau_h": Key("range", 2, 200, (30, 60), "h"),
        "f_rsi": Key("range", 0.2, 0.98, (0.75, 0.85), "-"),
        "neighbour_gain_w_m3": Key("range", 0, 30, (4.0, 7.5), "W per m³ of room volume"),
    },
    "ventilation": {
        "air_changes_h": Key("range", 0.05, 5, (0.5, 0.8), "1/h"),
        "air_changes_per_person_h": Key("range", 0, 2, 0.15, "1/h added per occupant"),
        "extractor_fan": Key("bool", default=True),
        "fan_air_changes_h": Key("range", 0, 20, 3.0, "1/h added while running"),
    },
    "moisture": {
        "breathing_g_h": Key("range", 0, 200, (40, 55), "g/h per person at home"),
        "background_g_h": Key("range", 0, 500, (20, 40), "g/h per room while anyone is home"),
        "showers_per_person_day": Key("range", 0, 4, (0.6, 1.0), "1/day"),
        "shower_g": Key("range", 0, 1000, (200, 300), "g per shower"),
        "cooking_g_day": Key("range", 0, 5000, (600, 1200), "g/day"),
        "drying_loads_week": Key("range", 0, 14, (0, 1), "loads/week dried indoors"),
        "drying_g_load": Key("range", 0, 5000, (1200, 1800), "g per load"),
    },
    "event": {
        "kind": Key("choice", default="none", choices=EVENT_KINDS),
        "start_day": Key("range", 0, 365, (3, 6), "days after the start"),
        "days": Key("range", 0, 365, (4, 7), "days; 0 = until the end"),
        "leak_g_h": Key("range", 0, 2000, (100, 200), "g/h"),
    },
    "sensor": {
        "fault": Key("choice", default="none", choices=SENSOR_FAULTS),
        "fault_start_day": Key("range", 0, 365, (2, 6), "days after the start"),
        "drift_rh_pct_day": Key("range", -20, 20, (2, 4), "%/day"),
        "drift_c_day": Key("range", -5, 5, (0.2, 0.5), "°C/day"),
        "dropout_fraction": Key("range", 0, 1, (0.2, 0.5), "share of samples lost"),
        "offline_start_day": Key("range", 0, 365, 0.0, "days after the start"),
        "offline_days": Key("range", 0, 365, 0.0, "days; 0 = never offline"),
    },
}

Range = tuple[float, float]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``values[section][key]`` is a ``(lo, hi)`` range for
    numeric keys, else the bool, choice string or list of periods."""

    name: str
    description: str
    damp: bool
    cold: bool
    vacant: bool
    fault: bool
    onset: str
    values: dict[str, dict[str, Any]] = field(repr=False)
    source: str = ""

    def range(self, section: str, key: str) -> Range:
        """The ``(lo, hi)`` range of a numeric key."""
        value: Range = self.values[section][key]
        return value

    def get(self, section: str, key: str) -> Any:
        """Any key's validated value."""
        return self.values[section][key]


def _fail(source: str, where: str, message: str) -> FlatsimError:
    return FlatsimError(f"{source}: {where}: {message}")


def _where(section: str, key: str) -> str:
    return f"[{section}] {key}" if section else key


def _number(source: str, where: str, value: Any, rule: Key) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(source, where, f"{value!r} is not a number")
    if not rule.lo <= value <= rule.hi:
        raise _fail(
            source,
            where,
            f"{value!r} is outside the allowed range {rule.lo:g} to {rule.hi:g} "
            f"{rule.unit}".rstrip(),
        )
    return float(value)


def _check(source: str, section: str, key: str, value: Any, rule: Key) -> Any:
    where = _where(section, key)
    if rule.kind == "text":
        if not isinstance(value, str) or (key == "name" and not value.strip()):
            raise _fail(source, where, f"{value!r} must be a non-empty string")
        return value
    if rule.kind == "bool":
        if not isinstance(value, bool):
            raise _fail(source, where, f"{value!r} must be true or false")
        return value
    if rule.kind == "choice":
        if value not in rule.choices:
            raise _fail(source, where, f"{value!r} must be one of {', '.join(rule.choices)}")
        return value
    if rule.kind == "periods":
        if not isinstance(value, list):
            raise _fail(source, where, "must be a list of [start_hour, end_hour] pairs")
        periods = []
        for item in value:
            if not isinstance(item, list) or len(item) != 2:
                raise _fail(source, where, f"{item!r} must be a [start_hour, end_hour] pair")
            lo = _number(source, where, item[0], rule)
            hi = _number(source, where, item[1], rule)
            if hi <= lo:
                raise _fail(source, where, f"{item!r}: the end hour must be after the start")
            periods.append((lo, hi))
        return tuple(periods)
    # numeric range
    if isinstance(value, list):
        if len(value) != 2:
            raise _fail(source, where, f"{value!r} must be a number or a [lo, hi] pair")
        lo = _number(source, where, value[0], rule)
        hi = _number(source, where, value[1], rule)
        if hi < lo:
            raise _fail(source, where, f"{value!r}: lo must not exceed hi")
        return (lo, hi)
    v = _number(source, where, value, rule)
    return (v, v)


def _as_range(default: Any) -> Any:
    if isinstance(default, tuple) and default and not isinstance(default[0], tuple):
        return (float(default[0]), float(default[1]))
    if isinstance(default, int | float) and not isinstance(default, bool):
        return (float(default), float(default))
    return default


def parse_scenario(data: dict[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario already read from TOML; errors name ``source``, key and range."""
    values: dict[str, dict[str, Any]] = {}
    for section, rules in SCHEMA.items():
        raw = data if section == "" else data.get(section, {})
        if not isinstance(raw, dict):
            raise _fail(source, f"[{section}]", "must be a table")
        allowed = set(rules)
        if section == "":
            allowed |= {s for s in SCHEMA if s}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise _fail(
                source,
                _where(section, unknown[0]),
                f"unknown key; allowed: {', '.join(sorted(allowed))}",
            )
        got: dict[str, Any] = {}
        for key, rule in rules.items():
            if key in raw:
                got[key] = _check(source, section, key, raw[key], rule)
            elif rule.default is None:
                raise _fail(source, _where(section, key), "is required")
            else:
                got[key] = _as_range(rule.default)
        values[section] = got
    truth = values["truth"]
    event = values["event"]["kind"]
    onset = truth["onset"]
    if onset == "event" and event == "none":
        raise _fail(source, "[truth] onset", "'event' needs an [event] kind other than none")
    if onset == "sensor_fault" and values["sensor"]["fault"] == "none":
        raise _fail(source, "[truth] onset", "'sensor_fault' needs a [sensor] fault")
    if onset == "auto":
        if truth["fault"] and values["sensor"]["fault"] != "none":
            onset = "sensor_fault"
        elif truth["damp"] or truth["cold"]:
            onset = "event" if event != "none" else "start"
        else:
            onset = "none"
    return Scenario(
        name=values[""]["name"],
        description=values[""]["description"],
        damp=truth["damp"],
        cold=truth["cold"],
        vacant=truth["vacant"],
        fault=truth["fault"],
        onset=onset,
        values=values,
        source=source,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FlatsimError(f"{p}: cannot read scenario file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FlatsimError(f"{p}: not valid TOML: {exc}") from None
    return parse_scenario(data, source=str(p))


def builtin_scenario_names() -> list[str]:
    """Names of the scenarios shipped in ``simulators/flatsim/scenarios``."""
    folder = resources.files("simulators.flatsim") / "scenarios"
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )


def load_builtin_scenarios() -> dict[str, Scenario]:
    """All shipped scenarios by name."""
    folder = resources.files("simulators.flatsim") / "scenarios"
    out: dict[str, Scenario] = {}
    for name in builtin_scenario_names():
        entry = folder / f"{name}.toml"
        source = f"simulators/flatsim/scenarios/{name}.toml"
        try:
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise FlatsimError(f"{source}: not valid TOML: {exc}") from None
        scenario = parse_scenario(data, source=source)
        if scenario.name != name:
            raise FlatsimError(f"{source}: name: {scenario.name!r} must match the file name")
        out[name] = scenario
    return out
