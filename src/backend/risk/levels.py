"""From metrics to explained risk: a damp/mould level and a cold level per flat, each
with machine-readable reasons carrying the numbers behind them, and flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from backend.risk.engine import IDX, DailyMetrics
from backend.risk.heating import self_disconnection
from backend.risk.thresholds import Thresholds
from dampwatch_core.const import LEVELS
from dampwatch_core.findings import Flag, FlagCode, Reason, ReasonCode, ReasonKind

__all__ = [
    "LEVELS",
    "FlatAssessment",
    "SeriesInfo",
    "assess_flats",
    "is_wet_room",
    "room_metrics",
]

# the codes bound once (an estate's assessment writes hundreds of thousands)
_DAMP, _COLD = ReasonKind.DAMP, ReasonKind.COLD
_SURFACE_RH_OVER_80, _CONDENSATION = ReasonCode.SURFACE_RH_OVER_80, ReasonCode.CONDENSATION
_MOULD_INDEX, _AIR_RH_OVER_70 = ReasonCode.MOULD_INDEX, ReasonCode.AIR_RH_OVER_70
_BELOW_18C = ReasonCode.BELOW_18C
_SENSOR_FLATLINE, _SENSOR_JUMPS = FlagCode.SENSOR_FLATLINE, FlagCode.SENSOR_JUMPS
_SENSOR_OUT_OF_RANGE, _DATA_GAP = FlagCode.SENSOR_OUT_OF_RANGE, FlagCode.DATA_GAP
_POSSIBLE_SELF_DISCONNECTION = FlagCode.POSSIBLE_SELF_DISCONNECTION
_POSSIBLE_VACANCY = FlagCode.POSSIBLE_VACANCY

_HOURS, _TEMP_H, _RH_H, _DEW_H = IDX["hours"], IDX["temp_h"], IDX["rh_h"], IDX["dew_h"]
_RH70_H, _SURF_HOURS, _SURF80_H = IDX["rh70_h"], IDX["surf_hours"], IDX["surf80_h"]
_COND_H, _OCC_HOURS, _BELOW18_H = IDX["cond_h"], IDX["occ_hours"], IDX["below18_h"]
_BELOW16_H, _DH18, _SPIKES, _JUMPS = IDX["below16_h"], IDX["dh18"], IDX["spikes"], IDX["jumps"]
_FLAT_H, _IMPLAUSIBLE_H = IDX["flat_h"], IDX["implausible_h"]
_OUTDOOR_H, _OUTDOOR_HOURS = IDX["outdoor_h"], IDX["outdoor_hours"]
_SURF_RH_H, _OCC_TEMP_H = IDX["surf_rh_h"], IDX["occ_temp_h"]
_VPX_H, _VPX_HOURS, _SLOW_H = IDX["vpx_h"], IDX["vpx_hours"], IDX["slow_clear_h"]
_AIR_RH_MEAN, _SLOW_TO_CLEAR = ReasonCode.AIR_RH_MEAN, ReasonCode.SLOW_TO_CLEAR

#: Words in a room's registry name that make it a wet room (showers, cooking).
WET_ROOM_WORDS: Final = ("bathroom", "kitchen", "shower", "wc", "utility")


def is_wet_room(room: str) -> bool:
    """A bathroom, kitchen or the like, from the registry's room name."""
    name = room.lower()
    return any(word in name for word in WET_ROOM_WORDS)


@dataclass(frozen=True)
class SeriesInfo:
    """What a room series is: where, and how its surface is known."""

    flat_id: str
    room: str
    f_rsi: float
    surface_source: str | None  # "probe", "f_rsi" (with outdoor temperature) or None


@dataclass
class FlatAssessment:
    flat_id: str
    damp_level: str
    cold_level: str
    score: float
    reasons: list[Reason] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    rooms: list[dict[str, Any]] = field(default_factory=list)
    #: the decision variables behind the damp and cold levels: 1 at the shipped medium
    #: criteria (a level is medium or above when its evidence is at least 1)
    damp_evidence: float = 0.0
    cold_evidence: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The stored and public form, in the API's vocabulary."""
        return {
            "flat_id": self.flat_id,
            "damp_level": self.damp_level,
            "cold_level": self.cold_level,
            "score": round(self.score, 3),
            "reasons": self.reasons,
            "flags": self.flags,
            "rooms": self.rooms,
        }


def _totals(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """``nansum`` over days (axis 1) of ``series × days × fields``, adding the days in
    order as ``np.nansum(values[i], axis=0)`` does, so the sums are bit-identical."""
    n, days, nf = values.shape
    tot = np.zeros((n, nf))
    for k in range(days):
        day = values[:, k, :]
        if k == 0:
            tot = np.where(np.isnan(day), 0.0, day)
        else:
            tot += np.where(np.isnan(day), 0.0, day)
    return tot


def _mould(
    values: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[bool]]:
    """Per series: max of ``mould_max`` (NaN if none finite), last finite ``mould_end``
    (NaN if none), and whether the index is rising: the last finite ``mould_end`` above
    the one before it (growth on the latest day, not earlier in the window)."""
    n, days, _ = values.shape
    if days == 0:
        return np.full(n, np.nan), np.full(n, np.nan), [False] * n
    mmax = values[:, :, IDX["mould_max"]]
    has_max = np.asarray(np.isfinite(mmax).any(axis=1))
    top = np.fmax.reduce(mmax, axis=1)  # what nanmax does, without its warning
    ends = values[:, :, IDX["mould_end"]]
    fin = np.isfinite(ends)
    count = np.asarray(fin.sum(axis=1))
    last_pos = days - 1 - fin[:, ::-1].argmax(axis=1)
    last = ends[np.arange(n), last_pos]
    # the finite value before the last: the last finite one among the days before it
    before = np.where(fin & (np.arange(days)[None, :] < last_pos[:, None]), ends, np.nan)
    has_before = np.isfinite(before).any(axis=1)
    prev_pos = days - 1 - np.isfinite(before)[:, ::-1].argmax(axis=1)
    prev = ends[np.arange(n), prev_pos]
    rising = (count > 1) & has_before & (last > prev + 1e-6)
    return np.where(has_max, top, np.nan), np.where(count > 0, last, np.nan), rising.tolist()


#: The numeric metrics of a room, with the decimals they are given to.
_METRIC_DECIMALS: Final = {
    "hours": 1,
    "mean_temp_c": 2,
    "mean_rh_pct": 1,
    "mean_dew_point_c": 2,
    "hours_rh_over_70": 1,
    "hours_surface_rh_over_80": 1,
    "hours_condensation": 1,
    "mould_index_max": 3,
    "mould_index_final": 3,
    "hours_below_18c": 1,
    "hours_below_16c": 1,
    "degree_hours_below_18c": 1,
    "cooling_time_constant_h": 1,
    "occupied_hours": 1,
    "surface_hours": 1,
    "humidity_spikes_per_day": 2,
    "mean_outdoor_c": 2,
    "mean_surface_rh_pct": 1,
    "hours_slow_to_clear": 1,
    "mean_vapour_excess_pa": 0,
}


def _metric_rows(
    tot: NDArray[np.float64],
    mould_max: NDArray[np.float64],
    mould_final: NDArray[np.float64],
    days: int,
    tau_h: NDArray[np.float64],
    infos: Sequence[SeriesInfo],
) -> list[dict[str, Any]]:
    """Each room's metrics (``tot``: ``series × fields`` summed over the window),
    computed and rounded for all rooms at once; None where a metric does not apply."""
    hours = tot[:, _HOURS]
    surf_hours = tot[:, _SURF_HOURS]
    has_surface = surf_hours > 0
    outdoor_hours = tot[:, _OUTDOOR_HOURS]
    nan = np.nan

    def per_hour(col: int, by: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(by > 0, tot[:, col] / by, nan)

    columns = {
        "hours": hours,
        "mean_temp_c": per_hour(_TEMP_H, hours),
        "mean_rh_pct": per_hour(_RH_H, hours),
        "mean_dew_point_c": per_hour(_DEW_H, hours),
        "hours_rh_over_70": tot[:, _RH70_H],
        "hours_surface_rh_over_80": np.where(has_surface, tot[:, _SURF80_H], nan),
        "hours_condensation": np.where(has_surface, tot[:, _COND_H], nan),
        "mould_index_max": mould_max,
        "mould_index_final": mould_final,
        "hours_below_18c": tot[:, _BELOW18_H],
        "hours_below_16c": tot[:, _BELOW16_H],
        "degree_hours_below_18c": tot[:, _DH18],
        "cooling_time_constant_h": np.asarray(tau_h, dtype=np.float64),
        "occupied_hours": tot[:, _OCC_HOURS],
        "surface_hours": surf_hours,
        "humidity_spikes_per_day": tot[:, _SPIKES] / days,
        "mean_outdoor_c": per_hour(_OUTDOOR_H, outdoor_hours),
        "mean_surface_rh_pct": per_hour(_SURF_RH_H, surf_hours),
        "hours_slow_to_clear": tot[:, _SLOW_H],
        "mean_vapour_excess_pa": per_hour(_VPX_H, tot[:, _VPX_HOURS]),
    }
    table = np.stack([np.round(columns[k], nd) for k, nd in _METRIC_DECIMALS.items()], axis=1)
    finite = np.isfinite(table)
    rows: list[list[float]] = table.tolist()
    ok_rows: list[list[bool]] = finite.tolist()
    keys = list(_METRIC_DECIMALS)
    surface = has_surface.tolist()
    out = []
    for info, row, ok, has_surf in zip(infos, rows, ok_rows, surface, strict=True):
        metrics: dict[str, Any] = {
            k: v if good else None for k, v, good in zip(keys, row, ok, strict=True)
        }
        metrics["surface_source"] = info.surface_source if has_surf else None
        metrics["f_rsi"] = info.f_rsi if info.surface_source == "f_rsi" else None
        out.append({"room": info.room, "metrics": metrics})
    return out


def room_metrics(values: np.ndarray, tau_h: float, info: SeriesInfo) -> dict[str, Any]:
    """The metrics of one room over the days of ``values`` (days × fields)."""
    v = np.asarray(values, dtype=np.float64)[None]
    mmax, mfin, _ = _mould(v)
    return _metric_rows(
        _totals(v), mmax, mfin, max(v.shape[1], 1), np.array([float(tau_h)]), [info]
    )[0]


def _day(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%d %b")


def assess_flats(
    daily: DailyMetrics,
    infos: Sequence[SeriesInfo],
    thresholds: Thresholds,
    *,
    day_slice: slice | None = None,
) -> list[FlatAssessment]:
    """Assess every flat of ``infos`` over the days ``day_slice`` of ``daily``.

    The sums over days and rooms and the self-disconnection test run on all series at
    once; only the decisions and their explanations are made per room, on plain floats.
    """
    sl = day_slice or slice(None)
    values = np.asarray(daily.values[: len(infos), sl, :], dtype=np.float64)
    day_starts = daily.day_starts[sl]
    by_flat: dict[str, list[int]] = {}
    for i, info in enumerate(infos):
        by_flat.setdefault(info.flat_id, []).append(i)
    if not by_flat:
        return []
    th = thresholds
    n_series, n_days = values.shape[0], values.shape[1]
    days = max(n_days, 1)
    totals = _totals(values)
    tot_rows: list[list[float]] = totals.tolist()
    mould_max, mould_final, mould_rising = _mould(values)
    taus = (
        daily.cooling_tau_h[:n_series].astype(np.float64)
        if daily.cooling_tau_h.size
        else np.full(n_series, np.nan)
    )
    room_rows = _metric_rows(totals, mould_max, mould_final, days, taus, infos[:n_series])
    with np.errstate(invalid="ignore", divide="ignore"):
        day_rh = np.where(
            values[:, :, _HOURS] >= 6, values[:, :, _RH_H] / values[:, :, _HOURS], -np.inf
        )
    max_day_rh = (day_rh.max(axis=1) if n_days else np.full(n_series, -np.inf)).tolist()
    # ---- daily means per flat (hours and temp·h summed over its rooms, in order)
    flat_ids = list(by_flat)
    members = list(by_flat.values())
    dh = np.zeros((len(members), n_days))
    dt = np.zeros((len(members), n_days))
    for pos in range(max(len(idx) for idx in members)):
        fl = np.array([f for f, idx in enumerate(members) if len(idx) > pos], dtype=np.intp)
        rows = np.array([idx[pos] for idx in members if len(idx) > pos], dtype=np.intp)
        if pos == 0:
            dh[fl] = values[rows, :, _HOURS]
            dt[fl] = values[rows, :, _TEMP_H]
        else:
            dh[fl] += values[rows, :, _HOURS]
            dt[fl] += values[rows, :, _TEMP_H]
    with np.errstate(invalid="ignore", divide="ignore"):
        daily_means = np.where(dh >= 6, dt / dh, np.nan)
    disconnected = self_disconnection(
        daily_means,
        th.flags.min_heated_days,
        th.flags.min_unheated_days,
        th.flags.heated_day_c,
        th.flags.unheated_day_c,
    ).tolist()
    dth, fth, cth, lim = th.damp, th.flags, th.cold, th.metrics
    surface_rh, air_rh = f"{lim.surface_rh_pct:g}", f"{lim.air_rh_pct:g}"
    warm_c, cold_c = f"{lim.warm_c:g}", f"{lim.cold_c:g}"
    out = []
    for f, (flat_id, idx) in enumerate(zip(flat_ids, members, strict=True)):
        damp_rank, cold_rank = 0, 0
        reasons: list[Reason] = []
        flags: list[Flag] = []
        rooms = []
        damp_score = cold_score = 0.0
        damp_evidence = cold_evidence = 0.0
        flat_vpx = flat_vpx_hours = flat_occ_temp = 0.0
        flat_hours = flat_occ = flat_b18 = flat_b16 = flat_temp = 0.0
        flat_spikes = 0.0
        coverage_hours = 0.0
        for i in idx:
            info = infos[i]
            tot = tot_rows[i]
            rm = room_rows[i]
            rooms.append(rm)
            m = rm["metrics"]
            hours = tot[_HOURS]
            coverage_hours += hours
            flat_hours += hours
            flat_occ += tot[_OCC_HOURS]
            flat_b18 += tot[_BELOW18_H]
            flat_b16 += tot[_BELOW16_H]
            flat_temp += tot[_TEMP_H]
            flat_spikes += tot[_SPIKES]
            flat_vpx += tot[_VPX_H]
            flat_vpx_hours += tot[_VPX_HOURS]
            flat_occ_temp += tot[_OCC_TEMP_H]
            if hours < th.min_hours:
                continue
            # ---- damp and mould, per room
            room = info.room.replace("_", " ")
            surf_h = tot[_SURF_HOURS]
            rank = 0
            evidence = 0.0
            if surf_h > 0:
                surf80 = tot[_SURF80_H]
                mean_srh = tot[_SURF_RH_H] / surf_h
                cond = tot[_COND_H]
                mmax = m["mould_index_max"] or 0.0
                mfin = m["mould_index_final"] or 0.0
                where = (
                    f"at the {room}'s wall probe"
                    if m["surface_source"] == "probe"
                    else f"at the {room}'s estimated coldest wall (f_Rsi {info.f_rsi:g})"
                )
                rising = mould_rising[i]
                # below M = 1 the index counts while it is still rising: once the wall
                # dries (a repair that worked) the index falls only slowly, but nothing
                # grows any more
                growing = mmax if rising else 0.0
                if surf_h < dth.mean_min_hours:  # too short a mean to be a sustained state
                    mean_srh = min(mean_srh, dth.low_surface_rh_pct)
                if mmax >= dth.high_mould_index:
                    rank = 3
                elif growing >= dth.medium_mould_index or mean_srh >= dth.medium_surface_rh_pct:
                    rank = 2
                elif mean_srh >= dth.low_surface_rh_pct or mmax >= dth.medium_mould_index:
                    rank = 1
                evidence = max(
                    growing / max(dth.medium_mould_index, 1e-9),
                    mean_srh / max(dth.medium_surface_rh_pct, 1e-9),
                )
                if mmax >= dth.high_mould_index:
                    evidence = max(evidence, mmax / dth.high_mould_index)
                if rank:
                    reasons.append(
                        {
                            "kind": _DAMP,
                            "code": _SURFACE_RH_OVER_80,
                            "room": info.room,
                            "mean_pct": round(mean_srh, 1),
                            "hours": round(surf80, 1),
                            "of_hours": round(surf_h, 1),
                            "message": f"mean surface RH {mean_srh:.0f} % over {surf_h:.0f} h {where} "
                            f"(ISO 13788 limit: a mean of {dth.medium_surface_rh_pct:g} %); "
                            f"≥ {surface_rh} % for {surf80:.0f} h",
                        }
                    )
                    if cond > 0:
                        reasons.append(
                            {
                                "kind": _DAMP,
                                "code": _CONDENSATION,
                                "room": info.room,
                                "hours": round(cond, 1),
                                "message": f"condensation on the {room}'s coldest surface for {cond:.0f} h",
                            }
                        )
                    if mmax > 0.01:
                        meaning = (
                            "visible growth likely"
                            if mmax >= 3
                            else "microscopic growth likely started"
                            if mmax >= 1
                            else "no growth yet, conditions allow it"
                        )
                        reasons.append(
                            {
                                "kind": _DAMP,
                                "code": _MOULD_INDEX,
                                "room": info.room,
                                "max": round(mmax, 2),
                                "final": round(mfin, 2),
                                "rising": bool(rising),
                                "message": f"mould index {mfin:.2f}{' and rising' if rising else ''} in the {room}: "
                                f"{meaning} (VTT: 1 = microscopic growth, 3 = visible)",
                            }
                        )
                damp_score = max(damp_score, mmax + mean_srh / 100)
            else:
                mean_rh = tot[_RH_H] / hours
                day_max = max_day_rh[i]
                if day_max > dth.air_daily_rh_pct or mean_rh > dth.air_weekly_rh_pct:
                    rank = 2
                elif mean_rh > dth.air_monthly_rh_pct:
                    rank = 1
                evidence = max(
                    day_max / max(dth.air_daily_rh_pct, 1e-9),
                    mean_rh / max(dth.air_weekly_rh_pct, 1e-9),
                )
                if rank:
                    reasons.append(
                        {
                            "kind": _DAMP,
                            "code": _AIR_RH_MEAN,
                            "room": info.room,
                            "mean_pct": round(mean_rh, 1),
                            "max_daily_pct": round(day_max, 1),
                            "message": f"air RH in the {room}: mean {mean_rh:.0f} % over {hours:.0f} h, "
                            f"highest daily mean {day_max:.0f} % (Approved Document F: "
                            f"{dth.air_daily_rh_pct:g} % daily, {dth.air_weekly_rh_pct:g} % weekly); "
                            "no wall probe or outdoor temperature: surface risk not estimated",
                        }
                    )
                damp_score = max(damp_score, mean_rh / 100)
            if is_wet_room(info.room):
                slow = tot[_SLOW_H]
                if slow >= dth.wet_room_slow_clear_fraction * hours:
                    rank = max(rank, 1)
                    reasons.append(
                        {
                            "kind": _DAMP,
                            "code": _SLOW_TO_CLEAR,
                            "room": info.room,
                            "hours": round(slow, 1),
                            "of_hours": round(hours, 1),
                            "message": f"humidity in the {room} is slow to clear: over {air_rh} % "
                            f"for 3 h or more at a time, {slow:.0f} h of {hours:.0f} h",
                        }
                    )
            damp_evidence = max(damp_evidence, evidence)
            damp_rank = max(damp_rank, rank)
            # ---- sensor faults
            if tot[_FLAT_H] >= fth.flatline_hours:
                flags.append(
                    {
                        "code": _SENSOR_FLATLINE,
                        "room": info.room,
                        "hours": tot[_FLAT_H],
                        "message": f"{room} sensor showed no change at all for {tot[_FLAT_H]:.0f} h (stuck?)",
                    }
                )
            if tot[_JUMPS] >= fth.jumps:
                flags.append(
                    {
                        "code": _SENSOR_JUMPS,
                        "room": info.room,
                        "count": int(tot[_JUMPS]),
                        "message": f"{room} sensor made {int(tot[_JUMPS])} physically impossible jumps",
                    }
                )
            if tot[_IMPLAUSIBLE_H] >= fth.implausible_hours:
                flags.append(
                    {
                        "code": _SENSOR_OUT_OF_RANGE,
                        "room": info.room,
                        "message": f"{room} sensor read implausible indoor temperatures for {tot[_IMPLAUSIBLE_H]:.0f} h",
                    }
                )
        # ---- coverage
        window_hours = 24.0 * days * len(idx)
        coverage = coverage_hours / window_hours if window_hours else 0.0
        if coverage < fth.min_coverage:
            flags.append(
                {
                    "code": _DATA_GAP,
                    "coverage": round(coverage, 3),
                    "message": f"readings cover {coverage:.0%} of the period",
                }
            )
        # ---- cold, per flat over occupied hours
        if flat_occ >= th.min_hours:
            f18 = flat_b18 / flat_occ
            f16 = flat_b16 / flat_occ
            mean_t = flat_occ_temp / flat_occ  # over occupied hours
            cold_evidence = max(
                f18 / max(cth.medium_below18_fraction, 1e-9),
                f16 / max(cth.medium_below16_fraction, 1e-9),
                cth.high_mean_temp_c / mean_t if mean_t > 0 else 10.0,
            )
            if mean_t < cth.high_mean_temp_c or f16 >= cth.high_below16_fraction:
                cold_rank = 3
            elif f18 >= cth.medium_below18_fraction or f16 >= cth.medium_below16_fraction:
                cold_rank = 2
            elif f18 >= cth.low_below18_fraction:
                cold_rank = 1
            if cold_rank:
                reasons.append(
                    {
                        "kind": _COLD,
                        "code": _BELOW_18C,
                        "hours": round(flat_b18, 1),
                        "of_hours": round(flat_occ, 1),
                        "hours_below_16c": round(flat_b16, 1),
                        "mean_temp_c": round(mean_t, 1),
                        "message": f"below {warm_c} °C for {flat_b18:.0f} h of {flat_occ:.0f} occupied "
                        f"room-hours ({flat_b16:.0f} h below {cold_c} °C); "
                        f"mean {mean_t:.1f} °C while occupied",
                    }
                )
            cold_score = f18 + f16
        # ---- self-disconnection and vacancy
        if disconnected[f]:
            daily_mean = daily_means[f]
            cold_days = [i for i in range(len(daily_mean)) if daily_mean[i] < fth.unheated_day_c]
            since = _day(day_starts[cold_days[0]]) if cold_days else "?"
            flags.append(
                {
                    "code": _POSSIBLE_SELF_DISCONNECTION,
                    "message": f"heated days then unheated since about {since} "
                    f"(daily mean now {np.nanmean(daily_mean[-2:]):.1f} °C): heating may have stopped",
                }
            )
            cold_rank = max(cold_rank, 2)
            cold_evidence = max(cold_evidence, 1.0)
        spikes_per_day = flat_spikes / days
        if flat_vpx_hours >= th.min_hours:
            excess = flat_vpx / flat_vpx_hours
            if cold_rank and excess < fth.vacancy_vapour_excess_pa:
                flags.append(
                    {
                        "code": _POSSIBLE_VACANCY,
                        "vapour_excess_pa": round(excess),
                        "message": f"no occupancy signature (indoor air holds {excess:.0f} Pa more "
                        "vapour than outdoors; people living there add a few hundred): "
                        "the flat may be empty; confirm before outreach",
                    }
                )
        elif cold_rank and spikes_per_day < fth.vacancy_spikes_per_day:
            flags.append(
                {
                    "code": _POSSIBLE_VACANCY,
                    "spikes_per_day": round(spikes_per_day, 2),
                    "message": f"no occupancy signature (humidity spikes {spikes_per_day:.1f}/day): "
                    "the flat may be empty; confirm before outreach",
                }
            )
        score = 10.0 * max(damp_rank, cold_rank) + min(damp_score + cold_score, 9.99)
        out.append(
            FlatAssessment(
                flat_id,
                LEVELS[damp_rank],
                LEVELS[cold_rank],
                score,
                reasons,
                flags,
                rooms,
                damp_evidence,
                cold_evidence,
            )
        )
    return out
