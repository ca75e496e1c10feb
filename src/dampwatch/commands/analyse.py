"""``dampwatch analyse``: the risk engine on a readings CSV, for analysts and checking."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.risk.analyse import analyse_csv
from backend.risk.thresholds import load_thresholds
from dampwatch_core.const import DEFAULT_F_RSI


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "analyse",
        help="damp, mould and cold risk from a readings CSV",
        description="READINGS columns: flat_id,room,ts,temp_c,rh_pct[,surface_c] (ts Unix "
        "seconds or ISO 8601 with offset). OUTDOOR columns: ts,temp_c.",
    )
    parser.add_argument("readings", type=Path, metavar="READINGS.csv")
    parser.add_argument("--outdoor", type=Path, metavar="OUTDOOR.csv")
    parser.add_argument(
        "--f-rsi",
        type=float,
        default=DEFAULT_F_RSI,
        help=f"temperature factor ({DEFAULT_F_RSI})",
    )
    parser.add_argument(
        "--material",
        choices=["vs", "s", "mr", "r"],
        default="s",
        help="VTT sensitivity class of the wall surface (s)",
    )
    parser.add_argument("--decline", type=float, default=0.25, help="VTT decline coefficient")
    parser.add_argument(
        "--occupied-only",
        action="store_true",
        help="count under-heating only in occupied windows (living rooms "
        "08–20, bedrooms 20–08, Europe/London)",
    )
    parser.add_argument("--thresholds", type=Path, help="a thresholds.toml of your own")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = analyse_csv(
        args.readings,
        outdoor_path=args.outdoor,
        f_rsi=args.f_rsi,
        material=args.material,
        decline=args.decline,
        occupied_only=args.occupied_only,
        thresholds=load_thresholds(args.thresholds) if args.thresholds else None,
    )
    for file, err in result.errors:
        print(f"{file}:{err.line}: {err.message}", file=sys.stderr)
    if args.json:
        json.dump(result.as_dict(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(f"{'FLAT':<14} {'DAMP/MOULD':<11} {'COLD':<8} WHY")
        for flat in sorted(result.flats, key=lambda f: -f.score):
            why = "; ".join(r["message"] for r in flat.reasons) or "nothing of concern"
            print(f"{flat.flat_id:<14} {flat.damp_level:<11} {flat.cold_level:<8} {why}")
            for flag in flat.flags:
                print(f"{'':<35}! {flag['message']}")
        print(f"(thresholds {result.thresholds_version})")
    if result.errors:
        print(f"{len(result.errors)} row(s) rejected", file=sys.stderr)
        return 1
    return 0
