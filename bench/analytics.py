"""Benchmark of the risk analytics. Prints its figures and ends with one JSON line.

(a) The pure engine: FLATS flats × 2 rooms × 30 days of 5-minute readings (synthetic,
    generated here chunk by chunk and not timed), the chunks scored by WORKERS
    processes in lock-step phases (all generate, untimed, then all score); the figure
    is the sum of the phases' scoring wall times. In the same run a subset of flats
    (500) is scored by a plain per-flat Python loop (the way an analyst would first
    write it: Python floats, reading by reading, the scalar physics functions of
    ``backend.risk``), checked against the engine, and the speed-up of the engine over
    it is printed: wall time per flat, and per process.
(b) The scheduled job against a real InfluxDB and a SQLite registry: incremental hourly
    runs over FLATS flats (each with 7 days of carried state and one new hour of
    5-minute readings), timed end to end: the first run of a day (every flat starts a
    history row) and the usual run an hour later (the day's rows updated in place).

    .venv/bin/python bench/analytics.py [--flats 57000] [--part a|b|both]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import numpy as np

from backend.risk.engine import FIELDS, IDX, ClimateGrid, EngineParams, SeriesState, score_grid
from backend.risk.heating import occupied_mask
from backend.risk.mould import DT_DAYS, MATERIALS, critical_rh
from backend.risk.psychrometrics import dew_point
from backend.risk.surfaces import surface_relative_humidity, surface_temperature
from dampwatch_core.const import BEDROOM, DEFAULT_F_RSI, LIVING_ROOM, MEASUREMENT

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
        temp = np.empty((n_series, STEPS), dtype=np.float32)
        rh = np.empty((n_series, STEPS), dtype=np.float32)
        # in blocks of rows that stay in cache (quicker to generate, untimed); the same
        # values as whole-array arithmetic
        for r0 in range(0, n_series, 32):
            sl = slice(r0, r0 + 32)
            noise = self.noise[pick[sl]]
            t, r = temp[sl], rh[sl]
            np.add(base_t[sl], self.cycle, out=t)
            t += 0.1 * noise
            np.subtract(base_rh[sl], 3 * self.cycle, out=r)
            r += 0.8 * noise[:, ::-1]
            r += self.spikes
            np.clip(r, 0, 100, out=r)
        return temp, rh


def grid_for(temp: np.ndarray, rh: np.ndarray, outdoor: np.ndarray) -> ClimateGrid:
    n = temp.shape[0]
    return ClimateGrid(
        start=DAY0,
        step_s=300,
        temp_c=temp,
        rh_pct=rh,
        rooms=[LIVING_ROOM, BEDROOM] * (n // 2),
        f_rsi=np.full(n, DEFAULT_F_RSI),
        outdoor_c=outdoor,
    )


def plain_loop_flat(
    temp: list[list[float]],
    rh: list[list[float]],
    rooms: list[str],
    outdoor: list[float],
    f_rsi: float,
    params: EngineParams,
) -> list[tuple[list[list[float]], float]]:
    """Score one flat's rooms with plain Python, as an analyst would first write it:
    per-hour means of the readings, counts of thresholds, the VTT mould step hour by
    hour and the cooling regression; ``(daily buckets, τ)`` per room."""
    mat = MATERIALS[params.material]
    k = 3600 // 300
    hours = len(temp[0]) // k
    days = hours // 24
    w = params.spike_window_s // 300
    out_hourly = []
    for h in range(hours):
        vals = [x for x in outdoor[h * k : (h + 1) * k] if not math.isnan(x)]
        out_hourly.append(sum(vals) / len(vals) if vals else math.nan)
    # the wall sees outdoor temperature through a first-order lag
    alpha = 1.0 - math.exp(-1.0 / params.outdoor_lag_h) if params.outdoor_lag_h > 0 else 1.0
    lagged, y = [], math.nan
    for x in out_hourly:
        if not math.isnan(x):
            y = x if math.isnan(y) else y + alpha * (x - y)
        lagged.append(y)
    results = []
    for t_series, rh_series, room in zip(temp, rh, rooms, strict=True):
        daily = [[0.0] * len(FIELDS) for _ in range(days)]
        mould_max: list[float] = [math.nan] * days
        mould_end: list[float] = [math.nan] * days
        m, dry = 0.0, 0.0
        humid_run = 0
        prev_t = prev_rh = math.nan
        hourly_t: list[float] = []
        for h in range(hours):
            ts = DAY0 + 3600 * h
            d = h // 24
            bucket = daily[d]
            t_sum = rh_sum = 0.0
            n = 0
            jumps = 0
            spike = False
            for i in range(h * k, (h + 1) * k):
                t, r = t_series[i], rh_series[i]
                if not math.isnan(t) and not math.isnan(r):
                    t_sum += t
                    rh_sum += r
                    n += 1
                if i > 0 and abs(t - t_series[i - 1]) > params.limits.jump_temp_c:
                    jumps += 1
                if i >= w and r - rh_series[i - w] >= params.limits.spike_rise_pct:
                    spike = True
            bucket[IDX["jumps"]] += jumps
            bucket[IDX["spikes"]] += spike
            if n == 0:
                hourly_t.append(math.nan)
                humid_run = 0
                continue
            cov = n / k
            t_h, rh_h = t_sum / n, rh_sum / n
            hourly_t.append(t_h)
            if t_h == prev_t and rh_h == prev_rh:
                bucket[IDX["flat_h"]] += 1
            prev_t, prev_rh = t_h, rh_h
            dew = float(dew_point(t_h, rh_h))
            bucket[IDX["hours"]] += cov
            bucket[IDX["temp_h"]] += t_h * cov
            bucket[IDX["rh_h"]] += rh_h * cov
            bucket[IDX["dew_h"]] += dew * cov
            if rh_h > 70.0:
                bucket[IDX["rh70_h"]] += cov
            humid_run = humid_run + 1 if rh_h > 70.0 else 0
            if humid_run >= 3:
                bucket[IDX["slow_clear_h"]] += cov
            if not params.occupied_only or bool(occupied_mask(ts, room)):
                bucket[IDX["occ_hours"]] += cov
                bucket[IDX["occ_temp_h"]] += t_h * cov
                if t_h < 18.0:
                    bucket[IDX["below18_h"]] += cov
                if t_h < 16.0:
                    bucket[IDX["below16_h"]] += cov
                bucket[IDX["dh18"]] += max(18.0 - t_h, 0.0) * cov
            if t_h < 0.0 or t_h > 45.0:
                bucket[IDX["implausible_h"]] += cov
            t_out = out_hourly[h]
            if math.isnan(t_out):
                continue
            bucket[IDX["outdoor_h"]] += t_out
            bucket[IDX["outdoor_hours"]] += 1
            surf = float(surface_temperature(t_h, lagged[h], f_rsi))
            surf_rh = float(surface_relative_humidity(t_h, rh_h, surf))
            bucket[IDX["surf_hours"]] += cov
            bucket[IDX["surf_rh_h"]] += surf_rh * cov
            if surf_rh >= 80.0:
                bucket[IDX["surf80_h"]] += cov
            if surf <= dew:
                bucket[IDX["cond_h"]] += cov
            # VTT mould index, one explicit Euler step of an hour
            rh_crit = float(critical_rh(surf, mat.rh_min))
            if 0.0 < surf < 50.0 and surf_rh >= rh_crit:
                k1 = mat.k1_below_1 if m < 1.0 else mat.k1_from_1
                x = (rh_crit - surf_rh) / (rh_crit - 100.0)
                m_max = mat.a + mat.b * x - mat.c * x * x
                k2 = max(1.0 - math.exp(min(2.3 * (m - m_max), 700.0)), 0.0)
                rate = 1.0 / (
                    7.0 * math.exp(-0.68 * math.log(surf) - 13.9 * math.log(surf_rh) + 66.02)
                )
                m += k1 * k2 * rate * DT_DAYS
                dry = 0.0
            else:
                if dry < 6.0:
                    m += -0.032 * params.decline * DT_DAYS
                elif dry >= 24.0:
                    m += -0.016 * params.decline * DT_DAYS
                dry += 1.0
            m = min(max(m, 0.0), 6.0)
            mould_max[d] = m if math.isnan(mould_max[d]) else max(mould_max[d], m)
            mould_end[d] = m
        for d in range(days):
            daily[d][IDX["mould_max"]] = mould_max[d]
            daily[d][IDX["mould_end"]] = mould_end[d]
        # cooling time constant: regress dT/dt on T_i, T_e and 1 over the inner steps
        # of free-running falls of at least 4 h (at least 0.05 K/h each)
        rows: list[tuple[float, float, float]] = []
        run: list[tuple[float, float, float]] = []
        for h in range(hours):
            ok = False
            if h + 1 < hours:
                dtdt = hourly_t[h + 1] - hourly_t[h]
                ti = (hourly_t[h] + hourly_t[h + 1]) / 2
                te = (out_hourly[h] + out_hourly[h + 1]) / 2
                ok = dtdt < -0.05 and ti - te > 2.0
            if ok:
                run.append((ti, te, dtdt))
                continue
            if len(run) >= 4:
                rows += run[1:-1]
            run = []
        tau = math.nan
        if len(rows) >= 12:
            a = np.array([[ti, te, 1.0] for ti, te, _ in rows])
            b = np.array([y for _, _, y in rows])
            if np.linalg.cond(a.T @ a) < 1e12:
                coef = np.linalg.solve(a.T @ a, a.T @ b)
                tau = -1.0 / coef[0] if coef[0] != 0 else math.nan
        results.append((daily, tau if 1.0 <= tau <= 1000.0 else math.nan))
    return results


def _score_worker(
    index: int,
    phases: list[int],
    barrier: Barrier,
    results: Queue,  # type: ignore[type-arg]
) -> None:
    """One worker process: per phase, generate its chunk (untimed), wait for the others,
    score it, wait again; reports ``(start, end)`` of each phase's scoring and its RSS."""
    syn = Synthetic(seed=7 + index)
    params = EngineParams()
    spans = []
    for n_flats in phases:
        temp, rh = syn.chunk(2 * n_flats) if n_flats else (None, None)
        barrier.wait()
        t0 = time.perf_counter()
        if temp is not None and rh is not None:
            daily, _ = score_grid(
                grid_for(temp, rh, syn.outdoor), SeriesState.new(2 * n_flats), params
            )
            assert daily.values.shape == (2 * n_flats, 30, len(FIELDS))
            del daily
        spans.append((t0, time.perf_counter()))
        del temp, rh
        barrier.wait()
    results.put((index, spans, peak_rss_mb()))


def part_a(flats: int, chunk_flats: int, workers: int, base_flats: int) -> dict[str, float]:
    """Chunks are scored by ``workers`` processes in lock-step phases: all generate
    (untimed), then all score; the figure is the sum of the phases' scoring wall times
    (first start to last end). Processes, not threads: numpy's many short calls per
    block contend for the GIL, and threads gained little here."""
    chunks = [min(chunk_flats, flats - i) for i in range(0, flats, chunk_flats)]
    n_phases = -(-len(chunks) // workers)
    plan = [[0] * n_phases for _ in range(workers)]
    for k, n_flats in enumerate(chunks):
        plan[k % workers][k // workers] = n_flats
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_score_worker, args=(i, plan[i], barrier, results))
        for i in range(workers)
    ]
    wall0 = time.perf_counter()
    for proc in procs:
        proc.start()
    reports = [results.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"a scoring worker failed (exit {proc.exitcode})")
    wall = time.perf_counter() - wall0
    spans = {i: s for i, s, _ in reports}
    score_wall = sum(
        max(spans[i][ph][1] for i in spans) - min(spans[i][ph][0] for i in spans)
        for ph in range(n_phases)
    )
    rss_total = sum(r for _, _, r in reports)
    readings = flats * 2 * STEPS
    syn = Synthetic()
    params = EngineParams()
    # baseline: a plain per-flat Python loop over a few flats, checked against the engine
    temp, rh = syn.chunk(2 * base_flats)
    rooms = [LIVING_ROOM, BEDROOM]
    outdoor = syn.outdoor.astype(float).tolist()
    t0 = time.perf_counter()
    loop_results = []
    for f in range(base_flats):
        sl = slice(2 * f, 2 * f + 2)
        loop_results += plain_loop_flat(
            temp[sl].astype(float).tolist(),
            rh[sl].astype(float).tolist(),
            rooms,
            outdoor,
            DEFAULT_F_RSI,
            params,
        )
    loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    daily, _ = score_grid(grid_for(temp, rh, syn.outdoor), SeriesState.new(2 * base_flats), params)
    vec = time.perf_counter() - t0
    loop_values = np.array([d for d, _ in loop_results])
    loop_tau = np.array([tau for _, tau in loop_results])
    # the engine sums float32 readings, the loop Python floats: agree to rounding
    close = np.isclose(loop_values, daily.values, rtol=1e-4, atol=1e-3, equal_nan=True)
    tau_close = np.isclose(loop_tau, daily.cooling_tau_h, rtol=1e-3, equal_nan=True)
    agree = float(np.mean(close))
    # speed-up per flat: the loop (one process) vs the engine's wall time on `workers`
    # processes, and per process
    engine_per_flat = score_wall / flats
    loop_per_flat = loop / base_flats
    return {
        "a_flats": flats,
        "a_readings": readings,
        "a_score_seconds": round(score_wall, 2),
        "a_wall_seconds_incl_generation": round(wall, 2),
        "a_readings_per_s": round(readings / score_wall),
        "a_peak_rss_mb": round(rss_total),
        "a_peak_rss_mb_per_worker": round(max(r for _, _, r in reports)),
        "a_loop_flats": base_flats,
        "a_loop_seconds": round(loop, 2),
        "a_loop_ms_per_flat": round(1000 * loop_per_flat, 1),
        "a_engine_ms_per_flat": round(1000 * engine_per_flat, 3),
        "a_workers": workers,
        "a_vector_subset_seconds": round(vec, 3),
        "a_loop_agreement": round(agree, 5),
        "a_loop_tau_agreement": round(float(np.mean(tau_close)), 3),
        "a_speedup_vs_loop": round(loop_per_flat / engine_per_flat),
        "a_speedup_vs_loop_per_process": round(loop_per_flat / (engine_per_flat * workers)),
    }


def part_b(flats: int) -> dict[str, float]:
    from sqlalchemy import func, insert, select

    from backend.scoring import NF, score_estate
    from dampwatch.stack.influxdb import InfluxDB
    from dampwatch_core.db import make_engine, make_sessionmaker, migrate
    from dampwatch_core.influx import InfluxClient
    from dampwatch_core.models import Device, Flat, RiskAssessment, ScoringState

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
                    "room": (LIVING_ROOM, BEDROOM)[i % 2],
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

        def write_hour(hour_start: int) -> None:
            """One hour of 5-minute readings for every device (untimed)."""
            batch: list[str] = []
            for i, d in enumerate(devs):
                key = (
                    f"{MEASUREMENT},device={d['id']},flat={d['flat_id']},"
                    f"landlord=leeds,room={d['room']}"
                )
                t = 15 + (i % 70) / 10
                for k in range(12):
                    batch.append(
                        f"{key} temp_c={t + 0.01 * k},rh_pct={60.0 + (i % 20)} "
                        f"{hour_start + 300 * k}"
                    )
                if len(batch) >= 50_000:
                    influx.write_lines(batch)
                    batch = []
            influx.write_lines(batch)

        write_hour(prev)
        setup = time.perf_counter() - setup0
        # the first run of a day: every flat's assessment starts that day's history row
        t0 = time.perf_counter()
        first = score_estate(sessions, influx, now=now_hour + 120)
        first_run = time.perf_counter() - t0
        # the next hour: the usual run, each flat's row of the day updated in place
        write_hour(now_hour)
        t0 = time.perf_counter()
        report = score_estate(sessions, influx, now=now_hour + 3600 + 120)
        run = time.perf_counter() - t0
        registry_mb = sum(f.stat().st_size for f in tmp.glob("registry.db*")) / 1e6
        with sessions() as session:
            history_rows = session.scalar(select(func.count()).select_from(RiskAssessment))
        return {
            "b_flats": flats,
            "b_devices_scored": report.devices_scored,
            "b_flats_assessed": report.flats_assessed,
            "b_run_seconds": round(run, 2),
            **{f"b_phase_{k}_seconds": v for k, v in report.phases.items()},
            "b_first_run_of_day_seconds": round(first_run, 2),
            "b_first_run_devices_scored": first.devices_scored,
            "b_registry_mb_after_two_runs": round(registry_mb, 1),
            "b_history_rows_after_two_runs": history_rows or 0,
            "b_setup_seconds_untimed": round(setup, 1),
            "b_peak_rss_mb": round(peak_rss_mb()),
        }
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flats", type=int, default=57_000)
    parser.add_argument("--chunk-flats", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loop-flats", type=int, default=500, help="flats in the plain loop")
    parser.add_argument("--part", choices=["a", "b", "both"], default="both")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    if args.part in ("a", "both"):
        a = part_a(args.flats, args.chunk_flats, args.workers, args.loop_flats)
        figures.update(a)
        print(
            f"(a) engine: {a['a_readings']:,} readings of {args.flats:,} flats scored in "
            f"{a['a_score_seconds']} s ({a['a_readings_per_s']:,.0f} readings/s, "
            f"{args.workers} processes); peak RSS {a['a_peak_rss_mb']} MB in all "
            f"({a['a_peak_rss_mb_per_worker']} MB per process)"
        )
        print(
            f"    plain Python loop: {a['a_loop_flats']} flats in {a['a_loop_seconds']} s "
            f"({a['a_loop_ms_per_flat']} ms/flat, agrees with the engine on "
            f"{100 * a['a_loop_agreement']:.3f} % of daily figures, "
            f"{100 * a['a_loop_tau_agreement']:.1f} % of τ); engine "
            f"{a['a_engine_ms_per_flat']} ms/flat on {a['a_workers']} processes: speed-up "
            f"{a['a_speedup_vs_loop']:,.0f}x "
            f"({a['a_speedup_vs_loop_per_process']:,.0f}x per process)"
        )
    if args.part in ("b", "both"):
        b = part_b(args.flats)
        figures.update(b)
        print(
            f"(b) scheduled job: one incremental hourly run over {b['b_flats']:,} flats "
            f"({b['b_devices_scored']:,} devices) in {b['b_run_seconds']} s; the first run "
            f"of the day (a new history row per flat) {b['b_first_run_of_day_seconds']} s"
        )
        print(
            "    phases: "
            + ", ".join(
                f"{k[len('b_phase_') : -len('_seconds')]} {v} s"
                for k, v in b.items()
                if k.startswith("b_phase_")
            )
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
