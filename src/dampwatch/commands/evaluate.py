"""``dampwatch evaluate``: how well risk detection works on simulated, labelled estates:
the precision-recall curve over the decision threshold, time to detection, and the
shipped thresholds' operating point, over one or more seeds."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

DEFAULT_END = 1765584000  # 2025-12-13, a winter


def _seeds(text: str) -> list[int]:
    """``43`` or ``43-47`` or ``43,45,47``."""
    out: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part.strip()[1:]:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds {text!r}: like 43, 43-47 or 43,45") from None
    if not out or len(out) > 100:
        raise argparse.ArgumentTypeError(f"seeds {text!r}: 1 to 100 seeds")
    return out


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "evaluate",
        help="precision-recall curve and time to detection of risk detection on simulated estates",
    )
    parser.add_argument("--estate", type=Path, default=Path("examples/estates/demo.toml"))
    parser.add_argument("--seed", type=int, help="one seed instead of the estate's")
    parser.add_argument(
        "--seeds", type=_seeds, help="several seeds, pooled (e.g. 43-47); held-out seeds"
    )
    parser.add_argument(
        "--end",
        type=int,
        default=DEFAULT_END,
        help="last simulated time, Unix s (default 2025-12-13, a winter)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="write the curve as OUT.csv (and OUT_delays.csv) and the chart as OUT.png",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dampwatch.evaluation import EvaluationError, evaluate_estate, pool, write_csv, write_png
    from simulators.errors import SimulatorError
    from simulators.estate import load_estate

    try:
        spec = load_estate(args.estate)
    except SimulatorError as exc:
        print(f"dampwatch evaluate: {exc}", file=sys.stderr)
        return 2
    seeds = args.seeds or [spec.seed if args.seed is None else args.seed]
    t0 = time.perf_counter()
    try:
        each = [evaluate_estate(spec.generate(seed, end=args.end)) for seed in seeds]
        ev = pool(each)
    except EvaluationError as exc:
        print(f"dampwatch evaluate: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0
    day = time.strftime("%Y-%m-%d", time.gmtime(args.end))
    seed_text = ", ".join(map(str, seeds))
    print(
        f"Detection quality on {spec.name}, seeds {seed_text}: {ev.flats} flats, "
        f"{spec.days} days ending {day}"
    )
    fig = ev.figures()
    print(
        f"{'shipped thresholds':<22}{'precision':>10}{'recall':>8}{'sound flagged':>15}"
        f"{'median days':>13}{'p90 days':>10}{'missed':>8}"
    )
    for label, kind in (("damp and mould", "damp"), ("under-heating", "cold")):
        print(
            f"{label:<22}{fig[kind + '_precision']:>10.3f}{fig[kind + '_recall']:>8.3f}"
            f"{fig[kind + '_sound_false_alarm_rate']:>15.1%}"
            f"{fig[kind + '_median_days_to_detect']:>13}{fig[kind + '_p90_days_to_detect']:>10}"
            f"{ev.missed[kind]:>8}"
        )
    damp_days, cold_days = fig["damp_sound_flat_days_flagged"], fig["cold_sound_flat_days_flagged"]
    print(f"sound flats' days called damp: {damp_days:.2%}, cold: {cold_days:.2%}")
    print(f"vacant flats that would get an outreach ticket: {ev.vacant_outreach_rate:.1%}")
    if len(each) > 1:
        print("per seed (damp precision/recall, cold precision/recall):")
        for one in each:
            d, c = one.point("damp"), one.point("cold")
            print(
                f"  seed {one.seeds[0]}: {d.precision:.3f}/{d.recall:.3f}, "
                f"{c.precision:.3f}/{c.recall:.3f}"
            )
    print(
        f"flats whose ventilation repair worked, still called damp a week after: "
        f"{ev.repaired_still_flagged} of {ev.repaired}"
    )
    for kind in ("damp", "cold"):
        print(f"\n{kind}: precision-recall over the threshold on the evidence (1 = shipped)")
        for p in ev.curves[kind][::2]:
            print(f"  ≥ {p.threshold:<5g} precision {p.precision:.3f} recall {p.recall:.3f}")
    print("\nby scenario (levels on the last day; outreach = cold ≥ medium, not flagged vacant)")
    for scenario, counts in sorted(ev.confusion.items()):
        print(f"  {scenario:<22} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(ev, args.out.with_suffix(".csv"))
        write_png(ev, args.out.with_suffix(".png"), f"{spec.name}, seeds {seed_text}")
        print(f"wrote {args.out.with_suffix('.csv')} and {args.out.with_suffix('.png')}")
    print(f"({elapsed:.1f} s)")
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in fig.items()}
    print(json.dumps(clean))
    return 0
