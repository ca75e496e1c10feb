"""Draw a damp flat's week from the flat model: air RH, the coldest surface's RH and
the water standing on it (``docs/figures/damp_flat_week.png``).

    .venv/bin/python tools/damp_week_chart.py [--out docs/figures/damp_flat_week.png]

A poorly ventilated living room (0.3 air changes an hour, no extractor, a household
of four drying washing indoors two days a week, heated morning and evening to 18.5 °C)
in a generated Leeds December week, f_Rsi 0.75, a wall with a 48 h time constant.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from simulators.flat import STEP_S, RoomDrivers, RoomParams, simulate_rooms
from simulators.weather import weather_at

START = 1764979200  # 2025-12-06 00:00 UTC
DAYS = 7
ACH = 0.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures/damp_flat_week.png"))
    args = parser.parse_args()
    steps = DAYS * 86400 // STEP_S
    ts = START + STEP_S * np.arange(steps, dtype=np.int64)
    w = weather_at(ts, seed=5)
    hour = (ts % 86400) / 3600
    day = (ts - START) // 86400
    home = (hour < 9) | (hour >= 16)
    drying = np.isin(day, [1, 4]) & (hour >= 10) & (hour < 20)
    cooking = ((hour >= 8) & (hour < 8.5)) | ((hour >= 18.5) & (hour < 19))
    g_per_h = (
        np.where(home, 4 * 55.0 * 40 / 125, 0.0)  # breathing, the room's share by volume
        + np.where(drying, 3 * 140.0 * 40 / 125, 0.0)
        + np.where(cooking, 900.0 * 40 / 125, 0.0)
        + 4 * 450.0 / 24 * 40 / 125
    )
    drivers = RoomDrivers.idle(1, steps)
    drivers.setpoint_c[:] = 18.5
    drivers.heating_allowed[0] = ((hour >= 7) & (hour < 9)) | ((hour >= 17) & (hour < 22))
    drivers.gains_w[0] = np.where(home, 4 * 80.0, 0.0)
    drivers.moisture_g_per_s[0] = g_per_h / 3600
    h = 25.0
    p = RoomParams(
        h_w_per_k=np.array([h]),
        c_j_per_k=np.array([(h + 1200 * ACH * 40 / 3600) * 45 * 3600.0]),
        volume_m3=np.array([40.0]),
        ach_per_h=np.array([ACH]),
        f_rsi=np.array([0.75]),
        heater_w=np.array([1500.0]),
        initial_c=np.array([18.5]),
        wall_tau_h=48.0,
        cold_area_m2=4.0,
        buffer_g=37.5 * 40,
    )
    out = simulate_rooms(p, w.temp_c, w.rh_pct, drivers)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_days = (ts - START) / 86400
    fig, (ax, ax_w) = plt.subplots(2, 1, figsize=(9, 5), sharex=True, height_ratios=[2, 1])
    ax.plot(t_days, out.rh_pct[0], label="air RH", color="tab:blue", lw=1)
    ax.plot(t_days, out.surface_rh_pct[0], label="coldest surface RH", color="tab:red", lw=1)
    ax.axhline(80, color="grey", ls=":", lw=1)
    ax.text(0.02, 81, "80 %: ISO 13788 surface limit", fontsize=8, color="grey")
    ax.set_ylabel("RH [%]")
    ax.set_ylim(40, 102)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(
        "A damp living room's week (flat model: 0.3 ach, four people, washing dried indoors twice)"
    )
    ax_w.fill_between(t_days, out.water_g[0], color="tab:cyan", alpha=0.6)
    ax_w.set_ylabel("water on the\ncold surface [g]")
    ax_w.set_xlabel("day")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    wet = out.water_g[0] > 1
    print(
        f"wrote {args.out}: air RH max {out.rh_pct[0].max():.1f} %, "
        f"mean {out.rh_pct[0].mean():.1f} %; surface wet {wet.mean():.0%} of the week; "
        f"air RH while wet {out.rh_pct[0][wet].mean():.1f} % (max {out.rh_pct[0][wet].max():.1f} %)"
    )


if __name__ == "__main__":
    main()
