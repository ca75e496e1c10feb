"""Estates: blocks of flats with a mix of scenarios, their devices and tenants, and the
readings those devices would take, deterministic from a seed.

Estate file (TOML)::

    name = "Demo estate"
    seed = 42
    days = 14
    [[blocks]]
    name = "Lindsey Court"
    code = "LC"
    flats = 60
    [mix]          # weights; every scenario with a weight appears at least once
    healthy = 70
    poor_ventilation = 6
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from simulators.errors import SimulatorError
from simulators.model.flat import STEP_S, RoomParams, simulate_rooms
from simulators.model.scenario import Scenario, bundled_scenarios
from simulators.model.weather import ColdSnap, hourly_weather

__all__ = ["DeviceData", "Estate", "EstateSpec", "FlatData", "Tenant", "generate", "load_estate"]

ROOMS = (("living_room", 40.0, 1500.0), ("bedroom", 28.0, 1000.0))
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class BlockSpec:
    name: str
    code: str
    flats: int


@dataclass(frozen=True)
class EstateSpec:
    name: str
    seed: int
    days: int
    blocks: tuple[BlockSpec, ...]
    mix: dict[str, float]
    landlord: str = "demo-council"


@dataclass
class Tenant:
    flat_id: str
    phone: str  # Ofcom's drama range: never a real number
    sms_consent: bool


@dataclass
class FlatData:
    flat_id: str
    block: str
    address: str
    floor: int
    scenario: str
    truth: dict[str, Any]
    onset_ts: int


@dataclass
class DeviceData:
    device_id: str
    flat_id: str
    room: str
    has_probe: bool
    ts: NDArray[np.int64]
    temp_c: NDArray[np.float64]
    rh_pct: NDArray[np.float64]
    surface_c: NDArray[np.float64] | None
    offline: tuple[int, int] | None = None  # readings taken then are uploaded at the end


@dataclass
class Estate:
    spec: EstateSpec
    start: int
    end: int
    flats: list[FlatData] = field(default_factory=list)
    devices: list[DeviceData] = field(default_factory=list)
    tenants: list[Tenant] = field(default_factory=list)
    outdoor_ts: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    outdoor_c: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    outdoor_rh: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def readings_count(self) -> int:
        return int(sum(np.isfinite(d.temp_c).sum() for d in self.devices))


def load_estate(path: Path) -> EstateSpec:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise SimulatorError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SimulatorError(f"{path}: {exc}") from None
    return parse_estate(data, str(path))


def parse_estate(data: dict[str, Any], source: str) -> EstateSpec:
    blocks = []
    for i, b in enumerate(data.get("blocks", [])):
        try:
            blocks.append(BlockSpec(str(b["name"]), str(b["code"]), int(b["flats"])))
        except (KeyError, TypeError, ValueError):
            raise SimulatorError(f"{source}: blocks[{i}] needs name, code and flats") from None
        if not 1 <= blocks[-1].flats <= 10_000:
            raise SimulatorError(f"{source}: blocks[{i}].flats must be 1–10000")
    if not blocks:
        raise SimulatorError(f"{source}: at least one [[blocks]] is required")
    mix = data.get("mix", {"healthy": 1})
    known = bundled_scenarios()
    for name, weight in mix.items():
        if name not in known:
            raise SimulatorError(
                f"{source}: [mix] {name!r} is not a scenario ({', '.join(sorted(known))})"
            )
        if not isinstance(weight, int | float) or weight < 0:
            raise SimulatorError(f"{source}: [mix] {name} must be a weight ≥ 0")
    days = data.get("days", 14)
    if not isinstance(days, int) or not 1 <= days <= 120:
        raise SimulatorError(f"{source}: days must be a whole number 1–120")
    return EstateSpec(
        name=str(data.get("name", "estate")),
        seed=int(data.get("seed", 1)),
        days=days,
        blocks=tuple(blocks),
        mix={k: float(v) for k, v in mix.items()},
        landlord=str(data.get("landlord", "demo-council")),
    )


def _allocate(mix: dict[str, float], n: int, rng: np.random.Generator) -> list[str]:
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


def _local_hours(ts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Hour of day in Europe/London for 5-minute steps (offset looked up hourly)."""
    offsets = []
    for t in ts[::12]:
        local = datetime.fromtimestamp(int(t), UTC).astimezone(LONDON)
        offset = local.utcoffset()
        offsets.append(int(offset.total_seconds()) if offset is not None else 0)
    return np.asarray(((ts + np.repeat(np.array(offsets), 12)[: ts.size]) // 3600) % 24)


def _pulses(
    rng: np.random.Generator,
    days: int,
    steps: int,
    per_day: int,
    centres: tuple[float, ...],
    spread_h: float,
    length_steps: int,
    day0_hour_offset: float,
) -> NDArray[np.float64]:
    """0/1 activity of ``per_day`` events a day around local ``centres`` (hours)."""
    out = np.zeros(steps)
    for d in range(days + 1):
        for e in range(per_day):
            centre = centres[e % len(centres)] + rng.normal(0, spread_h)
            start = int(((d * 24 + centre - day0_hour_offset) * 3600) // STEP_S)
            if 0 <= start < steps:
                out[start : start + length_steps] = 1.0
    return out


def generate(spec: EstateSpec, *, end: int | None = None) -> Estate:
    """Simulate the estate for ``spec.days`` days up to ``end`` (default: now)."""
    rng = np.random.default_rng(spec.seed)
    scenarios = bundled_scenarios()
    end = (int(datetime.now(UTC).timestamp()) if end is None else end) // STEP_S * STEP_S
    start = end - spec.days * 86400
    steps = spec.days * 86400 // STEP_S
    ts = start + STEP_S * np.arange(steps, dtype=np.int64)
    local_hour = _local_hours(ts)
    hours = spec.days * 24 + 2
    wx_t, wx_rh = hourly_weather(
        start // 3600 * 3600,
        hours,
        spec.seed,
        ColdSnap(start_day=spec.days // 2, days=3, depth_c=7.0),
    )
    wx_ts = start // 3600 * 3600 + 3600 * np.arange(hours)
    out_t = np.interp(ts, wx_ts, wx_t)
    out_rh = np.interp(ts, wx_ts, wx_rh)
    estate = Estate(spec, start, end, outdoor_ts=ts, outdoor_c=out_t, outdoor_rh=out_rh)

    n_flats = sum(b.flats for b in spec.blocks)
    assigned = _allocate(spec.mix, n_flats, rng)
    day0_offset = float(local_hour[0]) + (start % 3600) / 3600
    rooms: list[tuple[FlatData, Scenario, str, float, float]] = []
    k = 0
    for block in spec.blocks:
        for i in range(block.flats):
            floor = 1 + i // 4
            flat_id = f"{block.code}-{floor:02d}{i % 4 + 1:02d}"
            sc = scenarios[assigned[k]]
            k += 1
            onset_day = float(sc.truth.get("onset_day", 0))
            flat = FlatData(
                flat_id,
                block.name,
                f"Flat {floor}{'ABCD'[i % 4]}, {block.name}",
                floor,
                sc.name,
                dict(sc.truth),
                int(start + onset_day * 86400),
            )
            estate.flats.append(flat)
            estate.tenants.append(
                Tenant(
                    flat_id,
                    f"07700 900{rng.integers(0, 1000):03d}",
                    bool(rng.random() < 0.8) and not sc.truth.get("vacant", False),
                )
            )
            for room, volume, heater in ROOMS:
                rooms.append((flat, sc, room, volume, heater))

    n = len(rooms)
    h = rng.uniform(18, 32, n)
    tau_h = rng.uniform(30, 60, n)
    params = RoomParams(
        h_w_per_k=h,
        c_j_per_k=h * tau_h * 3600,
        volume_m3=np.array([r[3] for r in rooms]),
        ach_per_h=np.array([r[1].ach for r in rooms]) * rng.uniform(0.85, 1.15, n),
        f_rsi=np.array([r[1].f_rsi for r in rooms]),
        heater_w=np.array([r[4] for r in rooms]),
        initial_c=np.array([r[1].setpoint_c for r in rooms]) + rng.normal(0, 0.5, n),
    )
    setpoint = np.empty((n, steps))
    allowed = np.zeros((n, steps), dtype=bool)
    gains = np.zeros((n, steps))
    moisture = np.zeros((n, steps))
    boost = np.zeros((n, steps))
    day = (ts - start) / 86400
    home_day = (local_hour < 9) | (local_hour >= 16)
    for j, (_flat, sc, room, _v, _hw) in enumerate(rooms):
        setpoint[j] = sc.setpoint_c + rng.normal(0, 0.4)
        for a, b in sc.schedule:
            allowed[j] |= (local_hour >= a) & (local_hour < b)
        if sc.off_from_day is not None:
            allowed[j] &= day < sc.off_from_day
        occ = sc.occupants
        night = (local_hour >= 22) | (local_hour < 7)
        present = (
            np.where(room == "bedroom", night, home_day & ~night) if occ else np.zeros(steps, bool)
        )
        gains[j] = np.where(present, 80.0 * occ, 0.0) + (
            50.0 if occ and room == "living_room" else 0.0
        )
        # breathing and perspiration: about 50 g/h a person present (BS 5250)
        moisture[j] = np.where(present, 50.0 * occ, 0.0) / 3600
        if room == "living_room":
            cook = _pulses(
                rng, spec.days, steps, sc.cooking_per_day, (8.0, 18.5, 13.0), 0.7, 6, day0_offset
            )
            moisture[j] += cook * 500.0 / 1800  # ~500 g over half an hour
            if sc.drying_days_per_week:
                for d in range(spec.days):
                    if rng.random() < sc.drying_days_per_week / 7:
                        s0 = int((d * 86400 + 10 * 3600) // STEP_S)
                        moisture[j, s0 : s0 + 120] += 1800.0 / (120 * STEP_S)  # 1.8 kg over 10 h
            events = cook
        else:
            shower = _pulses(
                rng, spec.days, steps, sc.showers_per_day, (7.0, 21.5, 19.0), 0.6, 3, day0_offset
            )
            moisture[j] += shower * 250.0 / 900  # the share of a shower that reaches the bedroom
            events = shower
        if sc.extractor:
            boost[j] = events * 4.0
        if sc.leak_g_per_h:
            moisture[j] += np.where(day >= sc.leak_from_day, sc.leak_g_per_h / 3600, 0.0)
    temp, rh, surface = simulate_rooms(
        params, out_t, out_rh, setpoint, allowed, gains, moisture, boost
    )

    for j, (flat, sc, room, _v, _hw) in enumerate(rooms):
        t = temp[j] + rng.normal(0, 0.03, steps)
        r = np.clip(rh[j] + rng.normal(0, 0.4, steps), 0, 100)
        if sc.drift_c_per_day:
            t = t + sc.drift_c_per_day * day
        if sc.stuck_from_day is not None and room == "bedroom":
            k0 = int(sc.stuck_from_day * 86400 // STEP_S)
            if k0 < steps:
                t[k0:] = t[k0]
                r[k0:] = r[k0]
        if sc.dropout:
            lost = rng.random(steps) < sc.dropout
            t = np.where(lost, np.nan, t)
            r = np.where(lost, np.nan, r)
        offline = None
        if sc.offline_from_day is not None:
            offline = (
                int(start + sc.offline_from_day * 86400),
                int(start + (sc.offline_from_day + sc.offline_days) * 86400),
            )
        device_id = "esp32-" + "".join(f"{b:02x}" for b in rng.integers(0, 256, 6))
        estate.devices.append(
            DeviceData(
                device_id,
                flat.flat_id,
                room,
                sc.wall_probe,
                ts,
                np.round(t, 2),
                np.round(r, 1),
                np.round(surface[j] + rng.normal(0, 0.05, steps), 2) if sc.wall_probe else None,
                offline,
            )
        )
    return estate
