"""Estate files: what to simulate (blocks, rooms, scenario mix, window, weather), read
from TOML and validated with errors that name the file, the key and what is allowed."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from simulators.flatsim.errors import FlatsimError
from simulators.flatsim.scenario import Scenario, load_builtin_scenarios, load_scenario

__all__ = ["ROOM_TYPES", "BlockSpec", "EstateSpec", "load_estate", "parse_estate"]

#: Room types the model knows (volume, moisture sources, fans); a flat lists some of them.
ROOM_TYPES: Final = ("living_room", "bedroom", "kitchen", "bathroom")
_CODE_RE: Final = re.compile(r"^[A-Z]{1,4}$")
_TOP_KEYS: Final = frozenset(
    {
        "name",
        "seed",
        "days",
        "start",
        "landlord",
        "rooms",
        "probe_fraction",
        "sample_s",
        "weather",
        "blocks",
        "mix",
        "scenario_files",
    }
)
_WEATHER_KEYS: Final = frozenset(
    {"month", "cold_snap", "cold_snap_start_day", "cold_snap_days", "cold_snap_min_c"}
)


@dataclass(frozen=True, slots=True)
class BlockSpec:
    """A tower block: display name, 1–4 capital letter code (flat ids ``CODE-FFUU``),
    number of flats and of residential floors."""

    name: str
    code: str
    flats: int
    floors: int


@dataclass(frozen=True)
class EstateSpec:
    """A validated estate file. ``start`` is Unix seconds or None (window ends now, or at
    ``generate(..., end=)``); ``mix`` maps scenario names to relative weights;
    ``scenarios`` holds every scenario the mix may use (shipped ones plus
    ``scenario_files``)."""

    name: str
    seed: int
    days: float
    blocks: tuple[BlockSpec, ...]
    mix: dict[str, float]
    scenarios: dict[str, Scenario] = field(repr=False)
    rooms: tuple[str, ...] = ("living_room", "bedroom")
    probe_fraction: float = 0.3
    start: int | None = None
    landlord: str = "demo-landlord"
    sample_s: int = 300
    weather_month: int | None = None
    cold_snap: bool | None = None
    cold_snap_start_day: float | None = None
    cold_snap_days: float | None = None
    cold_snap_min_c: float = -6.0
    source: str = "<estate>"

    @property
    def n_flats(self) -> int:
        """Flats over all blocks."""
        return sum(b.flats for b in self.blocks)


def _fail(source: str, key: str, message: str) -> FlatsimError:
    return FlatsimError(f"{source}: {key}: {message}")


def _num(
    source: str, key: str, value: Any, lo: float, hi: float, *, integer: bool = False
) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        kind = "an integer" if integer else "a number"
        raise _fail(source, key, f"{value!r} must be {kind} between {lo:g} and {hi:g}")
    if not lo <= value <= hi:
        raise _fail(source, key, f"{value!r} is outside the allowed range {lo:g} to {hi:g}")
    return float(value)


def _parse_start(source: str, value: Any) -> int:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise _fail(source, "start", f"{value!r} is not an ISO date or date-time") from None
    elif hasattr(value, "isoformat"):  # a TOML local date
        dt = datetime.fromisoformat(value.isoformat())
    else:
        raise _fail(source, "start", f"{value!r} must be an ISO date such as 2026-01-05")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def parse_estate(
    data: dict[str, Any], *, source: str = "<estate>", base_dir: Path | None = None
) -> EstateSpec:
    """Validate an estate already read from TOML."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise _fail(source, unknown[0], f"unknown key; allowed: {', '.join(sorted(_TOP_KEYS))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(source, "name", "is required: a non-empty string")
    if "seed" not in data:
        raise _fail(source, "seed", "is required: an integer 0 to 2**63-1")
    seed = int(_num(source, "seed", data["seed"], 0, 2**63 - 1, integer=True))
    days = _num(source, "days", data.get("days", 14), 1, 366)
    sample_s = int(_num(source, "sample_s", data.get("sample_s", 300), 30, 3600, integer=True))
    if 86400 % sample_s:
        raise _fail(source, "sample_s", f"{sample_s} must divide a day (86400 s) evenly")
    probe = _num(source, "probe_fraction", data.get("probe_fraction", 0.3), 0, 1)
    landlord = data.get("landlord", "demo-landlord")
    if not isinstance(landlord, str) or not landlord:
        raise _fail(source, "landlord", "must be a non-empty string")
    start = _parse_start(source, data["start"]) if "start" in data else None

    rooms_raw = data.get("rooms", ["living_room", "bedroom"])
    if not isinstance(rooms_raw, list) or not rooms_raw:
        raise _fail(source, "rooms", f"must be a non-empty list drawn from {', '.join(ROOM_TYPES)}")
    for room in rooms_raw:
        if room not in ROOM_TYPES:
            raise _fail(source, "rooms", f"{room!r} is not one of {', '.join(ROOM_TYPES)}")
    if len(set(rooms_raw)) != len(rooms_raw):
        raise _fail(source, "rooms", "lists a room twice")

    weather = data.get("weather", {})
    if not isinstance(weather, dict):
        raise _fail(source, "[weather]", "must be a table")
    bad = sorted(set(weather) - _WEATHER_KEYS)
    if bad:
        raise _fail(
            source,
            f"[weather] {bad[0]}",
            f"unknown key; allowed: {', '.join(sorted(_WEATHER_KEYS))}",
        )
    month = weather.get("month")
    if month is not None:
        month = int(_num(source, "[weather] month", month, 1, 12, integer=True))
    cold_snap = weather.get("cold_snap")
    if cold_snap is not None and not isinstance(cold_snap, bool):
        raise _fail(source, "[weather] cold_snap", f"{cold_snap!r} must be true or false")
    snap_start = weather.get("cold_snap_start_day")
    if snap_start is not None:
        snap_start = _num(source, "[weather] cold_snap_start_day", snap_start, 0, days)
    snap_days = weather.get("cold_snap_days")
    if snap_days is not None:
        snap_days = _num(source, "[weather] cold_snap_days", snap_days, 0.5, 30)
    snap_min = _num(
        source, "[weather] cold_snap_min_c", weather.get("cold_snap_min_c", -6.0), -25, 5
    )

    blocks_raw = data.get("blocks")
    if not isinstance(blocks_raw, list) or not blocks_raw:
        raise _fail(source, "[[blocks]]", "at least one block is required (name, code, flats)")
    blocks = []
    codes: set[str] = set()
    for i, b in enumerate(blocks_raw):
        where = f"[[blocks]] #{i + 1}"
        if not isinstance(b, dict):
            raise _fail(source, where, "must be a table")
        extra = sorted(set(b) - {"name", "code", "flats", "floors"})
        if extra:
            raise _fail(
                source, f"{where} {extra[0]}", "unknown key; allowed: code, flats, floors, name"
            )
        bname = b.get("name")
        if not isinstance(bname, str) or not bname.strip():
            raise _fail(source, f"{where} name", "is required: a non-empty string")
        code = b.get("code")
        if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
            raise _fail(source, f"{where} code", f"{code!r} must be 1–4 capital letters, e.g. LC")
        if code in codes:
            raise _fail(source, f"{where} code", f"{code!r} is used by another block")
        codes.add(code)
        flats = int(_num(source, f"{where} flats", b.get("flats"), 1, 9999, integer=True))
        default_floors = max(1, -(-flats // 4))
        floors = int(
            _num(source, f"{where} floors", b.get("floors", default_floors), 1, 99, integer=True)
        )
        if -(-flats // floors) > 99:
            raise _fail(
                source, f"{where} floors", f"{floors} floors for {flats} flats is over 99 a floor"
            )
        blocks.append(BlockSpec(bname, code, flats, floors))

    scenarios = load_builtin_scenarios()
    files = data.get("scenario_files", [])
    if not isinstance(files, list):
        raise _fail(source, "scenario_files", "must be a list of paths to scenario TOML files")
    for f in files:
        if not isinstance(f, str):
            raise _fail(source, "scenario_files", f"{f!r} must be a path string")
        path = Path(f)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        extra_scenario = load_scenario(path)
        scenarios[extra_scenario.name] = extra_scenario

    mix_raw = data.get("mix", {"healthy": 1})
    if not isinstance(mix_raw, dict) or not mix_raw:
        raise _fail(source, "[mix]", "must map scenario names to weights")
    mix: dict[str, float] = {}
    for key, weight in mix_raw.items():
        if key not in scenarios:
            raise _fail(
                source, f"[mix] {key}", f"unknown scenario; known: {', '.join(sorted(scenarios))}"
            )
        mix[key] = _num(source, f"[mix] {key}", weight, 0, 1e9)
    if sum(mix.values()) <= 0:
        raise _fail(source, "[mix]", "the weights must not all be zero")

    return EstateSpec(
        name=name,
        seed=seed,
        days=days,
        blocks=tuple(blocks),
        mix=mix,
        scenarios=scenarios,
        rooms=tuple(rooms_raw),
        probe_fraction=probe,
        start=start,
        landlord=landlord,
        sample_s=sample_s,
        weather_month=month,
        cold_snap=cold_snap,
        cold_snap_start_day=snap_start,
        cold_snap_days=snap_days,
        cold_snap_min_c=snap_min,
        source=source,
    )


def load_estate(path: str | Path) -> EstateSpec:
    """Read and validate an estate TOML file; scenario files are relative to it."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FlatsimError(f"{p}: cannot read estate file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FlatsimError(f"{p}: not valid TOML: {exc}") from None
    return parse_estate(data, source=str(p), base_dir=p.parent)
