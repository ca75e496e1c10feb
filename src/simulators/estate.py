"""Estates: tower blocks of flats living labelled scenarios, their devices and tenants,
and the readings those devices would take, deterministic from a seed.

Estate file (TOML; see ``examples/estates/demo.toml``)::

    name = "Demo estate"
    seed = 42
    days = 14                  # simulated days, 1–120
    end = 2025-12-13           # last simulated instant (date, datetime or Unix s)
    landlord = "demo-council"
    sample_s = 300             # the firmware's sample interval

    [[blocks]]                 # one or more
    name = "Lindsey Court"
    code = "LC"                # flat ids are CODE-FFNN (floor, number on the floor)
    flats = 60
    flats_per_floor = 4

    [[rooms]]                  # optional; default: living_room and bedroom
    name = "living_room"       # one device per room
    kind = "living"            # living | bedroom | kitchen | bathroom
    volume_m3 = 40
    heater_w = 1500
    probe = false              # a wall-surface probe on every device in this room

    [mix]                      # scenario weights; each weighted scenario appears
    healthy = 70               # at least once
    poor_ventilation = 6

    [scenarios]                # the analyst's own scenario files (relative paths)
    files = ["scenarios/my_case.toml"]

    [weather]                  # the Leeds cold snap (days = 0: none)
    cold_snap_day = 7
    cold_snap_days = 3
    cold_snap_depth_c = 7.0

    [building]                 # ranges drawn per room, and the party-wall share
    h_w_per_k = [18, 32]
    tau_h = [30, 60]
    neighbour_share = 0.5

    [tenants]
    sms_consent_share = 0.8
    over_65_share = 0.2

Every flat, room and device draws from its own random stream, seeded by the estate
seed and the flat's position, so a flat's readings do not depend on how the estate is
split into chunks for generation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from simulators.errors import SimulatorError
from simulators.flat import STEP_S, RoomDrivers, RoomParams, simulate_rooms
from simulators.scenario import GroundTruth, Scenario, load_scenarios
from simulators.weather import ColdSnap, weather_at

__all__ = [
    "DEFAULT_END",
    "DEFAULT_ROOMS",
    "BlockSpec",
    "DeviceData",
    "Estate",
    "EstateData",
    "FlatData",
    "RoomSpec",
    "Tenant",
    "load_estate",
    "parse_estate",
]

#: 2025-12-13 00:00 UTC: a default end in winter, so runs are reproducible.
DEFAULT_END = 1765584000
LONDON = ZoneInfo("Europe/London")
RoomKind = Literal["living", "bedroom", "kitchen", "bathroom"]
_KINDS: tuple[RoomKind, ...] = ("living", "bedroom", "kitchen", "bathroom")
_CODE_RE = re.compile(r"^[A-Z0-9]{1,8}$")
_ROOM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# Moisture and heat sources, order of magnitude as tabulated in BS 5250:2021.
BREATHING_G_PER_H = 50.0  # a person at home, breathing and perspiring
PERSON_W = 80.0  # sensible heat of a person at rest
APPLIANCES_W = 50.0  # fridge, TV, lights in the main room of an occupied flat
COOKING_G = 500.0  # one meal, over half an hour
SHOWER_G_BATHROOM = 600.0  # one shower, over a quarter of an hour
SHOWER_G_ELSEWHERE = 250.0  # the share that reaches a bedroom when no bathroom is modelled
DRYING_G = 1800.0  # one load of washing dried on an airer, over ten hours


@dataclass(frozen=True)
class RoomSpec:
    """A room every flat has, with one device in it (volume [m³], heater [W])."""

    name: str
    kind: RoomKind
    volume_m3: float
    heater_w: float
    probe: bool = False


DEFAULT_ROOMS = (
    RoomSpec("living_room", "living", 40.0, 1500.0),
    RoomSpec("bedroom", "bedroom", 28.0, 1000.0),
)


@dataclass(frozen=True)
class BlockSpec:
    """A tower block: ``flats`` flats, ``flats_per_floor`` to a floor from floor 1."""

    name: str
    code: str
    flats: int
    flats_per_floor: int = 4


@dataclass(frozen=True)
class Tenant:
    """The household of an occupied flat. ``phone`` is from Ofcom's drama range
    (07700 900000–900999), never a real number."""

    flat_id: str
    phone: str
    sms_consent: bool
    over_65: bool


@dataclass(frozen=True)
class FlatData:
    """A flat, its scenario and its ground truth.

    ``onset_ts`` is when the scenario's condition begins [Unix s] (the start of the
    simulation when it is there from the start); ``heating_off`` and ``offline`` are
    ``(from, to)`` Unix-second windows, or ``None``.
    """

    flat_id: str
    block: str
    block_code: str
    address: str
    floor: int
    scenario: str
    truth: GroundTruth
    onset_ts: int
    rooms: tuple[str, ...]
    heating_off: tuple[int, int] | None = None
    offline: tuple[int, int] | None = None


@dataclass
class DeviceData:
    """One device's readings, sampled every ``sample_s`` seconds.

    ``temp_c`` [°C, 0.01], ``rh_pct`` [%, 0.1] and ``surface_c`` [°C, 0.01; ``None``
    without a probe] are NaN where a sample was lost. Readings inside ``offline``
    (``(from, to)`` Unix s) were taken but only uploaded when the device came back.
    ``f_rsi`` and ``tau_h`` are the room's true temperature factor and time constant.
    """

    device_id: str
    flat_id: str
    room: str
    has_probe: bool
    ts: NDArray[np.int64]
    temp_c: NDArray[np.float64]
    rh_pct: NDArray[np.float64]
    surface_c: NDArray[np.float64] | None
    offline: tuple[int, int] | None = None
    f_rsi: float = 0.75
    tau_h: float = 40.0


@dataclass
class EstateData:
    """A generated estate. The readings of all devices are also available as matrices
    ``temp_c``, ``rh_pct`` and ``surface_c`` of shape ``(devices, samples)`` (NaN where
    lost, or where a device has no probe); ``devices[i]`` holds views of row ``i``."""

    spec: Estate
    seed: int
    start: int
    end: int
    sample_s: int
    ts: NDArray[np.int64]
    temp_c: NDArray[np.float64]
    rh_pct: NDArray[np.float64]
    surface_c: NDArray[np.float64]
    outdoor_c: NDArray[np.float64]
    outdoor_rh: NDArray[np.float64]
    flats: list[FlatData] = field(default_factory=list)
    devices: list[DeviceData] = field(default_factory=list)
    tenants: list[Tenant] = field(default_factory=list)

    @property
    def outdoor_ts(self) -> NDArray[np.int64]:
        """Sample times of the outdoor series (the same as ``ts``)."""
        return self.ts

    def readings_count(self) -> int:
        """Readings actually taken (lost samples excluded)."""
        return int(np.count_nonzero(np.isfinite(self.temp_c)))

    def flat(self, flat_id: str) -> FlatData:
        """The flat with this id (``KeyError`` otherwise)."""
        for f in self.flats:
            if f.flat_id == flat_id:
                return f
        raise KeyError(flat_id)

    def devices_of(self, flat_id: str) -> list[DeviceData]:
        """The devices in a flat, in room order."""
        return [d for d in self.devices if d.flat_id == flat_id]

    def ground_truth(self) -> list[dict[str, Any]]:
        """One row per flat: ``flat_id, scenario, damp, cold, vacant, onset_ts, faults``
        (``damp``/``cold`` ``None`` when the scenario does not decide them)."""
        return [
            {
                "flat_id": f.flat_id,
                "scenario": f.scenario,
                "damp": f.truth.damp,
                "cold": f.truth.cold,
                "vacant": f.truth.vacant,
                "onset_ts": f.onset_ts,
                "faults": list(f.truth.faults),
            }
            for f in self.flats
        ]


@dataclass(frozen=True)
class Estate:
    """An estate file, validated. :meth:`generate` simulates it."""

    name: str
    seed: int
    days: int
    blocks: tuple[BlockSpec, ...]
    mix: Mapping[str, float]
    scenarios: Mapping[str, Scenario] = field(repr=False, default_factory=dict)
    landlord: str = "demo-council"
    end: int = DEFAULT_END
    sample_s: int = STEP_S
    rooms: tuple[RoomSpec, ...] = DEFAULT_ROOMS
    cold_snap_day: float | None = None  # None: the middle of the run
    cold_snap_days: float = 3.0
    cold_snap_depth_c: float = 7.0
    h_w_per_k: tuple[float, float] = (18.0, 32.0)
    tau_h: tuple[float, float] = (30.0, 60.0)
    neighbour_share: float = 0.5
    sms_consent_share: float = 0.8
    over_65_share: float = 0.2

    @property
    def flat_count(self) -> int:
        return sum(b.flats for b in self.blocks)

    def cold_snap(self) -> ColdSnap | None:
        if self.cold_snap_days <= 0:
            return None
        day = self.days // 2 if self.cold_snap_day is None else self.cold_snap_day
        return ColdSnap(float(day), self.cold_snap_days, self.cold_snap_depth_c)

    def generate(
        self, seed: int | None = None, *, end: int | None = None, chunk_flats: int = 1000
    ) -> EstateData:
        """Simulate the estate for ``days`` days up to ``end`` (default: the file's).

        ``seed`` overrides the file's seed (held-out runs). ``chunk_flats`` bounds
        memory (flats simulated at once); it does not change the result.
        """
        return _generate(self, self.seed if seed is None else seed, end, chunk_flats)


# ----------------------------------------------------------------------------- parsing


def _err(source: str, where: str, message: str) -> SimulatorError:
    return SimulatorError(f"{source}: {where}{message}")


def _check_keys(source: str, where: str, table: Mapping[str, Any], known: set[str]) -> None:
    import difflib

    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _err(source, where, f"unknown key {key!r}{hint}")


def _number(
    source: str, where: str, table: Mapping[str, Any], key: str, lo: float, hi: float, default: Any
) -> Any:
    if key not in table:
        if default is ...:
            raise _err(source, where, f"{key} is required")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err(source, where, f"{key} must be a number, not {value!r}")
    if not lo <= value <= hi:
        raise _err(source, where, f"{key}={value} is outside {lo:g}–{hi:g}")
    return value


def _integer(
    source: str, where: str, table: Mapping[str, Any], key: str, lo: int, hi: int, default: Any
) -> int:
    value = _number(source, where, table, key, lo, hi, default)
    if not isinstance(value, int):
        raise _err(source, where, f"{key} must be a whole number, not {value!r}")
    return value


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
        if kind not in _KINDS:
            raise _err(source, where, f"kind {kind!r} must be one of {', '.join(_KINDS)}")
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


# -------------------------------------------------------------------------- generation


def _allocate(mix: Mapping[str, float], n: int, rng: np.random.Generator) -> list[str]:
    """Scenario per flat: counts by largest remainder, every weighted scenario at least
    once (when there are enough flats), shuffled."""
    names = [k for k, w in mix.items() if w > 0]
    total = sum(mix[k] for k in names)
    exact = {k: mix[k] / total * n for k in names}
    counts = {k: max(1 if n >= len(names) else 0, int(exact[k])) for k in names}
    while sum(counts.values()) > n:
        k = max(counts, key=lambda k: counts[k])
        counts[k] -= 1
    for k in sorted(names, key=lambda k: exact[k] - int(exact[k]), reverse=True):
        if sum(counts.values()) >= n:
            break
        counts[k] += 1
    out = [k for k in names for _ in range(counts[k])]
    rng.shuffle(out)
    return out


def _local_hours(ts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Fractional hour of day in Europe/London (UTC offset looked up once an hour)."""
    hour_starts = np.arange(int(ts[0]) // 3600 * 3600, int(ts[-1]) + 3600, 3600)
    offsets = np.empty(hour_starts.size, dtype=np.int64)
    for i, t in enumerate(hour_starts):
        offset = dt.datetime.fromtimestamp(int(t), dt.UTC).astimezone(LONDON).utcoffset()
        offsets[i] = int(offset.total_seconds()) if offset is not None else 0
    local = ts + offsets[(ts - hour_starts[0]) // 3600]
    return np.asarray((local % 86400) / 3600.0)


def device_id_for(seed: int, flat_id: str, room: str) -> str:
    """A stable ``esp32-`` + 12 hex id for the device in ``room`` of ``flat_id``."""
    digest = hashlib.sha256(f"{seed}/{flat_id}/{room}".encode()).hexdigest()
    return f"esp32-{digest[:12]}"


@dataclass(frozen=True)
class _Timeline:
    ts: NDArray[np.int64]
    day: NDArray[np.float64]  # days since the start
    local_hour: NDArray[np.float64]
    first_local_hour: float
    sample_s: int
    days: int


def _events(
    rng: np.random.Generator,
    tl: _Timeline,
    per_day: int,
    centres_h: tuple[float, ...],
    spread_h: float,
    duration_s: float,
) -> NDArray[np.float64]:
    """0/1 activity of ``per_day`` events a day around local hours ``centres_h``."""
    steps = tl.ts.size
    out = np.zeros(steps)
    if per_day == 0:
        return out
    centres = np.array([centres_h[e % len(centres_h)] for e in range(per_day)])
    days = np.arange(tl.days + 1)[:, None]
    when_h = days * 24.0 + centres[None, :] + rng.normal(0.0, spread_h, (days.size, per_day))
    first = ((when_h - tl.first_local_hour) * 3600.0 // tl.sample_s).astype(np.int64).ravel()
    length = max(1, round(duration_s / tl.sample_s))
    idx = (first[:, None] + np.arange(length)[None, :]).ravel()
    out[idx[(idx >= 0) & (idx < steps)]] = 1.0
    return out


def _room_drivers(
    sc: Scenario,
    room: RoomSpec,
    rooms: tuple[RoomSpec, ...],
    rng: np.random.Generator,
    tl: _Timeline,
    setpoint_jitter: float,
    out: RoomDrivers,
    j: int,
) -> None:
    """Fill row ``j`` of ``out`` with what drives this room of this scenario."""
    lh, day, step = tl.local_hour, tl.day, tl.sample_s
    kinds = {r.kind for r in rooms}
    out.setpoint_c[j] = sc.setpoint_c + setpoint_jitter
    allowed = np.zeros(lh.size, dtype=bool)
    for a, b in sc.schedule:
        allowed |= (lh >= a) & (lh < b)
    if sc.off_from_day is not None:
        off_to = np.inf if sc.off_days is None else sc.off_from_day + sc.off_days
        allowed &= ~((day >= sc.off_from_day) & (day < off_to))
    out.heating_allowed[j] = allowed

    occ = sc.occupants
    if occ:
        home = (lh < 9) | (lh >= 16)
        night = (lh >= 22) | (lh < 7)
        present = {"living": home & ~night, "bedroom": night}.get(room.kind)
        if present is not None:
            out.gains_w[j] = np.where(present, PERSON_W * occ, 0.0)
            out.moisture_g_per_s[j] = np.where(present, BREATHING_G_PER_H * occ, 0.0) / 3600
        if room.kind in ("living", "kitchen"):
            out.gains_w[j] += APPLIANCES_W
    events = np.zeros(lh.size)
    cooks_here = room.kind == "kitchen" or (room.kind == "living" and "kitchen" not in kinds)
    if cooks_here:
        cook = _events(rng, tl, sc.cooking_per_day, (8.0, 18.5, 13.0), 0.7, 1800)
        out.moisture_g_per_s[j] += cook * COOKING_G / 1800
        events = cook
    if room.kind == "living" and sc.drying_days_per_week:
        drying_days = np.nonzero(rng.random(tl.days) < sc.drying_days_per_week / 7)[0]
        for d in drying_days:
            from_h = d * 24 + 10 - tl.first_local_hour
            first = int(from_h * 3600 // step)
            last = first + int(10 * 3600 // step)
            out.moisture_g_per_s[j, max(first, 0) : max(last, 0)] += DRYING_G / (10 * 3600)
    shower_here = room.kind == "bathroom" or (room.kind == "bedroom" and "bathroom" not in kinds)
    if shower_here:
        shower = _events(rng, tl, sc.showers_per_day, (7.0, 21.5, 19.0), 0.6, 900)
        grams = SHOWER_G_BATHROOM if room.kind == "bathroom" else SHOWER_G_ELSEWHERE
        out.moisture_g_per_s[j] += shower * grams / 900
        events = np.maximum(events, shower)
    if sc.extractor:
        out.ach_boost[j] = events * sc.extractor_ach
    if sc.leak_g_per_h:  # water evaporating into every room of the flat
        out.moisture_g_per_s[j] += np.where(day >= sc.leak_from_day, sc.leak_g_per_h / 3600, 0.0)


def _sensor(
    sc: Scenario,
    room_index: int,
    n_rooms: int,
    room: RoomSpec,
    temp: NDArray[np.float64],
    rh: NDArray[np.float64],
    surface: NDArray[np.float64] | None,
    rng: np.random.Generator,
    tl: _Timeline,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    """What the device reports: calibration offset, noise, faults, rounding."""
    steps = temp.size
    faulty_all = sc.fault_room is None or sc.fault_room == room.name
    faulty_one = sc.fault_room == room.name or (sc.fault_room is None and room_index == n_rooms - 1)
    # SHT4x-class sensor: a small fixed offset per device plus sample noise
    t = temp + rng.normal(0.0, 0.1) + rng.normal(0.0, 0.03, steps)
    r = rh + rng.normal(0.0, 0.7) + rng.normal(0.0, 0.4, steps)
    if faulty_one and (sc.drift_c_per_day or sc.drift_rh_pct_per_day):
        t = t + sc.drift_c_per_day * tl.day
        r = r + sc.drift_rh_pct_per_day * tl.day
    r = np.clip(r, 0.0, 100.0)
    s = None if surface is None else surface + rng.normal(0.0, 0.05, steps)
    if faulty_one and sc.stuck_from_day is not None:
        k0 = int(sc.stuck_from_day * 86400 // tl.sample_s)
        if k0 < steps:
            t[k0:] = t[k0]
            r[k0:] = r[k0]
            if s is not None:
                s[k0:] = s[k0]
    if faulty_all and sc.dropout:
        lost = rng.random(steps) < sc.dropout
        t[lost] = np.nan
        r[lost] = np.nan
        if s is not None:
            s[lost] = np.nan
    t = np.clip(t, -40.0, 85.0)
    surface_out = (
        None if s is None else np.asarray(np.round(np.clip(s, -40.0, 85.0), 2), dtype=np.float64)
    )
    return (
        np.asarray(np.round(t, 2), dtype=np.float64),
        np.asarray(np.round(r, 1), dtype=np.float64),
        surface_out,
    )


def _flat_layout(
    estate: Estate, rng: np.random.Generator
) -> Iterator[tuple[int, BlockSpec, str, str, int, str]]:
    assigned = _allocate(estate.mix, estate.flat_count, rng)
    k = 0
    for block in estate.blocks:
        per_floor = block.flats_per_floor
        for i in range(block.flats):
            floor = 1 + i // per_floor
            number = i % per_floor + 1
            flat_id = f"{block.code}-{floor:02d}{number:02d}"
            letter = chr(ord("A") + number - 1)
            address = f"Flat {floor}{letter}, {block.name}"
            yield k, block, flat_id, address, floor, assigned[k]
            k += 1


def _generate(estate: Estate, seed: int, end: int | None, chunk_flats: int) -> EstateData:
    step = estate.sample_s
    end_ts = (estate.end if end is None else end) // step * step
    start = end_ts - estate.days * 86400
    steps = estate.days * 86400 // step
    ts = start + step * np.arange(steps, dtype=np.int64)
    local_hour = _local_hours(ts)
    tl = _Timeline(ts, (ts - start) / 86400.0, local_hour, float(local_hour[0]), step, estate.days)
    weather = weather_at(ts, seed, estate.cold_snap())
    estate_rng = np.random.default_rng([seed, 0xE57A7E])

    rooms = estate.rooms
    n_rooms = len(rooms)
    layout = list(_flat_layout(estate, estate_rng))
    n_dev = len(layout) * n_rooms
    temp_all = np.empty((n_dev, steps))
    rh_all = np.empty((n_dev, steps))
    surface_all = np.full((n_dev, steps), np.nan)
    data = EstateData(
        spec=estate,
        seed=seed,
        start=start,
        end=end_ts,
        sample_s=step,
        ts=ts,
        temp_c=temp_all,
        rh_pct=rh_all,
        surface_c=surface_all,
        outdoor_c=weather.temp_c,
        outdoor_rh=weather.rh_pct,
    )
    phones = estate_rng.permutation(1000)
    seen_ids: set[str] = set()

    for c0 in range(0, len(layout), max(1, chunk_flats)):
        chunk = layout[c0 : c0 + max(1, chunk_flats)]
        n = len(chunk) * n_rooms
        drivers = RoomDrivers(
            setpoint_c=np.empty((n, steps)),
            heating_allowed=np.zeros((n, steps), dtype=bool),
            gains_w=np.zeros((n, steps)),
            moisture_g_per_s=np.zeros((n, steps)),
            ach_boost=np.zeros((n, steps)),
        )
        h = np.empty(n)
        tau = np.empty(n)
        ach = np.empty(n)
        f_rsi = np.empty(n)
        initial = np.empty(n)
        rngs: list[np.random.Generator] = []
        for ci, (k, _block, _fid, _addr, _floor, name) in enumerate(chunk):
            sc = estate.scenarios[name]
            rng = np.random.default_rng([seed, 0xF1A7, k])
            rngs.append(rng)
            for ri, room in enumerate(rooms):
                j = ci * n_rooms + ri
                h[j] = rng.uniform(*estate.h_w_per_k)
                tau[j] = rng.uniform(*estate.tau_h)
                ach[j] = sc.ach * rng.uniform(0.85, 1.15)
                f_rsi[j] = sc.f_rsi
                initial[j] = sc.setpoint_c + rng.normal(0.0, 0.5)
                _room_drivers(sc, room, rooms, rng, tl, rng.normal(0.0, 0.4), drivers, j)
        params = RoomParams(
            h_w_per_k=h,
            c_j_per_k=h * tau * 3600.0,
            volume_m3=np.tile([r.volume_m3 for r in rooms], len(chunk)).astype(np.float64),
            ach_per_h=ach,
            f_rsi=f_rsi,
            heater_w=np.tile([r.heater_w for r in rooms], len(chunk)).astype(np.float64),
            initial_c=initial,
            neighbour_share=estate.neighbour_share,
        )
        climate = simulate_rooms(params, weather.temp_c, weather.rh_pct, drivers, step_s=step)
        del drivers

        for ci, (k, block, flat_id, address, floor, name) in enumerate(chunk):
            sc = estate.scenarios[name]
            rng = rngs[ci]
            offline = None
            if sc.offline_from_day is not None:
                offline = (
                    int(start + sc.offline_from_day * 86400),
                    int(start + (sc.offline_from_day + sc.offline_days) * 86400),
                )
            heating_off = None
            if sc.off_from_day is not None:
                off_to = (
                    end_ts
                    if sc.off_days is None
                    else start + (sc.off_from_day + sc.off_days) * 86400
                )
                heating_off = (int(start + sc.off_from_day * 86400), int(min(off_to, end_ts)))
            data.flats.append(
                FlatData(
                    flat_id=flat_id,
                    block=block.name,
                    block_code=block.code,
                    address=address,
                    floor=floor,
                    scenario=name,
                    truth=sc.truth,
                    onset_ts=int(start + sc.truth.onset_day * 86400),
                    rooms=tuple(r.name for r in rooms),
                    heating_off=heating_off,
                    offline=offline,
                )
            )
            if not sc.truth.vacant:
                data.tenants.append(
                    Tenant(
                        flat_id=flat_id,
                        phone=f"07700 900{phones[k % 1000]:03d}",
                        sms_consent=bool(rng.random() < estate.sms_consent_share),
                        over_65=bool(rng.random() < estate.over_65_share),
                    )
                )
            for ri, room in enumerate(rooms):
                j = ci * n_rooms + ri
                row = k * n_rooms + ri
                probe = sc.wall_probe or room.probe
                t, r, s = _sensor(
                    sc,
                    ri,
                    n_rooms,
                    room,
                    climate.temp_c[j],
                    climate.rh_pct[j],
                    climate.surface_c[j] if probe else None,
                    rng,
                    tl,
                )
                temp_all[row] = t
                rh_all[row] = r
                if s is not None:
                    surface_all[row] = s
                device_id = device_id_for(seed, flat_id, room.name)
                if device_id in seen_ids:  # 48 random bits: practically never
                    raise SimulatorError(f"device id collision for {flat_id}/{room.name}")
                seen_ids.add(device_id)
                faulty_all = sc.fault_room is None or sc.fault_room == room.name
                data.devices.append(
                    DeviceData(
                        device_id=device_id,
                        flat_id=flat_id,
                        room=room.name,
                        has_probe=probe,
                        ts=ts,
                        temp_c=temp_all[row],
                        rh_pct=rh_all[row],
                        surface_c=surface_all[row] if probe else None,
                        offline=offline if faulty_all else None,
                        f_rsi=float(f_rsi[j]),
                        tau_h=float(tau[j]),
                    )
                )
    return data
