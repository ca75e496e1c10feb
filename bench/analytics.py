"""Benchmark of the risk analytics. Prints its figures and ends with one JSON line.

(a) The pure engine: FLATS flats × 2 rooms × 30 days of 5-minute readings (synthetic,
    generated here chunk by chunk and not timed), scored in chunks by WORKERS threads.
    In the same run a 500-flat subset is scored by a plain per-flat loop (the same
    engine called once per flat) and the speed-up is printed.
(b) The scheduled job against a real InfluxDB and a SQLite registry: one incremental
    hourly run over FLATS flats (each with 7 days of carried state and one new hour of
    5-minute readings), timed end to end.

    .venv/bin/python bench/analytics.py [--flats 57000] [--part a|b|both]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from backend.risk.engine import FIELDS, ClimateGrid, EngineParams, SeriesState, score_grid

DAY0 = 1764547200  # 2025-12-01T00:00Z
STEPS = 30 * 288


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Synthetic:
    """Plausible indoor climate, cheap to make: a daily cycle per series, a mix of
    warm/cold and dry/humid rooms, noise from a shared bank, shower spikes."""

    def __init__(self, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.noise = rng.normal(0, 1, (64, STEPS)).astype(np.float32)
        hours = (np.arange(STEPS) * 300 // 3600) % 24
        self.cycle = np.sin((hours - 9) / 24 * 2 * np.pi).astype(np.float32)
        self.spikes = ((hours == 7) | (hours == 19)).astype(np.float32) * 10
        self.outdoor = (4 + 3 * self.cycle + rng.normal(0, 0.5, STEPS)).astype(np.float32)
        self.rng = rng

    def chunk(self, n_series: int) -> tuple[np.ndarray, np.ndarray]:
        base_t = self.rng.uniform(13, 22, (n_series, 1)).astype(np.float32)
        base_rh = self.rng.uniform(40, 75, (n_series, 1)).astype(np.float32)
        pick = self.rng.integers(0, 64, n_series)
        noise = self.noise[pick]
        temp = base_t + self.cycle + 0.1 * noise
        rh = base_rh - 3 * self.cycle + 0.8 * noise[:, ::-1] + self.spikes
        np.clip(rh, 0, 100, out=rh)
        return temp, rh


def grid_for(temp: np.ndarray, rh: np.ndarray, outdoor: np.ndarray) -> ClimateGrid:
    n = temp.shape[0]
    return ClimateGrid(
        start=DAY0,
        step_s=300,
        temp_c=temp,
        rh_pct=rh,
        rooms=["living_room", "bedroom"] * (n // 2),
        f_rsi=np.full(n, 0.75),
        outdoor_c=outdoor,
    )


def part_a(flats: int, chunk_flats: int, workers: int) -> dict[str, float]:
    syn = Synthetic()
    params = EngineParams()
    lock = threading.Lock()
    timed = 0.0
    chunks = [min(chunk_flats, flats - i) for i in range(0, flats, chunk_flats)]

    def work(n_flats: int) -> float:
        with lock:  # generation is not timed, and is serialised
            temp, rh = syn.chunk(2 * n_flats)
        t0 = time.perf_counter()
        daily, _ = score_grid(grid_for(temp, rh, syn.outdoor), SeriesState.new(2 * n_flats), params)
        elapsed = time.perf_counter() - t0
        assert daily.values.shape == (2 * n_flats, 30, len(FIELDS))
        return elapsed

    wall0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        per_chunk = list(pool.map(work, chunks))
    wall = time.perf_counter() - wall0
    timed = sum(per_chunk)
    readings = flats * 2 * STEPS
    # scoring-only wall time: the threads overlap, so divide the summed chunk time
    score_wall = timed / workers if workers > 1 else timed
    # baseline: a plain per-flat loop over 500 flats
    base_flats = 500
    temp, rh = syn.chunk(2 * base_flats)
    t0 = time.perf_counter()
    for f in range(base_flats):
        sl = slice(2 * f, 2 * f + 2)
        score_grid(grid_for(temp[sl], rh[sl], syn.outdoor), SeriesState.new(2), params)
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    score_grid(grid_for(temp, rh, syn.outdoor), SeriesState.new(2 * base_flats), params)
    vec = time.perf_counter() - t0
    return {
        "a_flats": flats,
        "a_readings": readings,
        "a_score_seconds": round(score_wall, 2),
        "a_wall_seconds_incl_generation": round(wall, 2),
        "a_readings_per_s": round(readings / score_wall),
        "a_peak_rss_mb": round(peak_rss_mb()),
        "a_loop_500_seconds": round(loop, 2),
        "a_vector_500_seconds": round(vec, 3),
        "a_speedup_vs_loop": round(loop / vec, 1),
    }


def part_b(flats: int) -> dict[str, float]:
    from sqlalchemy import insert

    from backend.scoring import NF, score_estate
    from dampwatch.stack.influxdb import InfluxDB
    from dampwatch_core.db import make_engine, make_sessionmaker, migrate
    from dampwatch_core.influx import InfluxClient
    from dampwatch_core.models import Device, Flat, ScoringState

    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    server = InfluxDB(tmp / "influx")
    server.start()
    try:
        url = f"sqlite:///{tmp / 'registry.db'}"
        migrate(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        now_hour = DAY0 + 8 * 86400 + 10 * 3600
        prev = now_hour - 3600
        days = [DAY0 + (8 - k) * 86400 for k in range(7, -1, -1)]
        rng = np.random.default_rng(1)
        setup0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(
                insert(Flat),
                [
                    {
                        "id": f"F{i:06d}",
                        "landlord": "leeds",
                        "block": f"B{i // 100:04d}",
                        "address": f"{i} Bench Court",
                    }
                    for i in range(flats)
                ],
            )
            devs = [
                {
                    "id": f"esp32-{i:012x}",
                    "flat_id": f"F{i // 2:06d}",
                    "room": ("living_room", "bedroom")[i % 2],
                    "password_hash": "x",
                }
                for i in range(2 * flats)
            ]
            conn.execute(insert(Device), devs)
            buckets = rng.uniform(0, 1, (len(days), NF)).astype(np.float32)
            buckets[:, 0] = 24
            conn.execute(
                insert(ScoringState),
                [
                    {
                        "device_id": d["id"],
                        "flat_id": d["flat_id"],
                        "room": d["room"],
                        "last_ts": prev,
                        "state": {"mould": 0.0, "dry": 100.0, "days": days},
                        "buckets": buckets.tobytes(),
                    }
                    for d in devs
                ],
            )
        influx = InfluxClient(server.url, server.database, timeout_s=600)
        # one new hour of 5-minute readings per device (and 12 earlier, so "latest" is known)
        batch: list[str] = []
        for i, d in enumerate(devs):
            key = f"climate,device={d['id']},flat={d['flat_id']},landlord=leeds,room={d['room']}"
            t = 15 + (i % 70) / 10
            for k in range(12):
                batch.append(
                    f"{key} temp_c={t + 0.01 * k},rh_pct={60.0 + (i % 20)} {prev + 300 * k}"
                )
            if len(batch) >= 50_000:
                influx.write_lines(batch)
                batch = []
        influx.write_lines(batch)
        setup = time.perf_counter() - setup0
        t0 = time.perf_counter()
        report = score_estate(sessions, influx, now=now_hour + 120)
        run = time.perf_counter() - t0
        return {
            "b_flats": flats,
            "b_devices_scored": report.devices_scored,
            "b_flats_assessed": report.flats_assessed,
            "b_run_seconds": round(run, 2),
            "b_setup_seconds_untimed": round(setup, 1),
            "b_peak_rss_mb": round(peak_rss_mb()),
        }
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flats", type=int, default=57_000)
    parser.add_argument("--chunk-flats", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--part", choices=["a", "b", "both"], default="both")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    if args.part in ("a", "both"):
        a = part_a(args.flats, args.chunk_flats, args.workers)
        figures.update(a)
        print(
            f"(a) engine: {a['a_readings']:,} readings of {args.flats:,} flats scored in "
            f"{a['a_score_seconds']} s ({a['a_readings_per_s']:,.0f} readings/s, "
            f"{args.workers} threads); peak RSS {a['a_peak_rss_mb']} MB"
        )
        print(
            f"    500 flats: per-flat loop {a['a_loop_500_seconds']} s, vectorised "
            f"{a['a_vector_500_seconds']} s: speed-up {a['a_speedup_vs_loop']}x"
        )
    if args.part in ("b", "both"):
        b = part_b(args.flats)
        figures.update(b)
        print(
            f"(b) scheduled job: one incremental hourly run over {b['b_flats']:,} flats "
            f"({b['b_devices_scored']:,} devices) in {b['b_run_seconds']} s"
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
