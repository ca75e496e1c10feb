"""Writes the example CSVs (deterministic). Run: python examples/analyse/make_example.py

Four flats, a week in December 2025 (UTC), 5-minute samples, living room and bedroom:

- LC-0101 healthy: heated to 20-21 C, showers and cooking show as humidity spikes.
- LC-0102 poor ventilation: 18-19 C, air RH around 72 %: the cold wall (f_Rsi 0.75,
  outdoor about 3 C) sits above 80 % RH -> damp/mould high.
- LC-0103 under-heated: about 14.5 C all week, but occupied (spikes) -> cold high.
- LC-0104 empty: cold and no humidity spikes -> cold high, flagged possible vacancy.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

HERE = Path(__file__).parent
START = 1764547200  # 2025-12-01T00:00:00Z
DAYS = 7


def main() -> None:
    rng = random.Random(2025)
    kinds = {"LC-0101": "healthy", "LC-0102": "damp", "LC-0103": "cold", "LC-0104": "empty"}
    with (HERE / "readings.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["flat_id", "room", "ts", "temp_c", "rh_pct"])
        for flat, kind in kinds.items():
            for room in ("living_room", "bedroom"):
                for i in range(DAYS * 288):
                    ts = START + 300 * i
                    hour = (ts // 3600) % 24
                    day_cycle = math.sin((hour - 9) / 24 * 2 * math.pi)
                    spike = hour in (7, 18) and (ts // 300) % 12 < 3
                    temp, rh = {
                        "healthy": (20.5 + day_cycle, 50.0 + (14 if spike else 0)),
                        "damp": (18.5 + day_cycle, 72.0 + (12 if spike else 0)),
                        "cold": (14.5 + 0.5 * day_cycle, 62.0 + (12 if spike else 0)),
                        "empty": (12.5 + 0.3 * day_cycle, 58.0),
                    }[kind]
                    rh = min(rh + rng.gauss(0, 0.6), 100.0)
                    w.writerow([flat, room, ts, f"{temp + rng.gauss(0, 0.05):.2f}", f"{rh:.1f}"])
    with (HERE / "outdoor.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ts", "temp_c"])
        for i in range(DAYS * 24 + 1):
            hour = i % 24
            w.writerow(
                [START + 3600 * i, f"{3.0 + 3.0 * math.sin((hour - 9) / 24 * 2 * math.pi):.1f}"]
            )


if __name__ == "__main__":
    main()
