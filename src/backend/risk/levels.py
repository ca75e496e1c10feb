"""From metrics to explained risk: a damp/mould level and a cold level per flat, each
with machine-readable reasons carrying the numbers behind them, and flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from backend.risk.engine import IDX, DailyMetrics
from backend.risk.heating import self_disconnection
from backend.risk.thresholds import Thresholds

__all__ = ["LEVELS", "FlatAssessment", "SeriesInfo", "assess_flats", "room_metrics"]

LEVELS = ("none", "low", "medium", "high")


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
    reasons: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    rooms: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flat_id": self.flat_id,
            "damp_risk": self.damp_level,
            "cold_risk": self.cold_level,
            "score": round(self.score, 3),
            "reasons": self.reasons,
            "flags": self.flags,
            "rooms": self.rooms,
        }


def _r(x: float | None, nd: int = 2) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), nd)


def room_metrics(values: np.ndarray, tau_h: float, info: SeriesInfo) -> dict[str, Any]:
    """The metrics of one room over the days of ``values`` (days × fields)."""
    tot = np.nansum(values, axis=0)
    hours = tot[IDX["hours"]]
    surf_hours = tot[IDX["surf_hours"]]
    has_surface = surf_hours > 0
    mmax = values[:, IDX["mould_max"]]
    mend = values[:, IDX["mould_end"]]
    finite_end = mend[np.isfinite(mend)]
    days = max(values.shape[0], 1)

    def mean(name: str) -> float | None:
        return float(tot[IDX[name]] / hours) if hours > 0 else None

    return {
        "room": info.room,
        "metrics": {
            "hours": _r(hours, 1),
            "mean_temp_c": _r(mean("temp_h")),
            "mean_rh_pct": _r(mean("rh_h"), 1),
            "mean_dew_point_c": _r(mean("dew_h")),
            "hours_rh_over_70": _r(tot[IDX["rh70_h"]], 1),
            "hours_surface_rh_over_80": _r(tot[IDX["surf80_h"]], 1) if has_surface else None,
            "hours_condensation": _r(tot[IDX["cond_h"]], 1) if has_surface else None,
            "mould_index_max": _r(float(np.nanmax(mmax)), 3) if np.isfinite(mmax).any() else None,
            "mould_index_final": _r(float(finite_end[-1]), 3) if finite_end.size else None,
            "hours_below_18c": _r(tot[IDX["below18_h"]], 1),
            "hours_below_16c": _r(tot[IDX["below16_h"]], 1),
            "degree_hours_below_18c": _r(tot[IDX["dh18"]], 1),
            "cooling_time_constant_h": _r(tau_h, 1),
            "occupied_hours": _r(tot[IDX["occ_hours"]], 1),
            "surface_hours": _r(surf_hours, 1),
            "surface_source": info.surface_source if has_surface else None,
            "f_rsi": info.f_rsi if info.surface_source == "f_rsi" else None,
            "humidity_spikes_per_day": _r(tot[IDX["spikes"]] / days, 2),
            "mean_outdoor_c": _r(tot[IDX["outdoor_h"]] / tot[IDX["outdoor_hours"]])
            if tot[IDX["outdoor_hours"]] > 0
            else None,
        },
    }


def _day(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%d %b")


def assess_flats(
    daily: DailyMetrics,
    infos: Sequence[SeriesInfo],
    thresholds: Thresholds,
    *,
    day_slice: slice | None = None,
) -> list[FlatAssessment]:
    """Assess every flat of ``infos`` over the days ``day_slice`` of ``daily``."""
    sl = day_slice or slice(None)
    values = daily.values[:, sl, :]
    day_starts = daily.day_starts[sl]
    by_flat: dict[str, list[int]] = {}
    for i, info in enumerate(infos):
        by_flat.setdefault(info.flat_id, []).append(i)
    th = thresholds
    out = []
    for flat_id, idx in by_flat.items():
        damp_rank, cold_rank = 0, 0
        reasons: list[dict[str, Any]] = []
        flags: list[dict[str, Any]] = []
        rooms = []
        damp_score = cold_score = 0.0
        flat_hours = flat_occ = flat_b18 = flat_b16 = flat_temp = 0.0
        flat_spikes = 0.0
        coverage_hours = 0.0
        for i in idx:
            info = infos[i]
            v = values[i]
            rm = room_metrics(
                v, float(daily.cooling_tau_h[i]) if daily.cooling_tau_h.size else np.nan, info
            )
            rooms.append(rm)
            m = rm["metrics"]
            tot = np.nansum(v, axis=0)
            hours = float(tot[IDX["hours"]])
            coverage_hours += hours
            flat_hours += hours
            flat_occ += float(tot[IDX["occ_hours"]])
            flat_b18 += float(tot[IDX["below18_h"]])
            flat_b16 += float(tot[IDX["below16_h"]])
            flat_temp += float(tot[IDX["temp_h"]])
            flat_spikes += float(tot[IDX["spikes"]])
            if hours < th.min_hours:
                continue
            # ---- damp and mould, per room
            room = info.room.replace("_", " ")
            surf_h = float(tot[IDX["surf_hours"]])
            rank = 0
            if surf_h > 0:
                f80 = float(tot[IDX["surf80_h"]]) / surf_h
                cond = float(tot[IDX["cond_h"]])
                mmax = m["mould_index_max"] or 0.0
                mfin = m["mould_index_final"] or 0.0
                where = (
                    f"at the {room}'s wall probe"
                    if m["surface_source"] == "probe"
                    else f"at the {room}'s estimated coldest wall (f_Rsi {info.f_rsi:g})"
                )
                ends = v[:, IDX["mould_end"]]
                ends = ends[np.isfinite(ends)]
                rising = ends.size > 1 and ends[-1] > ends[0] + 1e-6
                if (
                    mmax >= th.damp.high_mould_index
                    or cond >= th.damp.high_condensation_hours
                    or f80 >= th.damp.high_surface_rh80_fraction
                ):
                    rank = 3
                elif (
                    mmax >= th.damp.medium_mould_index
                    or cond >= th.damp.medium_condensation_hours
                    or f80 >= th.damp.medium_surface_rh80_fraction
                ):
                    rank = 2
                elif f80 >= th.damp.low_surface_rh80_fraction:
                    rank = 1
                if rank:
                    reasons.append(
                        {
                            "kind": "damp",
                            "code": "surface_rh_over_80",
                            "room": info.room,
                            "hours": round(float(tot[IDX["surf80_h"]]), 1),
                            "of_hours": round(surf_h, 1),
                            "message": f"surface RH ≥ 80 % for {tot[IDX['surf80_h']]:.0f} h of {surf_h:.0f} h {where}",
                        }
                    )
                    if cond > 0:
                        reasons.append(
                            {
                                "kind": "damp",
                                "code": "condensation",
                                "room": info.room,
                                "hours": round(cond, 1),
                                "message": f"condensation on the {room}'s coldest surface for {cond:.0f} h",
                            }
                        )
                    if mmax > 0.01:
                        reasons.append(
                            {
                                "kind": "damp",
                                "code": "mould_index",
                                "room": info.room,
                                "max": round(mmax, 2),
                                "final": round(mfin, 2),
                                "rising": bool(rising),
                                "message": f"mould index {mfin:.2f}{' and rising' if rising else ''} in the {room} (1 = growth starts, 3 = visible)",
                            }
                        )
                damp_score = max(damp_score, mmax + f80 + cond / 24)
            else:
                f70 = float(tot[IDX["rh70_h"]]) / hours
                if f70 >= th.damp.air_rh70_fraction_medium:
                    rank = 2
                elif f70 >= th.damp.air_rh70_fraction_low:
                    rank = 1
                if rank:
                    reasons.append(
                        {
                            "kind": "damp",
                            "code": "air_rh_over_70",
                            "room": info.room,
                            "hours": round(float(tot[IDX["rh70_h"]]), 1),
                            "message": f"air RH over 70 % for {tot[IDX['rh70_h']]:.0f} h of {hours:.0f} h in the {room} "
                            "(no wall probe or outdoor temperature: surface risk not estimated)",
                        }
                    )
                damp_score = max(damp_score, f70)
            damp_rank = max(damp_rank, rank)
            # ---- sensor faults
            if tot[IDX["flat_h"]] >= th.flags.flatline_hours:
                flags.append(
                    {
                        "code": "sensor_flatline",
                        "room": info.room,
                        "hours": float(tot[IDX["flat_h"]]),
                        "message": f"{room} sensor showed no change at all for {tot[IDX['flat_h']]:.0f} h (stuck?)",
                    }
                )
            if tot[IDX["jumps"]] >= th.flags.jumps:
                flags.append(
                    {
                        "code": "sensor_jumps",
                        "room": info.room,
                        "count": int(tot[IDX["jumps"]]),
                        "message": f"{room} sensor made {int(tot[IDX['jumps']])} physically impossible jumps",
                    }
                )
            if tot[IDX["implausible_h"]] >= th.flags.implausible_hours:
                flags.append(
                    {
                        "code": "sensor_out_of_range",
                        "room": info.room,
                        "message": f"{room} sensor read implausible indoor temperatures for {tot[IDX['implausible_h']]:.0f} h",
                    }
                )
        # ---- coverage
        window_hours = 24.0 * max(values.shape[1], 1) * len(idx)
        coverage = coverage_hours / window_hours if window_hours else 0.0
        if coverage < th.flags.min_coverage:
            flags.append(
                {
                    "code": "data_gap",
                    "coverage": round(coverage, 3),
                    "message": f"readings cover {coverage:.0%} of the period",
                }
            )
        # ---- cold, per flat over occupied hours
        if flat_occ >= th.min_hours:
            f18 = flat_b18 / flat_occ
            f16 = flat_b16 / flat_occ
            mean_t = flat_temp / flat_hours if flat_hours else np.nan
            if mean_t < th.cold.high_mean_temp_c or f16 >= th.cold.high_below16_fraction:
                cold_rank = 3
            elif f18 >= th.cold.medium_below18_fraction or f16 >= th.cold.medium_below16_fraction:
                cold_rank = 2
            elif f18 >= th.cold.low_below18_fraction:
                cold_rank = 1
            if cold_rank:
                reasons.append(
                    {
                        "kind": "cold",
                        "code": "below_18c",
                        "hours": round(flat_b18, 1),
                        "of_hours": round(flat_occ, 1),
                        "hours_below_16c": round(flat_b16, 1),
                        "mean_temp_c": round(float(mean_t), 1),
                        "message": f"below 18 °C for {flat_b18:.0f} h of {flat_occ:.0f} occupied room-hours "
                        f"({flat_b16:.0f} h below 16 °C); mean {mean_t:.1f} °C",
                    }
                )
            cold_score = f18 + f16
        # ---- self-disconnection and vacancy
        dh = values[idx][:, :, IDX["hours"]].sum(axis=0)
        dt = values[idx][:, :, IDX["temp_h"]].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            daily_mean = np.where(dh >= 6, dt / dh, np.nan)
        if bool(
            self_disconnection(
                daily_mean[None, :],
                th.flags.min_heated_days,
                th.flags.min_unheated_days,
                th.flags.heated_day_c,
                th.flags.unheated_day_c,
            )[0]
        ):
            cold_days = [
                i for i in range(len(daily_mean)) if daily_mean[i] < th.flags.unheated_day_c
            ]
            since = _day(day_starts[cold_days[0]]) if cold_days else "?"
            flags.append(
                {
                    "code": "possible_self_disconnection",
                    "message": f"heated days then unheated since about {since} "
                    f"(daily mean now {np.nanmean(daily_mean[-2:]):.1f} °C): heating may have stopped",
                }
            )
            cold_rank = max(cold_rank, 2)
        days = max(values.shape[1], 1)
        spikes_per_day = flat_spikes / days
        if cold_rank and spikes_per_day < th.flags.vacancy_spikes_per_day:
            flags.append(
                {
                    "code": "possible_vacancy",
                    "spikes_per_day": round(spikes_per_day, 2),
                    "message": f"no occupancy signature (humidity spikes {spikes_per_day:.1f}/day): "
                    "the flat may be empty; confirm before outreach",
                }
            )
        score = 10.0 * max(damp_rank, cold_rank) + min(damp_score + cold_score, 9.99)
        out.append(
            FlatAssessment(
                flat_id, LEVELS[damp_rank], LEVELS[cold_rank], score, reasons, flags, rooms
            )
        )
    return out
