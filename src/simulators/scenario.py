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
                   off_from_day [day]; off_days [days] (absent: off for good);
                   heated_rooms [room names; default: every room] (prepayment: one)
    [occupancy]    occupants* [0–8]; cooking_per_day* [0–6]; showers_per_day* [0–6];
                   drying_days_per_week* [0–7] (clothes dried indoors);
                   drying_weekends_only (bool: on Saturdays and Sundays only)
    [ventilation]  ach* [1/h, 0.05–5] infiltration plus trickle vents as they are used
                   (sealed vents: ~0.2); extractor* (bool: fans run while cooking and
                   showering); extractor_ach [1/h, default 4]; repaired_from_day [day:
                   ventilation fixed from then]; repaired_ach [1/h]; repaired_extractor
    [building]     f_rsi* [0.3–0.95]; wall_probe (bool); leak_g_per_h [g/h, into every room];
                   leak_from_day [day]
    [sensor]       stuck_from_day; drift_c_per_day [K/day]; drift_rh_pct_per_day [%/day];
                   placement ("radiator": above a radiator; "window_reveal": on a
                   cold reveal) in fault_room;
                   dropout [share of samples lost, 0–0.5]; offline_from_day;
                   offline_days; fault_room (room name; default: every room for
                   dropout and offline, the last room for stuck and drift)
    [truth]        damp*, cold* (true, false or "either": not scored);
                   vacant (bool); onset_day [day the condition starts];
                   resolved_day [day a repair ends it]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, model_validator

from dampwatch_core.configfile import FileModel, between, invalid, parse_toml, validate
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

FaultKind = Literal["stuck", "drift", "dropout", "offline", "misplaced"]
Placement = Literal["radiator", "window_reveal"]


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
    resolved_day: float | None = None


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
    heated_rooms: tuple[str, ...] | None = None
    drying_weekends_only: bool = False
    repaired_from_day: float | None = None
    repaired_ach: float | None = None
    repaired_extractor: bool = False
    placement: Placement | None = None
    truth: GroundTruth = GroundTruth(damp=None, cold=None)


Day = Annotated[float, between(0, 366)]


def _schedule(value: Any) -> Any:
    """``["06-09", "16-23"]`` -> ``((6, 9), (16, 23))``."""
    if not isinstance(value, list):
        return value  # the type check explains
    windows = []
    for window in value:
        m = _SCHEDULE_RE.match(str(window))
        if not m or not 0 <= int(m[1]) < int(m[2]) <= 24:
            raise invalid(
                f"entry {window!r} must be like '06-09' "
                "(start hour before end hour, 00–24, local time)"
            )
        windows.append((int(m[1]), int(m[2])))
    return tuple(windows)


def _truth_flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value == "either":
        return None
    raise invalid(f'must be true, false or "either", not {value!r}')


#: ``true``, ``false`` or ``"either"`` (``None``: not scored).
TruthFlag = Annotated[
    bool | None, BeforeValidator(_truth_flag), Field(description='true, false or "either"')
]


class _Heating(FileModel):
    setpoint_c: Annotated[float, between(5, 25)]
    schedule: Annotated[tuple[tuple[int, int], ...], BeforeValidator(_schedule)]
    off_from_day: Day | None = None
    off_days: Day | None = None
    heated_rooms: list[str] | None = None


class _Occupancy(FileModel):
    occupants: Annotated[int, between(0, 8)]
    cooking_per_day: Annotated[int, between(0, 6)]
    showers_per_day: Annotated[int, between(0, 6)]
    drying_days_per_week: Annotated[int, between(0, 7)]
    drying_weekends_only: bool = False


class _Ventilation(FileModel):
    ach: Annotated[float, between(0.05, 5)]
    extractor: bool
    extractor_ach: Annotated[float, between(0, 20)] = 4.0
    repaired_from_day: Day | None = None
    repaired_ach: Annotated[float, between(0.05, 5)] | None = None
    repaired_extractor: bool = False

    @model_validator(mode="after")
    def _repair(self) -> Self:
        if (self.repaired_from_day is None) != (self.repaired_ach is None):
            raise invalid("repaired_from_day and repaired_ach go together")
        if self.repaired_ach is not None and self.repaired_ach < self.ach:
            raise invalid("repaired_ach must be at least ach (a repair improves ventilation)")
        return self


class _Building(FileModel):
    f_rsi: Annotated[float, between(0.3, 0.95)]
    wall_probe: bool = False
    leak_g_per_h: Annotated[float, between(0, 500)] = 0.0
    leak_from_day: Day = 0.0


class _Sensor(FileModel):
    stuck_from_day: Day | None = None
    drift_c_per_day: Annotated[float, between(-2, 2)] = 0.0
    drift_rh_pct_per_day: Annotated[float, between(-5, 5)] = 0.0
    dropout: Annotated[float, between(0, 0.5)] = 0.0
    offline_from_day: Day | None = None
    offline_days: Annotated[float, between(0, 60)] = 0.0
    fault_room: str | None = None
    placement: Placement | None = None

    @model_validator(mode="after")
    def _offline_window(self) -> Self:
        if (self.offline_from_day is None) != (self.offline_days == 0.0):
            raise invalid("offline_from_day and offline_days go together")
        return self

    def faults(self) -> tuple[FaultKind, ...]:
        found: list[FaultKind] = []
        if self.stuck_from_day is not None:
            found.append("stuck")
        if self.drift_c_per_day or self.drift_rh_pct_per_day:
            found.append("drift")
        if self.dropout:
            found.append("dropout")
        if self.offline_from_day is not None:
            found.append("offline")
        if self.placement is not None:
            found.append("misplaced")
        return tuple(found)


class _Truth(FileModel):
    damp: TruthFlag
    cold: TruthFlag
    vacant: bool = False
    onset_day: Day = 0.0
    resolved_day: Day | None = None


class _ScenarioFile(FileModel):
    """A scenario file as written."""

    description: str | None = None
    heating: _Heating
    occupancy: _Occupancy
    ventilation: _Ventilation
    building: _Building
    sensor: _Sensor = _Sensor()
    truth: _Truth


def parse_scenario(name: str, text: str, source: str) -> Scenario:
    """Validate the TOML ``text`` of scenario ``name``; ``source`` names it in errors."""
    if not _NAME_RE.match(name):
        raise SimulatorError(
            f"{source}: scenario name {name!r} must be lowercase letters, digits and '_'"
        )
    f = validate(_ScenarioFile, parse_toml(text, source, SimulatorError), source, SimulatorError)
    heating, occupancy, ventilation = f.heating, f.occupancy, f.ventilation
    building, sensor, truth = f.building, f.sensor, f.truth
    return Scenario(
        name=name,
        description=f.description if f.description is not None else name,
        setpoint_c=heating.setpoint_c,
        schedule=heating.schedule,
        off_from_day=heating.off_from_day,
        off_days=heating.off_days,
        occupants=occupancy.occupants,
        cooking_per_day=occupancy.cooking_per_day,
        showers_per_day=occupancy.showers_per_day,
        drying_days_per_week=occupancy.drying_days_per_week,
        ach=ventilation.ach,
        extractor=ventilation.extractor,
        extractor_ach=ventilation.extractor_ach,
        f_rsi=building.f_rsi,
        wall_probe=building.wall_probe,
        leak_g_per_h=building.leak_g_per_h,
        leak_from_day=building.leak_from_day,
        stuck_from_day=sensor.stuck_from_day,
        drift_c_per_day=sensor.drift_c_per_day,
        drift_rh_pct_per_day=sensor.drift_rh_pct_per_day,
        dropout=sensor.dropout,
        offline_from_day=sensor.offline_from_day,
        offline_days=sensor.offline_days,
        fault_room=sensor.fault_room,
        heated_rooms=None if heating.heated_rooms is None else tuple(heating.heated_rooms),
        drying_weekends_only=occupancy.drying_weekends_only,
        repaired_from_day=ventilation.repaired_from_day,
        repaired_ach=ventilation.repaired_ach,
        repaired_extractor=ventilation.repaired_extractor,
        placement=sensor.placement,
        truth=GroundTruth(
            damp=truth.damp,
            cold=truth.cold,
            vacant=truth.vacant,
            onset_day=truth.onset_day,
            faults=sensor.faults(),
            resolved_day=truth.resolved_day,
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
