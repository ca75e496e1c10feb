"""Reading an estate file: TOML -> a validated :class:`~simulators.estate.spec.Estate`;
errors name the file, the table and the key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from dampwatch_core.configfile import FileModel, between, invalid, read_toml, validate
from simulators.errors import SimulatorError
from simulators.estate.spec import DEFAULT_END, DEFAULT_ROOMS, BlockSpec, Estate, RoomSpec
from simulators.flat import STEP_S
from simulators.scenario import load_scenarios

__all__ = ["load_estate", "parse_estate"]


def _unix_seconds(value: Any) -> Any:
    """``end``: a date (midnight UTC), a datetime (UTC if naive) or Unix seconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return int(moment.timestamp())
    if isinstance(value, dt.date):
        return int(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp())
    raise invalid(f"must be a date, a datetime or Unix seconds, not {value!r}")


def _span(lo: float, hi: float) -> BeforeValidator:
    """``[low, high]`` within [lo, hi], as a pair of floats."""

    def check(value: Any) -> Any:
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not lo <= value[0] <= value[1] <= hi
        ):
            raise invalid(f"must be [low, high] within {lo:g}–{hi:g}")
        return float(value[0]), float(value[1])

    return BeforeValidator(check)


def _weight(value: float) -> float:
    if value < 0:
        raise invalid(f"must be a weight ≥ 0, not {value!r}")
    return value


class _Scenarios(FileModel):
    files: list[str] = Field(default_factory=list)


class _Weather(FileModel):
    cold_snap_day: Annotated[float, between(0, 120)] | None = None  # None: mid-run
    cold_snap_days: Annotated[float, between(0, 30)] = 3.0
    cold_snap_depth_c: Annotated[float, between(0, 20)] = 7.0


class _Building(FileModel):
    h_w_per_k: Annotated[tuple[float, float], _span(1, 500)] = (18.0, 32.0)
    tau_h: Annotated[tuple[float, float], _span(1, 500)] = (30.0, 60.0)
    neighbour_share: Annotated[float, between(0, 0.95)] = 0.5


class _Tenants(FileModel):
    sms_consent_share: Annotated[float, between(0, 1)] = 0.8
    over_65_share: Annotated[float, between(0, 1)] = 0.2


class _EstateFile(FileModel):
    """The estate file as written."""

    name: str = "estate"
    seed: Annotated[int, between(0, 2**63 - 1)] = 1
    days: Annotated[int, between(1, 120)] = 14
    end: Annotated[int, BeforeValidator(_unix_seconds)] = DEFAULT_END
    landlord: str = "demo-council"
    sample_s: Annotated[int, between(30, 3600)] = STEP_S
    blocks: list[BlockSpec] = Field(default_factory=list)
    rooms: list[RoomSpec] = Field(default_factory=list)
    mix: dict[str, Annotated[float, AfterValidator(_weight)]] = Field(
        default_factory=lambda: {"healthy": 1.0}
    )
    scenarios: _Scenarios = _Scenarios()
    weather: _Weather = _Weather()
    building: _Building = _Building()
    tenants: _Tenants = _Tenants()


def _twice(names: list[str]) -> int | None:
    """The index of the first name that an earlier one repeats."""
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            return i
        seen.add(name)
    return None


def parse_estate(data: Mapping[str, Any], source: str, base_dir: Path | None = None) -> Estate:
    """Validate an estate file's parsed TOML; ``source`` names it in errors and
    ``base_dir`` resolves the paths of its own scenario files."""
    spec = validate(_EstateFile, data, source, SimulatorError)

    def error(message: str) -> SimulatorError:
        return SimulatorError(f"{source}: {message}")

    if 86400 % spec.sample_s:
        raise error(f"sample_s={spec.sample_s} must divide a day (86400 s)")
    if not spec.blocks:
        raise error("at least one [[blocks]] table is required")
    if (i := _twice([b.code for b in spec.blocks])) is not None:
        raise error(f"blocks[{i}] code {spec.blocks[i].code!r} is used by another block")
    if (i := _twice([r.name for r in spec.rooms])) is not None:
        raise error(f"rooms[{i}] room {spec.rooms[i].name!r} is listed twice")

    base = base_dir if base_dir is not None else Path.cwd()
    scenarios = load_scenarios([base / f for f in spec.scenarios.files])
    if not spec.mix:
        raise error("[mix] must be a table of scenario weights")
    for name in spec.mix:
        if name not in scenarios:
            raise error(f"[mix] {name!r} is not a scenario ({', '.join(sorted(scenarios))})")
    if not any(w > 0 for w in spec.mix.values()):
        raise error("[mix] at least one weight must be above 0")

    return Estate(
        name=spec.name,
        seed=spec.seed,
        days=spec.days,
        blocks=tuple(spec.blocks),
        mix=dict(spec.mix),
        scenarios=scenarios,
        landlord=spec.landlord,
        end=spec.end // spec.sample_s * spec.sample_s,
        sample_s=spec.sample_s,
        rooms=tuple(spec.rooms) or DEFAULT_ROOMS,
        cold_snap_day=spec.weather.cold_snap_day,
        cold_snap_days=spec.weather.cold_snap_days,
        cold_snap_depth_c=spec.weather.cold_snap_depth_c,
        h_w_per_k=spec.building.h_w_per_k,
        tau_h=spec.building.tau_h,
        neighbour_share=spec.building.neighbour_share,
        sms_consent_share=spec.tenants.sms_consent_share,
        over_65_share=spec.tenants.over_65_share,
    )


def load_estate(path: Path | str) -> Estate:
    """Read and validate an estate file (errors name the file and the key)."""
    path = Path(path)
    return parse_estate(read_toml(path, "estate", SimulatorError), str(path), base_dir=path.parent)
