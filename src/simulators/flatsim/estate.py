"""Estate generation: blocks of flats living out their scenarios, watched by sensors.

:func:`generate` turns an :class:`~simulators.flatsim.spec.EstateSpec` into an
:class:`Estate`: blocks, flats with ground truth, tenants (test data only), devices with
their reading arrays, and the outdoor series. The same spec and ``end`` give the same
estate, bit for bit: every random draw comes from a generator seeded by the estate seed
and the index of the flat (or device), never from the order of simulation.

Per flat, the scenario's ranges are drawn once; per day, the household's moisture events
(cooking, showers, washing dried indoors) and heating schedule are placed in local time
(Europe/London); the rooms are then stepped by :func:`~simulators.flatsim.model.simulate_rooms`
in chunks (memory stays bounded for large estates) after a two-day spin-up. Finally the
sensor layer adds calibration bias, noise, rounding, probe readings and sensor faults.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from simulators.flatsim.model import (
    HEATING_OFF,
    RoomDrivers,
    RoomParams,
    RoomStates,
    simulate_rooms,
)
from simulators.flatsim.psychro import relative_humidity_pct
from simulators.flatsim.scenario import Scenario
from simulators.flatsim.spec import EstateSpec
from simulators.flatsim.weather import ColdSnap, Outdoor, default_cold_snap, leeds_weather

__all__ = ["Block", "Device", "Estate", "Flat", "RoomPhysics", "Tenant", "Truth", "generate"]

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SPINUP_DAYS: Final = 2
LONDON: Final = ZoneInfo("Europe/London")
#: Air volume range per room type [m³].
ROOM_VOLUME_M3: Final = {
    "living_room": (35.0, 50.0),
    "bedroom": (25.0, 35.0),
    "kitchen": (15.0, 25.0),
    "bathroom": (8.0, 12.0),
}
#: Ofcom's drama range for fictional UK mobile numbers: 07700 900000–900999.
DRAMA_PHONE_PREFIX: Final = "+447700900"
_CHUNK_ROOMS: Final = 512
_SHOWER_S: Final = 600
_FAN_RUN_ON_S: Final = 1800
_PERSON_AWAKE_W: Final = 80.0
_PERSON_ASLEEP_W: Final = 60.0
_APPLIANCES_W: Final = 80.0
_COOKING_W: Final = 800.0
#: UK design temperature difference for sizing heaters: 21 °C inside, −3 °C outside.
_DESIGN_DELTA_K: Final = 24.0


@dataclass(frozen=True, slots=True)
class Truth:
    """Ground truth of a flat for scoring detection.

    ``onset_ts`` is when the labelled condition began (Unix s): the window start for a
    condition present throughout, the event start (heating stops, leak begins), or the
    sensor fault start; None when no condition is labelled. ``event_*`` give the
    scenario's event window, if any.

    Two figures from the simulated physics (true air, not the sensors) let an evaluator
    see where the physics and the declared labels part: ``surface_rh80_days``, days
    whose daily mean RH at the coldest surface reached 80 % in any room, and
    ``share_below_18``, the share of samples with the flat's mean air below 18 °C.
    """

    scenario: str
    damp: bool
    cold: bool
    vacant: bool
    fault: bool
    onset_ts: int | None
    event_start_ts: int | None = None
    event_end_ts: int | None = None
    surface_rh80_days: int = 0
    share_below_18: float = 0.0


@dataclass(frozen=True, slots=True)
class RoomPhysics:
    """The drawn physical parameters of one room (for calibration tests and analysts)."""

    volume_m3: float
    heat_loss_w_k: float
    tau_h: float
    f_rsi: float
    air_changes_h: float
    setpoint_c: float


@dataclass(frozen=True, slots=True)
class Flat:
    """A flat: id ``CODE-FFUU`` (block code, floor, unit), its rooms and ground truth."""

    flat_id: str
    block: str
    floor: int
    address: str
    rooms: tuple[str, ...]
    scenario: str
    truth: Truth
    tenant_id: str | None
    physics: dict[str, RoomPhysics] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Tenant:
    """A fictional tenant: test phone numbers only (Ofcom drama range), no real data."""

    tenant_id: str
    flat_id: str
    display_name: str
    phone: str
    consent_monitoring: bool
    consent_sms: bool
    age_65_plus: bool


@dataclass(frozen=True, slots=True)
class Device:
    """One sensor in one room and everything it sampled.

    ``ts`` (Unix s, int64) is shared by every device of an estate; ``temp_c`` [°C,
    rounded 0.01], ``rh_pct`` [%, rounded 0.1] are NaN where a sample was lost;
    ``surface_c`` [°C] is NaN throughout without a wall probe. ``fault`` is the sensor
    fault (``stuck``, ``drift``, ``dropout``) or None; ``offline`` lists ``(from, to)``
    Unix-second windows when the device could not reach the broker (its readings are
    complete: it uploads them when back online).
    """

    device_id: str
    flat_id: str
    room: str
    has_probe: bool
    ts: IntArray = field(repr=False)
    temp_c: FloatArray = field(repr=False)
    rh_pct: FloatArray = field(repr=False)
    surface_c: FloatArray = field(repr=False)
    fault: str | None = None
    fault_start_ts: int | None = None
    offline: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Block:
    """A tower block and its flats."""

    code: str
    name: str
    floors: int
    flat_ids: tuple[str, ...]


@dataclass(frozen=True)
class Estate:
    """A generated estate. ``start``/``end`` are the first and last sample times."""

    name: str
    landlord: str
    seed: int
    sample_s: int
    start: int
    end: int
    blocks: tuple[Block, ...]
    flats: tuple[Flat, ...]
    devices: tuple[Device, ...]
    tenants: tuple[Tenant, ...]
    outdoor: Outdoor = field(repr=False)
    _flats_by_id: dict[str, Flat] = field(init=False, repr=False, compare=False)
    _devices_by_flat: dict[str, list[Device]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_flat: dict[str, list[Device]] = {}
        for d in self.devices:
            by_flat.setdefault(d.flat_id, []).append(d)
        object.__setattr__(self, "_flats_by_id", {f.flat_id: f for f in self.flats})
        object.__setattr__(self, "_devices_by_flat", by_flat)

    def flat(self, flat_id: str) -> Flat:
        """The flat with this id (KeyError if none)."""
        return self._flats_by_id[flat_id]

    def devices_of(self, flat_id: str) -> list[Device]:
        """The devices in one flat, in room order."""
        return list(self._devices_by_flat.get(flat_id, []))


# ----------------------------------------------------------------------- time grid


@dataclass(frozen=True)
class _Grid:
    ts: IntArray  # every step, spin-up included
    local_s: IntArray  # local wall-clock seconds (Europe/London) of each step
    weekday: NDArray[np.int8]
    hour: FloatArray
    first_day: int  # local day number of the first step
    n_days: int
    spin: int  # steps of spin-up before the window
    sample_s: int

    @property
    def window_start(self) -> int:
        return int(self.ts[self.spin])


def _grid(start: int, n_window: int, sample_s: int) -> _Grid:
    spin = SPINUP_DAYS * 86400 // sample_s
    ts = start + sample_s * np.arange(-spin, n_window, dtype=np.int64)
    hours = np.arange(int(ts[0]) // 3600, int(ts[-1]) // 3600 + 1, dtype=np.int64)
    offsets = np.array(
        [
            int(datetime.fromtimestamp(int(h) * 3600, LONDON).utcoffset().total_seconds())  # type: ignore[union-attr]
            for h in hours
        ],
        dtype=np.int64,
    )
    local_s = ts + offsets[ts // 3600 - hours[0]]
    days = local_s // 86400
    weekday = ((days + 3) % 7).astype(np.int8)  # 1970-01-01 was a Thursday (3)
    hour = (local_s % 86400) / 3600.0
    first_day = int(days[0])
    return _Grid(
        ts, local_s, weekday, hour, first_day, int(days[-1]) - first_day + 1, spin, sample_s
    )


# ------------------------------------------------------------------ scenario drawing


def _u(rng: np.random.Generator, r: tuple[float, float]) -> float:
    lo, hi = r
    return lo if hi <= lo else float(rng.uniform(lo, hi))


def _assign_scenarios(mix: dict[str, float], n: int, rng: np.random.Generator) -> list[str]:
    names = [k for k, w in mix.items() if w > 0]
    weights = np.array([mix[k] for k in names], dtype=np.float64)
    exact = weights / weights.sum() * n
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - int(counts.sum())]:
        counts[i] += 1
    if n >= len(names):  # every scenario in the mix appears at least once
        for i in range(len(names)):
            if counts[i] == 0:
                counts[int(np.argmax(counts))] -= 1
                counts[i] = 1
    out = [name for name, c in zip(names, counts, strict=True) for _ in range(int(c))]
    rng.shuffle(out)
    return out


@dataclass
class _FlatPlan:
    """Everything drawn for one flat, before simulation."""

    params: list[tuple[float, float, float, float, float]]  # H, C, heater, V, f per room
    setpoint: FloatArray  # (rooms, N)
    gains: FloatArray
    moisture: FloatArray
    air_changes: FloatArray
    physics: dict[str, RoomPhysics]
    truth: Truth
    fault: str | None
    fault_start_idx: int | None
    fault_values: dict[str, float]
    offline: tuple[tuple[int, int], ...]


def _add_events(
    diff: FloatArray,
    grid: _Grid,
    starts_local: FloatArray,
    dur_s: float,
    rate: float,
) -> None:
    """Add ``rate`` from each start (local seconds) for ``dur_s`` to the difference
    series ``diff`` (length N + 1; its cumulative sum is the series)."""
    starts = np.asarray(starts_local, dtype=np.float64)
    if not starts.size or rate == 0.0:
        return
    n = grid.ts.size
    i0 = np.searchsorted(grid.local_s, starts)
    i1 = np.searchsorted(grid.local_s, starts + dur_s)
    i1 = np.maximum(i1, np.minimum(i0 + 1, n))
    np.add.at(diff, i0, rate)
    np.add.at(diff, i1, -rate)


def _daily(grid: _Grid, hour: FloatArray | float) -> FloatArray:
    """Local seconds of ``hour`` on each day of the grid."""
    days = grid.first_day + np.arange(grid.n_days)
    return np.asarray(
        (days * 86400).astype(np.float64) + np.asarray(hour) * 3600.0, dtype=np.float64
    )


def _plan_flat(
    sc: Scenario,
    rooms: tuple[str, ...],
    grid: _Grid,
    rng: np.random.Generator,
    heat_loss_factor: float,
) -> _FlatPlan:
    n = grid.ts.size
    nr = len(rooms)
    hour = grid.hour
    v = sc.get
    r = sc.range

    def u(section: str, key: str) -> float:
        return _u(rng, r(section, key))

    occupants = round(u("occupancy", "occupants"))
    away = occupants > 0 and rng.random() < u("occupancy", "away_weekdays")
    wake = 7.0 + rng.uniform(-0.75, 0.75)
    bed = 23.0 + rng.uniform(-0.75, 0.75)
    home = np.ones(n, dtype=bool)
    if away:
        home &= ~((grid.weekday < 5) & (hour >= 8.75) & (hour < 17.25))
    awake = (hour >= wake) & (hour < bed)
    awake_home = (home & awake).astype(np.float64) * occupants
    asleep = (~awake).astype(np.float64) * occupants

    def room_of(*preference: str) -> int:
        """The first listed room type the flat's sensors cover, else the first room."""
        for kind in preference:
            if kind in rooms:
                return rooms.index(kind)
        return 0

    i_living = room_of("living_room", "kitchen", "bedroom")
    i_bed = room_of("bedroom", "living_room", "kitchen")
    i_kitchen = room_of("kitchen", "living_room", "bedroom")
    i_bath = room_of("bathroom", "bedroom", "living_room")
    has_fan = bool(v("ventilation", "extractor_fan"))
    fan_ach = u("ventilation", "fan_air_changes_h")

    moisture = np.zeros((nr, n))
    gains = np.zeros((nr, n))
    air = np.zeros((nr, n))
    setpoint = np.full((nr, n), HEATING_OFF)
    events = np.zeros((3, nr, n + 1))  # moisture, gains, air changes: difference series

    # breathing and body heat
    breath = u("moisture", "breathing_g_h")
    moisture[i_living] += breath * awake_home
    moisture[i_bed] += 0.8 * breath * asleep
    if occupants:
        # kettle, washing-up, plants, wet towels, air from the kitchen and bathroom
        moisture += u("moisture", "background_g_h") * home
    gains[i_living] += _PERSON_AWAKE_W * awake_home + _APPLIANCES_W * (awake_home > 0)
    gains[i_bed] += _PERSON_ASLEEP_W * asleep

    nd = grid.n_days
    # cooking: breakfast (15 %) and dinner (85 %), times jittered day by day
    cook = u("moisture", "cooking_g_day") if occupants else 0.0
    if cook > 0:
        share = 1.0 if "kitchen" in rooms else 0.7
        b_start = _daily(grid, wake + 0.3 + rng.uniform(0, 0.5, nd))
        d_start = _daily(grid, 17.5 + rng.uniform(-0.75, 1.25, nd))
        d_dur = 45 * 60.0
        for starts, dur, part in ((b_start, 20 * 60.0, 0.15), (d_start, d_dur, 0.85)):
            rate = cook * part / (dur / 3600.0)
            _add_events(events[0, i_kitchen], grid, starts, dur, share * rate)
            _add_events(events[1, i_kitchen], grid, starts, dur, _COOKING_W)
            if has_fan:
                boost = fan_ach if "kitchen" in rooms else 0.5 * fan_ach
                _add_events(events[2, i_kitchen], grid, starts, dur + _FAN_RUN_ON_S, boost)
    # showers: short, strong bursts (a few hundred grams in ten minutes)
    shower_rate = u("moisture", "showers_per_person_day") * occupants
    if shower_rate > 0:
        counts = rng.poisson(shower_rate, nd)
        day_of = np.repeat(np.arange(nd), counts)
        morning = rng.random(day_of.size) < 0.7
        at = np.where(
            morning, wake + rng.uniform(0, 1.2, day_of.size), 19.5 + rng.uniform(0, 3, day_of.size)
        )
        starts = (grid.first_day + day_of) * 86400.0 + at * 3600.0
        grams = u("moisture", "shower_g")
        spill = 1.0 if "bathroom" in rooms else 0.2 if has_fan else 0.35
        _add_events(events[0, i_bath], grid, starts, _SHOWER_S, spill * grams / (_SHOWER_S / 3600))
        if has_fan and "bathroom" in rooms:
            _add_events(events[2, i_bath], grid, starts, _SHOWER_S + _FAN_RUN_ON_S, fan_ach)
    # washing dried indoors: a load evaporates over about twelve hours
    loads_day = u("moisture", "drying_loads_week") / 7.0
    if loads_day > 0 and occupants:
        days_with = np.nonzero(rng.random(nd) < loads_day)[0]
        starts = (grid.first_day + days_with) * 86400.0 + rng.uniform(
            17, 20, days_with.size
        ) * 3600.0
        _add_events(
            events[0, i_living], grid, starts, 12 * 3600.0, u("moisture", "drying_g_load") / 12.0
        )

    summed = np.cumsum(events, axis=2)
    moisture += summed[0, :, :n]
    gains += summed[1, :, :n]
    air += summed[2, :, :n]
    del events, summed

    # event window, in steps of the grid (spin-up excluded from "days after the start")
    kind = v("event", "kind")
    window_days = (n - grid.spin) * grid.sample_s / 86400.0
    ev0 = ev1 = None
    if kind != "none":
        start_day = min(u("event", "start_day"), 0.8 * window_days)
        days = u("event", "days")
        ev0 = grid.spin + int(start_day * 86400 // grid.sample_s)
        ev1 = n if days <= 0 else min(n, ev0 + int(days * 86400 // grid.sample_s))
    if kind == "leak":
        leak_room = int(rng.integers(nr))
        assert ev0 is not None and ev1 is not None
        moisture[leak_room, ev0:ev1] += u("event", "leak_g_h")

    # heating schedule, thermostat and building
    sp = u("heating", "setpoint_c")
    jitter = rng.uniform(-0.5, 0.5)
    on = np.zeros(n, dtype=bool)
    for lo, hi in v("heating", "periods"):
        if hi - lo >= 24.0:
            on[:] = True
            continue
        a, b = lo + jitter, hi + jitter
        on |= (hour >= a) & (hour < b)
        if b > 24.0:
            on |= hour < b - 24.0
        if a < 0.0:
            on |= hour >= a + 24.0
    bed_offset = u("heating", "bedroom_offset_c")
    n_base = u("ventilation", "air_changes_h") + occupants * u(
        "ventilation", "air_changes_per_person_h"
    )
    hl = u("building", "heat_loss_w_m3k") * heat_loss_factor
    tau_h = u("building", "tau_h")
    f_rsi = u("building", "f_rsi")
    oversize = u("heating", "heater_oversize")
    neighbour = u("building", "neighbour_gain_w_m3")
    params = []
    physics = {}
    for i, room in enumerate(rooms):
        vol = _u(rng, ROOM_VOLUME_M3[room])
        h = hl * vol
        room_sp = sp + (bed_offset if room == "bedroom" else 0.0)
        if occupants == 0:
            room_sp = sp  # a void: frost protection, the same everywhere
        setpoint[i, on] = room_sp
        gains[i] += neighbour * vol
        air[i] += n_base
        params.append((h, tau_h * 3600.0 * h, oversize * h * _DESIGN_DELTA_K, vol, f_rsi))
        physics[room] = RoomPhysics(vol, h, tau_h, f_rsi, n_base, room_sp)
    if kind == "heating_off":
        setpoint[:, ev0:ev1] = HEATING_OFF

    # sensor fault and offline windows
    fault = v("sensor", "fault")
    fault_idx: int | None = None
    fault_values: dict[str, float] = {}
    if fault != "none":
        if fault == "any":
            fault = str(rng.choice(["stuck", "drift", "dropout"]))
        fault_day = min(u("sensor", "fault_start_day"), 0.8 * window_days)
        fault_idx = grid.spin + int(fault_day * 86400 // grid.sample_s)
        fault_values = {
            "device": float(rng.integers(nr)),
            "drift_rh": u("sensor", "drift_rh_pct_day"),
            "drift_c": u("sensor", "drift_c_day"),
            "dropout": u("sensor", "dropout_fraction"),
        }
    else:
        fault = None
    offline: tuple[tuple[int, int], ...] = ()
    off_days = u("sensor", "offline_days")
    if off_days > 0:
        off_start = grid.window_start + int(
            min(u("sensor", "offline_start_day"), 0.8 * window_days) * 86400
        )
        off_end = min(off_start + int(off_days * 86400), int(grid.ts[-1]))
        offline = ((off_start, off_end),)

    def ts_at(idx: int | None) -> int | None:
        return None if idx is None else int(grid.ts[min(idx, n - 1)])

    onset = {
        "start": grid.window_start,
        "event": ts_at(ev0),
        "sensor_fault": ts_at(fault_idx),
        "none": None,
    }[sc.onset]
    truth = Truth(
        scenario=sc.name,
        damp=sc.damp,
        cold=sc.cold,
        vacant=sc.vacant,
        fault=sc.fault,
        onset_ts=onset,
        event_start_ts=ts_at(ev0),
        event_end_ts=None
        if ev1 is None
        else (int(grid.ts[ev1]) if ev1 < n else int(grid.ts[-1]) + grid.sample_s),
    )
    return _FlatPlan(
        params,
        setpoint,
        gains,
        moisture,
        air,
        physics,
        truth,
        fault,
        fault_idx,
        fault_values,
        offline,
    )


# ------------------------------------------------------------------- sensor layer


def _sense(
    air: FloatArray,
    rh: FloatArray,
    surface: FloatArray,
    rng: np.random.Generator,
    has_probe: bool,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Calibration bias, noise and the contract's rounding (temp 0.01 °C, RH 0.1 %)."""
    n = air.size
    temp = air + rng.normal(0.0, 0.15) + rng.normal(0.0, 0.03, n)
    hum = np.clip(rh + rng.normal(0.0, 1.0) + rng.normal(0.0, 0.3, n), 0.0, 100.0)
    if has_probe:
        surf = np.round(surface + rng.normal(0.0, 0.1) + rng.normal(0.0, 0.03, n), 2)
    else:
        surf = np.full(n, np.nan)
    return np.round(temp, 2), np.round(hum, 1), surf


def _apply_fault(
    kind: str,
    start: int,
    values: dict[str, float],
    temp: FloatArray,
    rh: FloatArray,
    surf: FloatArray,
    rng: np.random.Generator,
    sample_s: int,
) -> None:
    """Break a device's readings in place from index ``start``."""
    n = temp.size
    if start >= n:
        return
    if kind == "stuck":
        temp[start:] = temp[start]
        rh[start:] = rh[start]
        surf[start:] = surf[start]
    elif kind == "drift":
        days = np.arange(n - start) * sample_s / 86400.0
        temp[start:] = np.round(temp[start:] + values["drift_c"] * days, 2)
        rh[start:] = np.round(np.clip(rh[start:] + values["drift_rh"] * days, 0.0, 100.0), 1)
    elif kind == "dropout":
        lost = np.zeros(n, dtype=bool)
        target = int(values["dropout"] * (n - start))
        mean_gap = max(2, 5400 // sample_s)  # gaps of about 1.5 h
        while int(lost.sum()) < target:
            at = int(rng.integers(start, n))
            lost[at : at + 1 + int(rng.geometric(1.0 / mean_gap))] = True
        temp[lost] = np.nan
        rh[lost] = np.nan
        surf[lost] = np.nan


def _device_ids(seed: int, count: int) -> list[str]:
    rng = np.random.default_rng([seed, 3])
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        did = "esp32-" + rng.bytes(6).hex()
        if did not in seen:
            seen.add(did)
            out.append(did)
    return out


def _ordinal_floor(floor: int) -> str:
    if floor == 0:
        return "ground floor"
    suffix = "th" if 10 <= floor % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(floor % 10, "th")
    return f"{floor}{suffix} floor"


def _physics_figures(
    states: RoomStates, window: slice, sample_s: int, rooms_per_flat: int
) -> tuple[NDArray[np.int64], FloatArray]:
    """Per flat: days with daily-mean surface RH ≥ 80 % in any room; share of samples
    with the flat's mean air temperature below 18 °C (true states, window only)."""
    air = states.air_c[:, window]
    # the room's vapour at the surface's temperature (as psychro.surface_rh_pct, one exp)
    srh = np.minimum(
        relative_humidity_pct(states.surface_c[:, window], states.vapour_g_m3[:, window]), 100.0
    )
    per_day = 86400 // sample_s
    n_days = air.shape[1] // per_day
    daily = srh[:, : n_days * per_day].reshape(srh.shape[0], n_days, per_day).mean(axis=2)
    daily = daily.reshape(-1, rooms_per_flat, n_days).max(axis=1)
    days = (daily >= 80.0).sum(axis=1).astype(np.int64)
    flat_air = air.reshape(-1, rooms_per_flat, air.shape[1]).mean(axis=1)
    below = (flat_air < 18.0).mean(axis=1)
    return days, np.asarray(below, dtype=np.float64)


# ----------------------------------------------------------------------- generate


def _window(spec: EstateSpec, end: int | None) -> tuple[int, int]:
    """First sample time and number of samples of the window."""
    n = round(spec.days * 86400 / spec.sample_s)
    if end is None and spec.start is not None:
        start = spec.start // spec.sample_s * spec.sample_s
        return start, n
    if end is None:
        end = int(datetime.now(tz=UTC).timestamp())
    last = end // spec.sample_s * spec.sample_s
    return last - (n - 1) * spec.sample_s, n


def _weather(spec: EstateSpec, grid: _Grid, window_days: float) -> Outdoor:
    month = spec.weather_month
    if month is None:
        mid = grid.window_start + int(window_days * 43200)
        month = datetime.fromtimestamp(mid, tz=UTC).month
    snap: ColdSnap | None
    if spec.cold_snap is False:
        snap = None
    else:
        default = default_cold_snap(window_days, month)
        if default is None and spec.cold_snap:
            default = ColdSnap(
                start_day=0.4 * window_days, days=min(5.0, max(2.0, window_days / 3))
            )
        if default is None:
            snap = None
        else:
            snap = ColdSnap(
                start_day=SPINUP_DAYS
                + (
                    spec.cold_snap_start_day
                    if spec.cold_snap_start_day is not None
                    else default.start_day
                ),
                days=spec.cold_snap_days if spec.cold_snap_days is not None else default.days,
                min_c=spec.cold_snap_min_c,
            )
    return leeds_weather(grid.ts, seed=spec.seed, month=spec.weather_month, cold_snap=snap)


def generate(spec: EstateSpec, *, end: int | None = None) -> Estate:
    """Generate the estate ``spec`` describes.

    The window is ``spec.days`` long and ends at ``end`` (Unix s) when given, else starts
    at ``spec.start`` when the file sets one, else ends now. Samples are every
    ``spec.sample_s`` seconds on multiples of it. Deterministic for a given spec and
    window.
    """
    start, n_window = _window(spec, end)
    grid = _grid(start, n_window, spec.sample_s)
    window_days = n_window * spec.sample_s / 86400.0
    outdoor_all = _weather(spec, grid, window_days)

    # flats, scenarios and plans
    n_flats = spec.n_flats
    names = _assign_scenarios(spec.mix, n_flats, np.random.default_rng([spec.seed, 1]))
    flat_rows: list[tuple[str, str, int, str]] = []  # id, block code, floor, address
    blocks: list[Block] = []
    factors: list[float] = []
    for b in spec.blocks:
        per_floor = -(-b.flats // b.floors)
        ids = []
        for k in range(b.flats):
            floor, unit = divmod(k, per_floor)
            floor += 1
            unit += 1
            fid = f"{b.code}-{floor:02d}{unit:02d}"
            ids.append(fid)
            address = f"Flat {floor}{unit:02d}, {_ordinal_floor(floor)}, {b.name}, Leeds"
            flat_rows.append((fid, b.code, floor, address))
            factor = 1.0
            if floor == b.floors and b.floors > 1:
                factor *= 1.3  # roof
            elif floor == 1:
                factor *= 1.15  # ground-floor slab
            if unit in (1, per_floor):
                factor *= 1.1  # end or corner flat
            factors.append(factor)
        blocks.append(Block(b.code, b.name, b.floors, tuple(ids)))

    rooms = spec.rooms
    nr = len(rooms)
    n_all = grid.ts.size
    device_ids = _device_ids(spec.seed, n_flats * nr)
    probe_rng = np.random.default_rng([spec.seed, 5])
    has_probe = probe_rng.random(n_flats * nr) < spec.probe_fraction
    window = slice(grid.spin, n_all)
    ts_window = grid.ts[window].copy()
    ts_window.setflags(write=False)

    flats: list[Flat] = []
    devices: list[Device] = []
    tenants: list[Tenant] = []
    flats_per_chunk = max(1, _CHUNK_ROOMS // nr)
    for c0 in range(0, n_flats, flats_per_chunk):
        idx = range(c0, min(n_flats, c0 + flats_per_chunk))
        plans = []
        for i in idx:
            rng = np.random.default_rng([spec.seed, 2, i])
            plans.append(_plan_flat(spec.scenarios[names[i]], rooms, grid, rng, factors[i]))
        prm = np.array([row for p in plans for row in p.params], dtype=np.float64)
        params = RoomParams(prm[:, 0], prm[:, 1], prm[:, 2], prm[:, 3], prm[:, 4])
        drivers = RoomDrivers(
            outdoor_c=outdoor_all.temp_c,
            outdoor_vapour_g_m3=outdoor_all.vapour_density_g_m3,
            setpoint_c=np.concatenate([p.setpoint for p in plans]),
            gains_w=np.concatenate([p.gains for p in plans]),
            moisture_g_h=np.concatenate([p.moisture for p in plans]),
            air_changes_h=np.concatenate([p.air_changes for p in plans]),
        )
        # start heated rooms at the day's highest setpoint, others free-running; the
        # two-day spin-up settles the rest
        first_day = drivers.setpoint_c[:, : 86400 // spec.sample_s]
        heated = np.isfinite(first_day).any(axis=1)
        day_max = np.where(heated, np.max(first_day, axis=1), 0.0)
        free = outdoor_all.temp_c[0] + drivers.gains_w[:, 0] / params.heat_loss_w_k
        initial_c = np.where(heated, np.maximum(day_max, free), free)
        states = simulate_rooms(params, drivers, sample_s=spec.sample_s, initial_c=initial_c)
        rh80_days, below18 = _physics_figures(states, window, spec.sample_s, nr)
        for j, i in enumerate(idx):
            plan = plans[j]
            truth = replace(
                plan.truth,
                surface_rh80_days=int(rh80_days[j]),
                share_below_18=round(float(below18[j]), 4),
            )
            fid, code, floor, address = flat_rows[i]
            tenant_id = None
            if not truth.vacant:
                trng = np.random.default_rng([spec.seed, 4, i])
                tenant_id = f"T-{fid}"
                tenants.append(
                    Tenant(
                        tenant_id=tenant_id,
                        flat_id=fid,
                        display_name=f"Test Tenant {fid}",
                        phone=f"{DRAMA_PHONE_PREFIX}{i % 1000:03d}",
                        consent_monitoring=True,
                        consent_sms=bool(trng.random() < 0.85),
                        age_65_plus=bool(trng.random() < (0.4 if truth.cold else 0.2)),
                    )
                )
            flats.append(
                Flat(fid, code, floor, address, rooms, names[i], truth, tenant_id, plan.physics)
            )
            for k, room in enumerate(rooms):
                row = j * nr + k
                dev_index = i * nr + k
                srng = np.random.default_rng([spec.seed, 6, dev_index])
                probe = bool(has_probe[dev_index])
                temp, rh, surf = _sense(
                    states.air_c[row, window],
                    states.rh_pct[row, window],
                    states.surface_c[row, window],
                    srng,
                    probe,
                )
                fault = None
                fault_ts = None
                if (
                    plan.fault is not None
                    and plan.fault_start_idx is not None
                    and int(plan.fault_values["device"]) == k
                ):
                    fault = plan.fault
                    start_idx = plan.fault_start_idx - grid.spin
                    fault_ts = int(ts_window[min(start_idx, n_window - 1)])
                    _apply_fault(
                        fault, start_idx, plan.fault_values, temp, rh, surf, srng, spec.sample_s
                    )
                devices.append(
                    Device(
                        device_id=device_ids[dev_index],
                        flat_id=fid,
                        room=room,
                        has_probe=probe,
                        ts=ts_window,
                        temp_c=temp,
                        rh_pct=rh,
                        surface_c=surf,
                        fault=fault,
                        fault_start_ts=fault_ts,
                        offline=plan.offline,
                    )
                )
        log.debug("simulated flats %d–%d of %d", idx.start, idx.stop - 1, n_flats)

    outdoor = Outdoor(
        ts=ts_window,
        temp_c=np.round(outdoor_all.temp_c[window], 2),
        rh_pct=np.round(outdoor_all.rh_pct[window], 1),
        vapour_density_g_m3=outdoor_all.vapour_density_g_m3[window],
    )
    return Estate(
        name=spec.name,
        landlord=spec.landlord,
        seed=spec.seed,
        sample_s=spec.sample_s,
        start=int(ts_window[0]),
        end=int(ts_window[-1]),
        blocks=tuple(blocks),
        flats=tuple(flats),
        devices=tuple(devices),
        tenants=tuple(tenants),
        outdoor=outdoor,
    )
