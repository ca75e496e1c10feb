"""Benchmark of the officers' dashboard at the scale of a large landlord. Prints its
figures and ends with one JSON line.

Loads a SQLite registry with FLATS flats (each with a risk assessment), two sensors per
flat, OPEN_CASES open repair cases (opened through the case desk, with their clocks and
work orders); and, in a real InfluxDB, 30 days of 10-minute readings for a SAMPLE of
flats (the chart and evidence flats are drawn from it) with their hourly aggregates, as
the downsampling job writes them. Loading 30 days for every flat (about 830 million
points) is not practical here: the per-flat pages read one flat's series, so their cost
does not depend on how many other flats have readings.

Then the API and dashboard run under uvicorn in their own process, and CLIENTS
concurrent clients (asyncio + httpx, an API token of an admin, who sees every landlord)
request each page REQUESTS times: the case queue, the estate overview, a flat's 30-day
chart data, the KPI page, one evidence pack as PDF, and a static file served by the same
server (the ceiling). Median and p95 latency per page, and requests per second.

    .venv/bin/python bench/dashboard.py [--flats 57000] [--cases 2000] [--sample 100]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import CaseDesk
from alerting.cases.states import CaseKind, TriggerSource
from backend.auth.tokens import create_token
from backend.auth.users import add_user
from backend.downsample import downsample_hourly
from dampwatch.stack.influxdb import InfluxDB
from dampwatch.stack.ports import free_port
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.influx import InfluxClient, format_line
from dampwatch_core.models import Device, Flat, FlatRisk, RiskAssessment
from dampwatch_core.models_cases import Contractor

TARGETS_MS = {"queue": 150, "estate": 150, "kpis": 150, "chart": 300, "evidence_pdf": 3000}
LEVELS = ("none", "low", "medium", "high")


def load_registry(url: str, flats: int, cases: int) -> list[str]:
    """Flats, devices, assessments and open cases; returns the case references."""
    migrate(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(7)
    blocks = [f"Block {b:03d}" for b in range(max(1, flats // 120))]
    t0 = time.perf_counter()
    with sessions.begin() as s:
        s.execute(
            insert(Flat),
            [
                {
                    "id": f"F{i:06d}",
                    "address": f"Flat {i % 120 + 1}, {blocks[i % len(blocks)]}",
                    "block": blocks[i % len(blocks)],
                    "landlord": "default",
                    "created_at": now,
                }
                for i in range(flats)
            ],
        )
        s.execute(
            insert(Device),
            [
                {
                    "id": f"esp32-{i:06d}{room:0>6}"[:18],
                    "flat_id": f"F{i:06d}",
                    "room": ("bedroom", "kitchen")[room],
                    "password_hash": "x",
                    "created_at": now,
                    "updated_at": now,
                    "last_seen": now - dt.timedelta(hours=rng.choice([0, 0, 0, 0, 30, 200])),
                    "batt_mv": rng.choice([3000, 2950, 2500]),
                    "drops": rng.choice([0, 0, 0, 4]),
                }
                for i in range(flats)
                for room in (0, 1)
            ],
        )
        assessments = []
        for i in range(flats):
            damp, cold = rng.choice(LEVELS), rng.choice(LEVELS[:3])
            assessments.append(
                {
                    "id": i + 1,
                    "flat_id": f"F{i:06d}",
                    "assessed_at": now,
                    "damp_level": damp,
                    "cold_level": cold,
                    "score": rng.random() * 3,
                    "reasons": [{"code": "test", "message": "bedroom wall wet for 41 h"}],
                    "flags": [],
                    "rooms": [],
                    "thresholds_version": "bench",
                }
            )
        s.execute(insert(RiskAssessment), assessments)
        s.execute(
            insert(FlatRisk),
            [
                {
                    "flat_id": a["flat_id"],
                    "assessment_id": a["id"],
                    "assessed_at": now,
                    "damp_level": a["damp_level"],
                    "cold_level": a["cold_level"],
                    "rank": max(LEVELS.index(a["damp_level"]), LEVELS.index(a["cold_level"])),
                    "score": a["score"],
                }
                for a in assessments
            ],
        )
        s.add(
            Contractor(
                name="Acme Damp",
                trade="damp_mould",
                webhook_url="https://acme.example/hook",
                secret="whsec_x",
                enabled=True,
            )
        )
    print(f"registry: {flats} flats, {2 * flats} devices in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    desk = CaseDesk(WorkingCalendar.england_and_wales())
    refs = []
    with sessions.begin() as s:
        for k in range(cases):
            aware = now - dt.timedelta(hours=rng.uniform(0, 24 * 20))
            case = desk.open_case(
                s,
                flat_id=f"F{k * (flats // cases):06d}",
                kind=CaseKind.REPAIR,
                trigger=TriggerSource.SENSOR,
                aware_at=aware,
                actor="system",
                now=now,
                description="bench case",
                risk_level="high",
            )
            refs.append(case.reference)
    print(f"cases: {cases} open cases through the desk in {time.perf_counter() - t0:.1f} s")
    engine.dispose()
    return refs


def load_readings(influx: InfluxClient, flat_ids: list[str], days: int = 30) -> int:
    end = int(time.time()) // 600 * 600
    start = end - days * 86400
    n = 0
    for flat in flat_ids:
        i = int(flat[1:])
        lines = []
        for room in (0, 1):
            device = f"esp32-{i:06d}{room:0>6}"[:18]
            for t in range(start, end, 600):
                hour = (t // 3600) % 24
                lines.append(
                    format_line(
                        "climate",
                        {
                            "device": device,
                            "flat": flat,
                            "room": ("bedroom", "kitchen")[room],
                            "landlord": "default",
                        },
                        {
                            "temp_c": 17 + 3 * ((hour - 6) % 24 > 12),
                            "rh_pct": 65 + (t % 13),
                            "surface_c": 13.5,
                        },
                        t,
                    )
                )
        for k in range(0, len(lines), 10_000):
            influx.write_lines(lines[k : k + 10_000])
        n += len(lines)
    return n


async def measure(base: str, headers: dict[str, str], path_of, requests: int, clients: int):  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for k in range(requests):
        queue.put_nowait(k)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                k = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t = time.perf_counter()
            r = await client.get(path_of(k))
            await r.aread()
            latencies.append((time.perf_counter() - t) * 1000)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for _ in range(clients)))
        wall = time.perf_counter() - t0
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return {
        "n": len(latencies),
        "median_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(p95, 1),
        "rps": round(len(latencies) / wall, 1),
        "statuses": statuses,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flats", type=int, default=57_000)
    ap.add_argument("--cases", type=int, default=2_000)
    ap.add_argument("--sample", type=int, default=100, help="flats with 30 days of readings")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=200, help="per page (PDF: a tenth)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    influxd = InfluxDB(tmp / "influx")
    influxd.start()
    server = None
    try:
        url = f"sqlite:///{tmp / 'registry.db'}"
        refs = load_registry(url, args.flats, args.cases)
        step = args.flats // args.cases
        # the sample: flats with a case first (the evidence packs), then others
        sample = [f"F{k * step:06d}" for k in range(min(args.sample, args.cases))]
        t0 = time.perf_counter()
        with InfluxClient(influxd.url, "dampwatch") as influx:
            influx.create_database()
            points = load_readings(influx, sample)
            hourly = downsample_hourly(influx, max_lookback_h=24 * 31)
        print(
            f"readings: {points} points for {len(sample)} flats (30 days, 10-minute), "
            f"{hourly} hourly aggregates, in {time.perf_counter() - t0:.1f} s"
        )
        engine = make_engine(url)
        with make_sessionmaker(engine).begin() as s:
            admin = add_user(s, "bench@example.org", "admin", "a long bench password")
            s.flush()
            token = create_token(s, admin, "bench")[1]
        engine.dispose()
        port = free_port()
        env_file = tmp / "dampwatch.env"
        env_file.write_text(
            f"DAMPWATCH_DATABASE_URL={url}\nDAMPWATCH_INFLUX_URL={influxd.url}\n"
            "DAMPWATCH_INFLUX_DATABASE=dampwatch\n"
        )
        exe = Path(sys.executable).with_name("dampwatch")
        server = subprocess.Popen(
            [str(exe), "api", "--settings", str(env_file), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ},
        )
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        pages = {
            "static": (lambda k: "/static/style.css", args.requests),
            "queue": (lambda k: f"/cases?page={1 + k % 5}", args.requests),
            "estate": (lambda k: f"/?page={1 + k % 5}", args.requests),
            "chart": (
                lambda k: f"/flats/{sample[k % len(sample)]}/chart.json?days=30",
                args.requests,
            ),
            "kpis": (lambda k: "/kpis", args.requests),
            "evidence_pdf": (
                lambda k: f"/cases/{refs[k % len(sample)]}/evidence.pdf",
                max(10, args.requests // 10),
            ),
        }
        results = {}
        for name, (path_of, n) in pages.items():
            asyncio.run(measure(base, headers, path_of, min(n, 20), args.clients))  # warm-up
            results[name] = asyncio.run(measure(base, headers, path_of, n, args.clients))
            r = results[name]
            target = TARGETS_MS.get(name)
            verdict = (
                ""
                if target is None
                else (
                    f"  target p95 <= {target} ms: {'met' if r['p95_ms'] <= target else 'MISSED'}"
                )
            )
            print(
                f"{name:13s} median {r['median_ms']:8.1f} ms  p95 {r['p95_ms']:8.1f} ms  "
                f"{r['rps']:7.1f} req/s  {r['statuses']}{verdict}"
            )
        summary = {
            "bench": "dashboard",
            "flats": args.flats,
            "devices": 2 * args.flats,
            "open_cases": args.cases,
            "flats_with_readings": len(sample),
            "clients": args.clients,
            "store": "sqlite",
            "pages": results,
            "targets_p95_ms": TARGETS_MS,
            "targets_met": {k: results[k]["p95_ms"] <= v for k, v in TARGETS_MS.items()},
        }
        print(json.dumps(summary))
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        influxd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
