"""``python -m simulators.flatsim ESTATE.toml --out DIR [--end UNIX_S]``: generate an
estate and write ``readings.csv``, ``outdoor.csv``, ``truth.csv`` and ``devices.csv``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from simulators.flatsim.csvout import (
    write_devices_csv,
    write_outdoor_csv,
    write_readings_csv,
    write_truth_csv,
)
from simulators.flatsim.errors import FlatsimError
from simulators.flatsim.estate import generate
from simulators.flatsim.spec import load_estate

log = logging.getLogger("simulators.flatsim")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m simulators.flatsim", description=__doc__)
    parser.add_argument("estate", type=Path, help="estate TOML file")
    parser.add_argument("--out", type=Path, required=True, help="directory for the CSV files")
    parser.add_argument("--end", type=int, default=None, help="window end, Unix seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        spec = load_estate(args.estate)
    except FlatsimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    estate = generate(spec, end=args.end)
    log.info(
        "generated %d flats, %d devices, %d samples each in %.1f s",
        len(estate.flats),
        len(estate.devices),
        estate.outdoor.ts.size,
        time.perf_counter() - t0,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    rows = write_readings_csv(estate, args.out / "readings.csv")
    write_outdoor_csv(estate, args.out / "outdoor.csv")
    write_truth_csv(estate, args.out / "truth.csv")
    write_devices_csv(estate, args.out / "devices.csv")
    log.info("wrote %d readings to %s", rows, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
