"""How well risk detection works: the analytics engine over a simulated, labelled
estate, day by day, against the scenarios' ground truth."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.risk.engine import ClimateGrid, score_grid
from backend.risk.levels import SeriesInfo, assess_flats
from backend.risk.thresholds import load_thresholds
from dampwatch_core.findings import FlagCode
from simulators.estate import EstateData

__all__ = ["Evaluation", "evaluate_estate"]

DAMP_SCENARIOS = ("poor_ventilation", "thermal_bridge", "leak")
COLD_SCENARIOS = ("under_heated", "self_disconnection")
DETECTED = ("medium", "high")


@dataclass
class Evaluation:
    damp: dict[str, float] = field(default_factory=dict)
    cold: dict[str, float] = field(default_factory=dict)
    vacant_outreach_rate: float = 0.0
    confusion: dict[str, Counter[str]] = field(default_factory=dict)
    flats: int = 0

    def figures(self) -> dict[str, Any]:
        return {
            "flats": self.flats,
            "damp_precision": self.damp["precision"],
            "damp_recall": self.damp["recall"],
            "damp_median_days_to_detect": self.damp["median_days"],
            "cold_precision": self.cold["precision"],
            "cold_recall": self.cold["recall"],
            "cold_median_days_to_detect": self.cold["median_days"],
            "vacant_outreach_rate": self.vacant_outreach_rate,
        }


def _scores(pred: dict[str, bool], truth: dict[str, bool]) -> tuple[float, float]:
    tp = sum(pred[f] and truth[f] for f in truth)
    fp = sum(pred[f] and not truth[f] for f in truth)
    fn = sum(truth[f] and not pred[f] for f in truth)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return round(precision, 3), round(recall, 3)


def evaluate_estate(estate: EstateData) -> Evaluation:
    """Score the estate with the engine; assess every flat at the end of each day on
    the thresholds' window; compare with the truth."""
    th = load_thresholds()
    devices = estate.devices
    ts0 = int(devices[0].ts[0])
    start = ts0 // 3600 * 3600
    pad = (ts0 - start) // 300
    steps = pad + devices[0].ts.size
    steps += (-steps) % 12
    n = len(devices)
    temp = np.full((n, steps), np.nan)
    rh = np.full((n, steps), np.nan)
    surface = np.full((n, steps), np.nan)
    outdoor = np.full(steps, np.nan)
    size = devices[0].ts.size
    outdoor[pad : pad + size] = estate.outdoor_c
    infos = []
    for i, dev in enumerate(devices):
        temp[i, pad : pad + size] = dev.temp_c
        rh[i, pad : pad + size] = dev.rh_pct
        if dev.surface_c is not None:
            surface[i, pad : pad + size] = dev.surface_c
        infos.append(SeriesInfo(dev.flat_id, dev.room, 0.75, "probe" if dev.has_probe else "f_rsi"))
    grid = ClimateGrid(
        start=start,
        step_s=300,
        temp_c=temp,
        rh_pct=rh,
        rooms=[d.room for d in devices],
        f_rsi=np.full(n, 0.75),
        surface_c=surface,
        outdoor_c=outdoor,
    )
    daily, _ = score_grid(grid)
    days = daily.day_starts.size
    first_detect: dict[str, dict[str, int | None]] = defaultdict(
        lambda: {"damp": None, "cold": None}
    )
    final: dict[str, Any] = {}
    for d in range(1, days):
        window = slice(max(0, d - th.window_days + 1), d + 1)
        day_end = int(daily.day_starts[d]) + 86400
        for a in assess_flats(daily, infos, th, day_slice=window):
            vacant_flag = any(f["code"] == FlagCode.POSSIBLE_VACANCY for f in a.flags)
            damp = a.damp_level in DETECTED
            outreach = a.cold_level in DETECTED and not vacant_flag
            rec = first_detect[a.flat_id]
            if damp and rec["damp"] is None:
                rec["damp"] = day_end
            if outreach and rec["cold"] is None:
                rec["cold"] = day_end
            if d == days - 1:
                final[a.flat_id] = (damp, outreach, a.damp_level, a.cold_level, vacant_flag)
    flats = {f.flat_id: f for f in estate.flats}
    ev = Evaluation(flats=len(flats))
    for kind, idx, scenarios in (("damp", 0, DAMP_SCENARIOS), ("cold", 1, COLD_SCENARIOS)):
        truth = {  # None ("either"): the scenario does not decide it; not scored
            f: getattr(flats[f].truth, kind) is True and not flats[f].truth.vacant
            for f in final
            if getattr(flats[f].truth, kind) is not None
        }
        pred = {f: final[f][idx] for f in truth}
        precision, recall = _scores(pred, truth)
        delays = []
        for f in truth:
            if flats[f].scenario in scenarios and pred[f]:
                hit = first_detect[f][kind]
                if hit is not None:
                    delays.append(max(0.0, (hit - flats[f].onset_ts) / 86400))
        median = round(statistics.median(delays), 1) if delays else float("nan")
        getattr(ev, kind).update(precision=precision, recall=recall, median_days=median)
    vacant = [f for f in final if flats[f].truth.vacant]
    ev.vacant_outreach_rate = (
        round(sum(final[f][1] for f in vacant) / len(vacant), 3) if vacant else 0.0
    )
    for f, (damp, outreach, *_rest) in final.items():
        label = f"{'damp' if damp else '-'}/{'outreach' if outreach else '-'}"
        ev.confusion.setdefault(flats[f].scenario, Counter())[label] += 1
    return ev
