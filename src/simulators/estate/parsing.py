"""Reading an estate file: TOML -> a validated :class:`~simulators.estate.spec.Estate`;
errors name the file, the table and the key."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from dampwatch_core.tables import TableError, check_keys, number
from simulators.errors import SimulatorError
from simulators.estate.spec import (
    DEFAULT_END,
    DEFAULT_ROOMS,
    KINDS,
    BlockSpec,
    Estate,
    RoomSpec,
)
from simulators.flat import STEP_S
from simulators.scenario import load_scenarios

__all__ = ["load_estate", "parse_estate"]

_CODE_RE = re.compile(r"^[A-Z0-9]{1,8}$")
_ROOM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _err(source: str, where: str, message: str) -> SimulatorError:
    return SimulatorError(f"{source}: {where}{message}")


def _check_keys(source: str, where: str, table: Mapping[str, Any], known: set[str]) -> None:
    try:
        check_keys(table, known)
    except TableError as exc:
        raise _err(source, where, str(exc)) from None


def _number(
    source: str,
    where: str,
    table: Mapping[str, Any],
    key: str,
    lo: float,
    hi: float,
    default: Any,
    *,
    whole: bool = False,
) -> Any:
    try:
        return number(table, key, lo, hi, default, whole=whole)
    except TableError as exc:
        raise _err(source, where, str(exc)) from None


#: :func:`_number` of a whole number.
_integer = partial(_number, whole=True)


def _range(
    source: str,
    where: str,
    table: Mapping[str, Any],
    key: str,
    lo: float,
    hi: float,
    default: tuple[float, float],
) -> tuple[float, float]:
    if key not in table:
        return default
    value = table[key]
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not lo <= value[0] <= value[1] <= hi
    ):
        raise _err(source, where, f"{key} must be [low, high] within {lo:g}–{hi:g}")
    return float(value[0]), float(value[1])


def _end(source: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _err(source, "", f"end must be a date, a datetime or Unix seconds, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return int(moment.timestamp())
    if isinstance(value, dt.date):
        return int(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp())
    raise _err(source, "", f"end must be a date, a datetime or Unix seconds, not {value!r}")


_ESTATE_KEYS = {
    "name", "seed", "days", "end", "landlord", "sample_s", "blocks", "rooms", "mix",
    "scenarios", "weather", "building", "tenants",
}  # fmt: skip


def parse_estate(data: Mapping[str, Any], source: str, base_dir: Path | None = None) -> Estate:
    """Validate an estate file's parsed TOML; ``source`` names it in errors and
    ``base_dir`` resolves the paths of its own scenario files."""
    _check_keys(source, "", data, _ESTATE_KEYS)
    seed = _integer(source, "", data, "seed", 0, 2**63 - 1, 1)
    days = _integer(source, "", data, "days", 1, 120, 14)
    sample_s = _integer(source, "", data, "sample_s", 30, 3600, STEP_S)
    if 86400 % sample_s:
        raise _err(source, "", f"sample_s={sample_s} must divide a day (86400 s)")
    end = _end(source, data.get("end", DEFAULT_END)) // sample_s * sample_s

    raw_blocks = data.get("blocks")
    if not isinstance(raw_blocks, list) or not raw_blocks:
        raise _err(source, "", "at least one [[blocks]] table is required")
    blocks: list[BlockSpec] = []
    for i, b in enumerate(raw_blocks):
        where = f"blocks[{i}] "
        if not isinstance(b, dict):
            raise _err(source, where, "must be a table")
        _check_keys(source, where, b, {"name", "code", "flats", "flats_per_floor"})
        if not {"name", "code", "flats"} <= set(b):
            raise _err(source, where, "needs name, code and flats")
        code = b["code"]
        if not isinstance(code, str) or not _CODE_RE.match(code):
            raise _err(source, where, f"code {code!r} must be 1–8 capital letters or digits")
        if code in {x.code for x in blocks}:
            raise _err(source, where, f"code {code!r} is used by another block")
        blocks.append(
            BlockSpec(
                name=str(b["name"]),
                code=code,
                flats=_integer(source, where, b, "flats", 1, 10_000, ...),
                flats_per_floor=_integer(source, where, b, "flats_per_floor", 1, 20, 4),
            )
        )

    rooms: list[RoomSpec] = []
    for i, r in enumerate(data.get("rooms", [])):
        where = f"rooms[{i}] "
        if not isinstance(r, dict):
            raise _err(source, where, "must be a table")
        _check_keys(source, where, r, {"name", "kind", "volume_m3", "heater_w", "probe"})
        name, kind = r.get("name"), r.get("kind")
        if not isinstance(name, str) or not _ROOM_RE.match(name):
            raise _err(source, where, f"name {name!r} must be lowercase letters, digits, '_'")
        if name in {x.name for x in rooms}:
            raise _err(source, where, f"room {name!r} is listed twice")
        if kind not in KINDS:
            raise _err(source, where, f"kind {kind!r} must be one of {', '.join(KINDS)}")
        probe = r.get("probe", False)
        if not isinstance(probe, bool):
            raise _err(source, where, "probe must be true or false")
        rooms.append(
            RoomSpec(
                name=name,
                kind=kind,
                volume_m3=float(_number(source, where, r, "volume_m3", 5, 200, ...)),
                heater_w=float(_number(source, where, r, "heater_w", 0, 5000, ...)),
                probe=probe,
            )
        )

    scenario_table = data.get("scenarios", {})
    if not isinstance(scenario_table, dict):
        raise _err(source, "", "[scenarios] must be a table")
    _check_keys(source, "[scenarios] ", scenario_table, {"files"})
    files = scenario_table.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise _err(source, "[scenarios] ", "files must be a list of paths")
    base = base_dir if base_dir is not None else Path.cwd()
    scenarios = load_scenarios([base / f for f in files])

    mix = data.get("mix", {"healthy": 1})
    if not isinstance(mix, dict) or not mix:
        raise _err(source, "", "[mix] must be a table of scenario weights")
    for name, weight in mix.items():
        if name not in scenarios:
            raise _err(
                source, "[mix] ", f"{name!r} is not a scenario ({', '.join(sorted(scenarios))})"
            )
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise _err(source, "[mix] ", f"{name} must be a weight ≥ 0, not {weight!r}")
    if not any(w > 0 for w in mix.values()):
        raise _err(source, "[mix] ", "at least one weight must be above 0")

    weather = data.get("weather", {})
    building = data.get("building", {})
    tenants = data.get("tenants", {})
    for table_name, table, keys in (
        ("weather", weather, {"cold_snap_day", "cold_snap_days", "cold_snap_depth_c"}),
        ("building", building, {"h_w_per_k", "tau_h", "neighbour_share"}),
        ("tenants", tenants, {"sms_consent_share", "over_65_share"}),
    ):
        if not isinstance(table, dict):
            raise _err(source, "", f"[{table_name}] must be a table")
        _check_keys(source, f"[{table_name}] ", table, keys)
    snap_day = _number(source, "[weather] ", weather, "cold_snap_day", 0, 120, None)
    return Estate(
        name=str(data.get("name", "estate")),
        seed=seed,
        days=days,
        blocks=tuple(blocks),
        mix={k: float(v) for k, v in mix.items()},
        scenarios=scenarios,
        landlord=str(data.get("landlord", "demo-council")),
        end=end,
        sample_s=sample_s,
        rooms=tuple(rooms) or DEFAULT_ROOMS,
        cold_snap_day=None if snap_day is None else float(snap_day),
        cold_snap_days=float(_number(source, "[weather] ", weather, "cold_snap_days", 0, 30, 3)),
        cold_snap_depth_c=float(
            _number(source, "[weather] ", weather, "cold_snap_depth_c", 0, 20, 7)
        ),
        h_w_per_k=_range(source, "[building] ", building, "h_w_per_k", 1, 500, (18.0, 32.0)),
        tau_h=_range(source, "[building] ", building, "tau_h", 1, 500, (30.0, 60.0)),
        neighbour_share=float(
            _number(source, "[building] ", building, "neighbour_share", 0, 0.95, 0.5)
        ),
        sms_consent_share=float(
            _number(source, "[tenants] ", tenants, "sms_consent_share", 0, 1, 0.8)
        ),
        over_65_share=float(_number(source, "[tenants] ", tenants, "over_65_share", 0, 1, 0.2)),
    )


def load_estate(path: Path | str) -> Estate:
    """Read and validate an estate file (errors name the file and the key)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SimulatorError(f"cannot read estate {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SimulatorError(f"{path}: not valid TOML: {exc}") from None
    return parse_estate(data, str(path), base_dir=path.parent)
