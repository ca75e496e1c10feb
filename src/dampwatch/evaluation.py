"""How well risk detection works: the analytics engine over a simulated, labelled
estate, day by day, against the scenarios' ground truth.

Every flat is assessed at the end of each simulated day on the thresholds' window.
Each assessment carries a *damp evidence* and a *cold evidence* (1 at the shipped
medium criteria, see :class:`backend.risk.levels.FlatAssessment`), so instead of one
operating point the evaluation sweeps the decision threshold over the evidence and
reports the precision-recall curve, with the shipped thresholds' point on it, and the
distribution of days from when a condition starts to its first detection.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from backend.risk.engine import ClimateGrid, score_grid
from backend.risk.levels import SeriesInfo, assess_flats
from backend.risk.thresholds import load_thresholds
from dampwatch_core.findings import FlagCode
from simulators.estate import EstateData

__all__ = [
    "SWEEP",
    "CurvePoint",
    "Evaluation",
    "EvaluationError",
    "evaluate_estate",
    "pool",
    "write_csv",
    "write_png",
]

Kind = Literal["damp", "cold"]
KINDS: tuple[Kind, ...] = ("damp", "cold")
#: Decision thresholds swept over the evidence (1.0: the shipped thresholds).
SWEEP: tuple[float, ...] = tuple(round(x, 3) for x in np.arange(0.5, 2.001, 0.05))


class EvaluationError(Exception):
    """An evaluation that cannot be made (no flats, nothing labelled)."""


@dataclass(frozen=True)
class CurvePoint:
    """Precision and recall when a flat is called damp (or cold) at evidence ≥
    ``threshold`` on the last day; ``sound_false_alarms`` is the share of sound flats
    (neither damp nor cold, no sensor fault, occupied) called so on the last day, and
    ``sound_flat_days_flagged`` the share of their days called so on any day."""

    threshold: float
    tp: int
    fp: int
    fn: int
    sound_false_alarms: float
    sound_flat_days_flagged: float = 0.0  # share of sound flats' assessed days called so

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class _FlatTrack:
    scenario: str
    truth: dict[str, bool | None]
    onset_day: float
    sound: bool
    vacant: bool
    resolved_day: float | None
    evidence: dict[str, list[float]] = field(default_factory=lambda: {"damp": [], "cold": []})
    vacancy_flag: list[bool] = field(default_factory=list)
    levels: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Evaluation:
    """One estate's (or several estates', :func:`pool`) detection figures."""

    flats: int
    seeds: list[int]
    curves: dict[str, list[CurvePoint]]
    delays: dict[str, list[float]]  # days from onset to first detection, shipped point
    missed: dict[str, int]  # true flats never detected at the shipped point
    repaired: int  # flats whose damp a repair ended at least a week before the last day
    repaired_still_flagged: int  # ... still called damp a week or more after the repair
    confusion: dict[str, Counter[str]]
    vacant_outreach_rate: float

    def point(self, kind: str, threshold: float = 1.0) -> CurvePoint:
        return min(self.curves[kind], key=lambda p: abs(p.threshold - threshold))

    def figures(self) -> dict[str, Any]:
        """The shipped thresholds' operating point, as one flat dict."""
        out: dict[str, Any] = {"flats": self.flats, "seeds": self.seeds}
        for kind in KINDS:
            p = self.point(kind)
            d = self.delays[kind]
            out[f"{kind}_precision"] = round(p.precision, 3)
            out[f"{kind}_recall"] = round(p.recall, 3)
            out[f"{kind}_sound_false_alarm_rate"] = round(p.sound_false_alarms, 3)
            out[f"{kind}_sound_flat_days_flagged"] = round(p.sound_flat_days_flagged, 4)
            out[f"{kind}_median_days_to_detect"] = (
                round(statistics.median(d), 1) if d else float("nan")
            )
            out[f"{kind}_p90_days_to_detect"] = (
                round(float(np.percentile(d, 90)), 1) if d else float("nan")
            )
        out["vacant_outreach_rate"] = round(self.vacant_outreach_rate, 3)
        out["repaired_flats"] = self.repaired
        out["repaired_still_flagged_after_a_week"] = self.repaired_still_flagged
        return out


def _grid(estate: EstateData) -> tuple[ClimateGrid, list[SeriesInfo]]:
    devices = estate.devices
    if not devices:
        raise EvaluationError("the estate has no devices")
    ts0 = int(devices[0].ts[0])
    step = estate.sample_s
    start = ts0 // 3600 * 3600
    pad = (ts0 - start) // step
    size = devices[0].ts.size
    steps = pad + size
    steps += (-steps) % (3600 // step)
    n = len(devices)
    temp = np.full((n, steps), np.nan)
    rh = np.full((n, steps), np.nan)
    surface = np.full((n, steps), np.nan)
    outdoor = np.full(steps, np.nan)
    outdoor_rh = np.full(steps, np.nan)
    outdoor[pad : pad + size] = estate.outdoor_c
    outdoor_rh[pad : pad + size] = estate.outdoor_rh
    infos = []
    for i, dev in enumerate(devices):
        temp[i, pad : pad + size] = dev.temp_c
        rh[i, pad : pad + size] = dev.rh_pct
        if dev.surface_c is not None:
            surface[i, pad : pad + size] = dev.surface_c
        infos.append(SeriesInfo(dev.flat_id, dev.room, 0.75, "probe" if dev.has_probe else "f_rsi"))
    grid = ClimateGrid(
        start=start,
        step_s=step,
        temp_c=temp,
        rh_pct=rh,
        rooms=[d.room for d in devices],
        f_rsi=np.full(n, 0.75),
        surface_c=surface,
        outdoor_c=outdoor,
        outdoor_rh=outdoor_rh,
    )
    return grid, infos


def _tracks(estate: EstateData) -> tuple[dict[str, _FlatTrack], NDArray[np.int64]]:
    th = load_thresholds()
    grid, infos = _grid(estate)
    daily, _ = score_grid(grid)
    tracks: dict[str, _FlatTrack] = {}
    for f in estate.flats:
        t = f.truth
        tracks[f.flat_id] = _FlatTrack(
            scenario=f.scenario,
            truth={"damp": t.damp, "cold": t.cold},
            onset_day=(f.onset_ts - estate.start) / 86400,
            sound=t.damp is False and t.cold is False and not t.faults and not t.vacant,
            vacant=t.vacant,
            resolved_day=t.resolved_day,
        )
    day_ends = daily.day_starts + 86400
    for d in range(daily.day_starts.size):
        window = slice(max(0, d - th.window_days + 1), d + 1)
        for a in assess_flats(daily, infos, th, day_slice=window):
            tr = tracks[a.flat_id]
            tr.evidence["damp"].append(a.damp_evidence)
            tr.evidence["cold"].append(a.cold_evidence)
            tr.vacancy_flag.append(any(fl["code"] == FlagCode.POSSIBLE_VACANCY for fl in a.flags))
            tr.levels.append((a.damp_level, a.cold_level))
    return tracks, day_ends


def _true_at(tr: _FlatTrack, kind: str, day: float) -> bool:
    """The truth on ``day``: the scenario's, unless a repair ended the damp a week or
    more before (then the flat should no longer be called damp)."""
    if not tr.truth[kind] or tr.vacant:
        return False
    return not (kind == "damp" and tr.resolved_day is not None and tr.resolved_day + 7 <= day)


def _called(tr: _FlatTrack, kind: str, threshold: float, day: int) -> bool:
    """Whether the flat is called damp (cold: and not flagged possibly vacant, since
    outreach waits for that) on ``day`` at ``threshold``."""
    hit = tr.evidence[kind][day] >= threshold
    return hit and not (kind == "cold" and tr.vacancy_flag[day])


def evaluate_estate(estate: EstateData, sweep: Sequence[float] = SWEEP) -> Evaluation:
    """Score the estate with the engine, assess every flat at the end of each day,
    and compare with the truth over the threshold ``sweep``."""
    tracks, day_ends = _tracks(estate)
    days = day_ends.size
    if not tracks or days == 0:
        raise EvaluationError("nothing to evaluate: no flats or no complete day")
    last = days - 1
    day_from_start = (day_ends - estate.start) / 86400  # end of each assessed day
    curves: dict[str, list[CurvePoint]] = {}
    delays: dict[str, list[float]] = {}
    missed: dict[str, int] = {}
    sound = [tr for tr in tracks.values() if tr.sound]
    for kind in KINDS:
        scored = [
            tr for tr in tracks.values() if tr.truth[kind] is not None and len(tr.evidence[kind])
        ]
        points = []
        for thr in sweep:
            tp = fp = fn = 0
            for tr in scored:
                truth = _true_at(tr, kind, day_from_start[last])
                pred = _called(tr, kind, thr, last)
                tp += truth and pred
                fp += pred and not truth
                fn += truth and not pred
            alarms = sum(_called(tr, kind, thr, last) for tr in sound)
            flat_days = sum(_called(tr, kind, thr, d) for tr in sound for d in range(days))
            points.append(
                CurvePoint(
                    thr,
                    tp,
                    fp,
                    fn,
                    alarms / len(sound) if sound else 0.0,
                    flat_days / (len(sound) * days) if sound else 0.0,
                )
            )
        curves[kind] = points
        found: list[float] = []
        lost = 0
        for tr in scored:
            if not tr.truth[kind] or tr.vacant or tr.resolved_day is not None:
                continue
            hit = next(
                (
                    d
                    for d in range(days)
                    if day_from_start[d] > tr.onset_day and _called(tr, kind, 1.0, d)
                ),
                None,
            )
            if hit is None:
                lost += 1
            else:
                found.append(round(float(day_from_start[hit] - tr.onset_day), 2))
        delays[kind], missed[kind] = found, lost
    repaired = [
        tr
        for tr in tracks.values()
        if tr.resolved_day is not None and tr.resolved_day + 7 <= day_from_start[last]
    ]
    still = sum(
        any(
            _called(tr, "damp", 1.0, d)
            for d in range(days)
            if tr.resolved_day is not None and day_from_start[d] >= tr.resolved_day + 7
        )
        for tr in repaired
    )
    vacant = [tr for tr in tracks.values() if tr.vacant]
    vacant_rate = (
        sum(_called(tr, "cold", 1.0, last) for tr in vacant) / len(vacant) if vacant else 0.0
    )
    confusion: dict[str, Counter[str]] = {}
    for tr in tracks.values():
        damp_level, cold_level = tr.levels[last]
        outreach = _called(tr, "cold", 1.0, last)
        label = f"damp {damp_level}/cold {cold_level}{' outreach' if outreach else ''}"
        confusion.setdefault(tr.scenario, Counter())[label] += 1
    return Evaluation(
        flats=len(tracks),
        seeds=[estate.seed],
        curves=curves,
        delays=delays,
        missed=missed,
        confusion=confusion,
        vacant_outreach_rate=vacant_rate,
        repaired=len(repaired),
        repaired_still_flagged=still,
    )


def pool(evaluations: Sequence[Evaluation]) -> Evaluation:
    """Several seeds' evaluations as one: counts added, delays pooled."""
    if not evaluations:
        raise EvaluationError("no evaluations to pool")
    first = evaluations[0]
    curves: dict[str, list[CurvePoint]] = {}
    for kind in KINDS:
        pts = []
        for i, p in enumerate(first.curves[kind]):
            same = [e.curves[kind][i] for e in evaluations]
            flats_sound = [e.flats for e in evaluations]
            pts.append(
                CurvePoint(
                    p.threshold,
                    sum(q.tp for q in same),
                    sum(q.fp for q in same),
                    sum(q.fn for q in same),
                    float(np.average([q.sound_false_alarms for q in same], weights=flats_sound)),
                    float(
                        np.average([q.sound_flat_days_flagged for q in same], weights=flats_sound)
                    ),
                )
            )
        curves[kind] = pts
    confusion: dict[str, Counter[str]] = {}
    for e in evaluations:
        for sc, counts in e.confusion.items():
            confusion.setdefault(sc, Counter()).update(counts)
    return Evaluation(
        flats=sum(e.flats for e in evaluations),
        seeds=[s for e in evaluations for s in e.seeds],
        curves=curves,
        delays={k: [d for e in evaluations for d in e.delays[k]] for k in KINDS},
        missed={k: sum(e.missed[k] for e in evaluations) for k in KINDS},
        confusion=confusion,
        repaired=sum(e.repaired for e in evaluations),
        repaired_still_flagged=sum(e.repaired_still_flagged for e in evaluations),
        vacant_outreach_rate=float(
            np.average(
                [e.vacant_outreach_rate for e in evaluations],
                weights=[e.flats for e in evaluations],
            )
        ),
    )


def write_csv(ev: Evaluation, path: Path) -> None:
    """The curve (one row per kind and threshold) and the delays, as CSV."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "kind",
                "threshold",
                "precision",
                "recall",
                "tp",
                "fp",
                "fn",
                "sound_false_alarms",
                "sound_flat_days_flagged",
            ]
        )
        for kind in KINDS:
            for p in ev.curves[kind]:
                w.writerow(
                    [
                        kind,
                        p.threshold,
                        round(p.precision, 4),
                        round(p.recall, 4),
                        p.tp,
                        p.fp,
                        p.fn,
                        round(p.sound_false_alarms, 4),
                        round(p.sound_flat_days_flagged, 4),
                    ]
                )
    delays = path.with_name(path.stem + "_delays.csv")
    with delays.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["kind", "days_to_detect"])
        for kind in KINDS:
            for d in ev.delays[kind]:
                w.writerow([kind, d])


def write_png(ev: Evaluation, path: Path, title: str) -> None:
    """The precision-recall curves (the shipped thresholds marked) and the
    time-to-detection distributions, as a PNG (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_pr, ax_t) = plt.subplots(1, 2, figsize=(10, 4.2))
    for kind, colour, offset in (("damp", "tab:blue", (-70, -16)), ("cold", "tab:red", (-70, 8))):
        pts = ev.curves[kind]
        ax_pr.plot(
            [p.recall for p in pts],
            [p.precision for p in pts],
            marker=".",
            color=colour,
            label=f"{kind} (threshold {pts[0].threshold:g}–{pts[-1].threshold:g})",
        )
        op = ev.point(kind)
        ax_pr.plot(op.recall, op.precision, "o", ms=10, mfc="none", color=colour)
        ax_pr.annotate(
            f"{kind}: shipped", (op.recall, op.precision), textcoords="offset points", xytext=offset
        )
    ax_pr.set_xlabel("recall")
    ax_pr.set_ylabel("precision")
    ax_pr.set_xlim(0, 1.02)
    ax_pr.set_ylim(0, 1.02)
    ax_pr.grid(alpha=0.3)
    ax_pr.legend(loc="lower left", fontsize=8)
    ax_pr.set_title("precision–recall over the decision threshold")
    bins = np.arange(0, 15, 1.0)
    for kind, colour in (("damp", "tab:blue"), ("cold", "tab:red")):
        if ev.delays[kind]:
            ax_t.hist(ev.delays[kind], bins=bins, alpha=0.5, color=colour, label=kind)
    ax_t.set_xlabel("days from onset to first detection (shipped thresholds)")
    ax_t.set_ylabel("flats")
    ax_t.legend(fontsize=8)
    ax_t.set_title("time to detection")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
