"""Labelled scenarios: small declarative TOML files that describe how a household lives
in a flat, what is wrong with the building or the sensor, and the ground truth that
risk detection should find.

The bundled ones are in ``simulators/scenarios/*.toml``; an analyst writes a new one
the same way and names it in an estate file. Every key is checked: a wrong type, a value
out of range, a missing required key or an unknown key (with a suggestion) raises
:class:`~simulators.errors.SimulatorError` naming the file, the table and the key.

Schema (units in brackets; keys marked * are required)::

    description = "…"
    [heating]      setpoint_c* [°C, 5–25]; schedule* ["HH-HH", …] local time;
                   off_from_day [day]; off_days [days] (absent: off for good)
    [occupancy]    occupants* [0–8]; cooking_per_day* [0–6]; showers_per_day* [0–6];
                   drying_days_per_week* [0–7] (clothes dried indoors)
    [ventilation]  ach* [1/h, 0.05–5] infiltration plus trickle vents as they are used
                   (sealed vents: ~0.2); extractor* (bool: fans run while cooking and
                   showering); extractor_ach [1/h, default 4]
    [building]     f_rsi* [0.3–0.95]; wall_probe (bool); leak_g_per_h [g/h, into every room];
                   leak_from_day [day]
    [sensor]       stuck_from_day; drift_c_per_day [K/day]; drift_rh_pct_per_day [%/day];
                   dropout [share of samples lost, 0–0.5]; offline_from_day;
                   offline_days; fault_room (room name; default: every room for
                   dropout and offline, the last room for stuck and drift)
    [truth]        damp*, cold* (true, false or "either": not scored);
                   vacant (bool); onset_day [day the condition starts]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, cast

from dampwatch_core.tables import TableError, check_range, unknown_key
from simulators.errors import SimulatorError

__all__ = [
    "GroundTruth",
    "Scenario",
    "bundled_scenarios",
    "load_scenario",
    "load_scenarios",
    "parse_scenario",
]

_SCHEDULE_RE = re.compile(r"^(\d{2})-(\d{2})$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

FaultKind = Literal["stuck", "drift", "dropout", "offline"]


@dataclass(frozen=True)
class GroundTruth:
    """What risk detection should conclude about a flat living this scenario.

    ``damp`` and ``cold`` are ``None`` when the scenario does not decide them (they are
    then not scored); ``onset_day`` is the day, from the start of the simulation, when
    the condition begins (0 when it is there from the start); ``faults`` names the
    sensor faults (``stuck``, ``drift``, ``dropout``, ``offline``).
    """

    damp: bool | None
    cold: bool | None
    vacant: bool = False
    onset_day: float = 0.0
    faults: tuple[FaultKind, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """One scenario file, validated. Units as in the module docstring."""

    name: str
    description: str
    setpoint_c: float
    schedule: tuple[tuple[int, int], ...]
    off_from_day: float | None
    off_days: float | None
    occupants: int
    cooking_per_day: int
    showers_per_day: int
    drying_days_per_week: int
    ach: float
    extractor: bool
    extractor_ach: float
    f_rsi: float
    wall_probe: bool
    leak_g_per_h: float
    leak_from_day: float
    stuck_from_day: float | None
    drift_c_per_day: float
    drift_rh_pct_per_day: float
    dropout: float
    offline_from_day: float | None
    offline_days: float
    fault_room: str | None
    truth: GroundTruth


_Kind = type[float] | type[int] | type[bool] | type[str] | type[list[Any]]

# table -> key -> (type, lo, hi, required)
_SCHEMA: dict[str, dict[str, tuple[_Kind, float | None, float | None, bool]]] = {
    "heating": {
        "setpoint_c": (float, 5, 25, True),
        "schedule": (list, None, None, True),
        "off_from_day": (float, 0, 366, False),
        "off_days": (float, 0, 366, False),
    },
    "occupancy": {
        "occupants": (int, 0, 8, True),
        "cooking_per_day": (int, 0, 6, True),
        "showers_per_day": (int, 0, 6, True),
        "drying_days_per_week": (int, 0, 7, True),
    },
    "ventilation": {
        "ach": (float, 0.05, 5, True),
        "extractor": (bool, None, None, True),
        "extractor_ach": (float, 0, 20, False),
    },
    "building": {
        "f_rsi": (float, 0.3, 0.95, True),
        "wall_probe": (bool, None, None, False),
        "leak_g_per_h": (float, 0, 500, False),
        "leak_from_day": (float, 0, 366, False),
    },
    "sensor": {
        "stuck_from_day": (float, 0, 366, False),
        "drift_c_per_day": (float, -2, 2, False),
        "drift_rh_pct_per_day": (float, -5, 5, False),
        "dropout": (float, 0, 0.5, False),
        "offline_from_day": (float, 0, 366, False),
        "offline_days": (float, 0, 60, False),
        "fault_room": (str, None, None, False),
    },
    "truth": {
        "damp": (str, None, None, True),  # checked by hand: bool or "either"
        "cold": (str, None, None, True),
        "vacant": (bool, None, None, False),
        "onset_day": (float, 0, 366, False),
    },
}
_TOP_LEVEL = {"description", *_SCHEMA}


def _unknown(source: str, where: str, key: str, known: Iterable[str]) -> SimulatorError:
    return SimulatorError(f"{source}: {where}{unknown_key(key, known)}")


def _value(section: dict[str, Any], source: str, table: str, key: str, default: Any = None) -> Any:
    kind, lo, hi, required = _SCHEMA[table][key]
    if key not in section:
        if required:
            raise SimulatorError(f"{source}: [{table}] {key} is required")
        return default
    value: Any = section[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise SimulatorError(f"{source}: [{table}] {key} must be {kind.__name__}, not {value!r}")
    if lo is not None and hi is not None:
        try:
            check_range(key, cast(float, value), lo, hi)
        except TableError as exc:
            raise SimulatorError(f"{source}: [{table}] {exc}") from None
    return value


def _truth_flag(section: dict[str, Any], source: str, key: str) -> bool | None:
    value = section.get(key)
    if isinstance(value, bool):
        return value
    if value == "either":
        return None
    raise SimulatorError(f'{source}: [truth] {key} (true, false or "either") is required')


def parse_scenario(name: str, text: str, source: str) -> Scenario:
    """Validate the TOML ``text`` of scenario ``name``; ``source`` names it in errors."""
    if not _NAME_RE.match(name):
        raise SimulatorError(
            f"{source}: scenario name {name!r} must be lowercase letters, digits and '_'"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SimulatorError(f"{source}: not valid TOML: {exc}") from None
    for key in data:
        if key not in _TOP_LEVEL:
            raise _unknown(source, "", key, _TOP_LEVEL)
    sections: dict[str, dict[str, Any]] = {}
    for table, keys in _SCHEMA.items():
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise SimulatorError(f"{source}: [{table}] must be a table")
        for key in section:
            if key not in keys:
                raise _unknown(source, f"[{table}] ", key, keys)
        sections[table] = section
    heating, occupancy, ventilation = (
        sections["heating"],
        sections["occupancy"],
        sections["ventilation"],
    )
    building, sensor, truth = sections["building"], sections["sensor"], sections["truth"]

    schedule = []
    for window in _value(heating, source, "heating", "schedule"):
        m = _SCHEDULE_RE.match(str(window))
        if not m or not 0 <= int(m[1]) < int(m[2]) <= 24:
            raise SimulatorError(
                f"{source}: [heating] schedule entry {window!r} must be like '06-09' "
                "(start hour before end hour, 00–24, local time)"
            )
        schedule.append((int(m[1]), int(m[2])))

    stuck = _value(sensor, source, "sensor", "stuck_from_day")
    drift_c = _value(sensor, source, "sensor", "drift_c_per_day", 0.0)
    drift_rh = _value(sensor, source, "sensor", "drift_rh_pct_per_day", 0.0)
    dropout = _value(sensor, source, "sensor", "dropout", 0.0)
    offline_from = _value(sensor, source, "sensor", "offline_from_day")
    offline_days = _value(sensor, source, "sensor", "offline_days", 0.0)
    if (offline_from is None) != (offline_days == 0.0):
        raise SimulatorError(f"{source}: [sensor] offline_from_day and offline_days go together")
    faults: list[FaultKind] = []
    if stuck is not None:
        faults.append("stuck")
    if drift_c or drift_rh:
        faults.append("drift")
    if dropout:
        faults.append("dropout")
    if offline_from is not None:
        faults.append("offline")

    return Scenario(
        name=name,
        description=str(data.get("description", name)),
        setpoint_c=_value(heating, source, "heating", "setpoint_c"),
        schedule=tuple(schedule),
        off_from_day=_value(heating, source, "heating", "off_from_day"),
        off_days=_value(heating, source, "heating", "off_days"),
        occupants=_value(occupancy, source, "occupancy", "occupants"),
        cooking_per_day=_value(occupancy, source, "occupancy", "cooking_per_day"),
        showers_per_day=_value(occupancy, source, "occupancy", "showers_per_day"),
        drying_days_per_week=_value(occupancy, source, "occupancy", "drying_days_per_week"),
        ach=_value(ventilation, source, "ventilation", "ach"),
        extractor=_value(ventilation, source, "ventilation", "extractor"),
        extractor_ach=_value(ventilation, source, "ventilation", "extractor_ach", 4.0),
        f_rsi=_value(building, source, "building", "f_rsi"),
        wall_probe=_value(building, source, "building", "wall_probe", False),
        leak_g_per_h=_value(building, source, "building", "leak_g_per_h", 0.0),
        leak_from_day=_value(building, source, "building", "leak_from_day", 0.0),
        stuck_from_day=stuck,
        drift_c_per_day=drift_c,
        drift_rh_pct_per_day=drift_rh,
        dropout=dropout,
        offline_from_day=offline_from,
        offline_days=offline_days,
        fault_room=_value(sensor, source, "sensor", "fault_room"),
        truth=GroundTruth(
            damp=_truth_flag(truth, source, "damp"),
            cold=_truth_flag(truth, source, "cold"),
            vacant=_value(truth, source, "truth", "vacant", False),
            onset_day=_value(truth, source, "truth", "onset_day", 0.0),
            faults=tuple(faults),
        ),
    )


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; its name is the file's stem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SimulatorError(f"cannot read scenario {path}: {exc.strerror}") from None
    return parse_scenario(path.stem, text, str(path))


def bundled_scenarios() -> dict[str, Scenario]:
    """The scenarios shipped with DampWatch (``simulators/scenarios``), by name."""
    out: dict[str, Scenario] = {}
    for entry in sorted((files("simulators") / "scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            name = entry.name.removesuffix(".toml")
            out[name] = parse_scenario(
                name, entry.read_text(encoding="utf-8"), f"scenarios/{entry.name}"
            )
    return out


def load_scenarios(paths: Iterable[Path] = ()) -> dict[str, Scenario]:
    """The bundled scenarios plus those in ``paths`` (which may replace a bundled one
    of the same name)."""
    out = bundled_scenarios()
    for path in paths:
        scenario = load_scenario(path)
        out[scenario.name] = scenario
    return out
