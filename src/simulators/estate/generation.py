"""Generating an estate: every flat, room and device from its own random stream
(seeded by the estate seed and the flat's position), simulated in chunks of flats."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from simulators.errors import SimulatorError
from simulators.estate.spec import (
    BlockSpec,
    DeviceData,
    Estate,
    EstateData,
    FlatData,
    RoomKind,
    RoomSpec,
    Tenant,
)
from simulators.flat import (
    RHO_CP,
    RoomDrivers,
    RoomParams,
    saturation_vapour_pressure,
    simulate_rooms,
)
from simulators.scenario import Scenario
from simulators.weather import weather_at

__all__ = ["device_id_for", "generate_estate"]

LONDON = ZoneInfo("Europe/London")

# Moisture and heat sources. Per event, as BS 5250:2021 (Annex on moisture generation)
# and IEA Annex 14 tabulate them: a person breathing and perspiring 40–60 g/h, a meal
# 0.6–1.5 kg/h of cooking, a shower about 2.5 kg/h, a load of washing dried indoors
# 1–1.5 kg, plus washing up, plants and mopping. Added up for a day these give a
# two-person household 4–6 kg, between the tables' "dry" and "moist" occupancy.
BREATHING_G_PER_H = 55.0  # a person at home, awake or asleep on average
PERSON_W = 80.0  # sensible heat of a person at rest
APPLIANCES_W = 50.0  # fridge, TV, lights in the main room of an occupied flat
COOKING_G = 450.0  # one meal, over half an hour (0.9 kg/h)
SHOWER_G = 450.0  # one shower and the wet towels, over a quarter of an hour
DRYING_G = 1400.0  # one load of washing dried on an airer, over ten hours
OTHER_G_PER_DAY = 450.0  # washing up, plants, kettles, mopping: per occupant
#: An extractor fan running while cooking or showering takes this share of the vapour
#: out at source (kitchen and bathroom not modelled as rooms of their own).
EXTRACTED_SHARE = 0.5
#: Volume of a flat [m³] (about 52 m² at 2.4 m): moisture released outside the modelled
#: rooms (hall, and kitchen and bathroom when the estate does not list them) mixes
#: through the whole flat, so a modelled room receives its share by volume.
FLAT_VOLUME_M3 = 125.0
#: Wall mass time constants [h] drawn per room: heavy masonry and concrete walls
#: smooth outdoor swings over one to three days.
WALL_TAU_H = (24.0, 72.0)
#: Area of each room's coldest surfaces [m²] (window and reveals, a corner, behind furniture).
COLD_AREA_M2 = (3.0, 6.0)
#: Hygroscopic buffer per m³ of room [g per unit RH]: furnishings and plaster, about
#: 15 g/m² per unit RH over surfaces about 2.5× the room's volume in m².
BUFFER_G_PER_M3 = 37.5


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
    first_weekday: int = 0  # local weekday of the first day (Monday 0)


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
    household: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
    tl: _Timeline,
    setpoint_jitter: float,
    out: RoomDrivers,
    j: int,
) -> None:
    """Fill row ``j`` of ``out`` with what drives this room of this scenario."""
    lh, day = tl.local_hour, tl.day
    mixed, cook, shower = household
    out.setpoint_c[j] = sc.setpoint_c + setpoint_jitter
    allowed = np.zeros(lh.size, dtype=bool)
    for a, b in sc.schedule:
        allowed |= (lh >= a) & (lh < b)
    if sc.off_from_day is not None:
        off_to = np.inf if sc.off_days is None else sc.off_from_day + sc.off_days
        allowed &= ~((day >= sc.off_from_day) & (day < off_to))
    if sc.heated_rooms is not None and room.name not in sc.heated_rooms:
        allowed[:] = False  # a prepayment household heats only some rooms
    out.heating_allowed[j] = allowed

    occ = sc.occupants
    if occ:
        home = (lh < 9) | (lh >= 16)
        night = (lh >= 22) | (lh < 7)
        present = {"living": home & ~night, "bedroom": night}.get(room.kind)
        if present is not None:
            out.gains_w[j] = np.where(present, PERSON_W * occ, 0.0)
        if room.kind in ("living", "kitchen"):
            out.gains_w[j] += APPLIANCES_W
    share = room.volume_m3 / max(FLAT_VOLUME_M3, sum(r.volume_m3 for r in rooms))
    out.moisture_g_per_s[j] = share * mixed
    local = np.zeros(lh.size)
    events = np.zeros(lh.size)
    if room.kind == "kitchen":
        local += cook * COOKING_G / 1800
        events = cook
    if room.kind == "bathroom":
        local += shower * SHOWER_G / 900
        events = np.maximum(events, shower)
    out.moisture_g_per_s[j] += local
    out.ach_boost[j] = events * sc.extractor_ach * _extractor_on(sc, day)
    if sc.repaired_from_day is not None and sc.repaired_ach is not None:
        out.ach_boost[j] += np.where(day >= sc.repaired_from_day, sc.repaired_ach - sc.ach, 0.0)
    if sc.leak_g_per_h:  # water evaporating into every room of the flat
        out.moisture_g_per_s[j] += np.where(day >= sc.leak_from_day, sc.leak_g_per_h / 3600, 0.0)


def _extractor_on(sc: Scenario, day: NDArray[np.float64]) -> NDArray[np.float64]:
    """1 where the flat's extractor fans work (from the start, or from a repair)."""
    if sc.extractor:
        return np.ones(day.size)
    if sc.repaired_extractor and sc.repaired_from_day is not None:
        return np.asarray(day >= sc.repaired_from_day, dtype=np.float64)
    return np.zeros(day.size)


def _household_moisture(
    sc: Scenario, kinds: set[RoomKind], rng: np.random.Generator, tl: _Timeline
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The flat's moisture that mixes through it [g/s] (breathing, other sources,
    drying, and cooking and showers where no kitchen or bathroom is modelled), and the
    cooking and shower activity (0/1) for the rooms that have them."""
    lh, step = tl.local_hour, tl.sample_s
    occ = sc.occupants
    home = (lh < 9) | (lh >= 16)
    mixed = np.where(home, BREATHING_G_PER_H * occ / 3600, 0.0)
    mixed += occ * OTHER_G_PER_DAY / 86400
    cook = _events(rng, tl, sc.cooking_per_day, (8.0, 18.5, 13.0), 0.7, 1800)
    shower = _events(rng, tl, sc.showers_per_day, (7.0, 21.5, 19.0), 0.6, 900)
    kept = 1.0 - EXTRACTED_SHARE * _extractor_on(sc, tl.day)
    if "kitchen" not in kinds:
        mixed += kept * cook * COOKING_G / 1800
    if "bathroom" not in kinds:
        mixed += kept * shower * SHOWER_G / 900
    if sc.drying_days_per_week:
        if sc.drying_weekends_only:  # loads on Saturdays and Sundays only
            weekday = (tl.first_weekday + np.arange(tl.days)) % 7
            share = min(1.0, sc.drying_days_per_week / 2)
            drying_days = np.nonzero((weekday >= 5) & (rng.random(tl.days) < share))[0]
        else:
            drying_days = np.nonzero(rng.random(tl.days) < sc.drying_days_per_week / 7)[0]
        for d in drying_days:
            from_h = d * 24 + 10 - tl.first_local_hour
            first = int(from_h * 3600 // step)
            last = first + int(10 * 3600 // step)
            mixed[max(first, 0) : max(last, 0)] += DRYING_G / (10 * 3600)
    return mixed, cook, shower


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
    wall: NDArray[np.float64],
    heating: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    """What the device reports: placement, calibration offset, noise, faults, rounding.
    ``wall`` is the room's coldest surface and ``heating`` its heater's state."""
    steps = temp.size
    faulty_all = sc.fault_room is None or sc.fault_room == room.name
    faulty_one = sc.fault_room == room.name or (sc.fault_room is None and room_index == n_rooms - 1)
    if faulty_one and sc.placement is not None:
        # the same vapour at the temperature where the sensor sits
        if sc.placement == "radiator":  # warm air rising off the radiator: up to 3 K
            hour = max(1, 3600 // tl.sample_s)
            duty = np.convolve(heating.astype(np.float64), np.ones(hour) / hour)[:steps]
            where = temp + 3.0 * duty
        else:  # on a cold window reveal: halfway to the coldest surface
            where = temp - 0.5 * (temp - wall)
        ratio = saturation_vapour_pressure(temp) / saturation_vapour_pressure(where)
        rh = np.minimum(rh * ratio, 100.0)
        temp = where
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


def generate_estate(estate: Estate, seed: int, end: int | None, chunk_flats: int) -> EstateData:
    step = estate.sample_s
    end_ts = (estate.end if end is None else end) // step * step
    start = end_ts - estate.days * 86400
    steps = estate.days * 86400 // step
    ts = start + step * np.arange(steps, dtype=np.int64)
    local_hour = _local_hours(ts)
    weekday = dt.datetime.fromtimestamp(int(ts[0]), dt.UTC).astimezone(LONDON).weekday()
    tl = _Timeline(
        ts, (ts - start) / 86400.0, local_hour, float(local_hour[0]), step, estate.days, weekday
    )
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
        wall_tau = np.empty(n)
        cold_area = np.empty(n)
        rngs: list[np.random.Generator] = []
        kinds = {r.kind for r in rooms}
        volumes = np.array([r.volume_m3 for r in rooms], dtype=np.float64)
        for ci, (k, _block, _fid, _addr, _floor, name) in enumerate(chunk):
            sc = estate.scenarios[name]
            rng = np.random.default_rng([seed, 0xF1A7, k])
            rngs.append(rng)
            household = _household_moisture(sc, kinds, rng, tl)
            for ri, room in enumerate(rooms):
                j = ci * n_rooms + ri
                h[j] = rng.uniform(*estate.h_w_per_k)
                tau[j] = rng.uniform(*estate.tau_h)
                ach[j] = sc.ach * rng.uniform(0.85, 1.15)
                f_rsi[j] = sc.f_rsi
                initial[j] = sc.setpoint_c + rng.normal(0.0, 0.5)
                wall_tau[j] = rng.uniform(*WALL_TAU_H)
                cold_area[j] = rng.uniform(*COLD_AREA_M2)
                _room_drivers(sc, room, rooms, household, tl, rng.normal(0.0, 0.4), drivers, j)
        volume = np.tile(volumes, len(chunk))
        # τ (the estate's range) is the room's cooling time constant, ventilation included
        h_total = h + RHO_CP * ach * volume / 3600.0
        params = RoomParams(
            h_w_per_k=h,
            c_j_per_k=h_total * tau * 3600.0,
            volume_m3=volume,
            ach_per_h=ach,
            f_rsi=f_rsi,
            heater_w=np.tile([r.heater_w for r in rooms], len(chunk)).astype(np.float64),
            initial_c=initial,
            neighbour_share=estate.neighbour_share,
            wall_tau_h=wall_tau,
            cold_area_m2=cold_area,
            buffer_g=BUFFER_G_PER_M3 * volume,
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
                    climate.surface_c[j],
                    climate.heating_on[j],
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
