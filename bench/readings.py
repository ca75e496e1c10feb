"""Benchmark of the readings endpoint: peak memory of the API process for one long-window
request. Prints its figures and ends with one JSON line.

One flat with DEVICES devices and DAYS days of 5-minute readings in a real InfluxDB
(downsampled to hourly aggregates as the scheduler would), a SQLite registry, and the
API under uvicorn in its own process (``--src DIR`` serves the code in DIR/src, e.g. an
older commit's, for a before/after). For each request the process's peak RSS (VmHWM)
is read before and after; the growth is the request's cost.

    .venv/bin/python bench/readings.py [--days 400] [--devices 3] [--src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from backend.downsample import downsample_hourly
from backend.registry import add_device, add_flat
from dampwatch.stack.influxdb import InfluxDB
from dampwatch.stack.ports import free_port
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.influx import InfluxClient, format_line

SERVER = """
import sys, uvicorn
from backend.app import create_app
from dampwatch_core.settings import Settings
settings = Settings(database_url=sys.argv[1], influx_url=sys.argv[2], influx_database="dampwatch")
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--src", type=Path, help="serve the code in SRC/src (default: this)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        influx = InfluxDB(Path(tmp) / "influxdb")
        influx.start()
        db_url = f"sqlite:///{tmp}/registry.db"
        migrate(db_url)
        engine = make_engine(db_url)
        with make_sessionmaker(engine).begin() as session:
            add_flat(session, "F-1", "1 Bench Court")
            session.flush()
            for d in range(args.devices):
                add_device(session, f"esp32-bench{d:07d}", "F-1", f"room{d}")
        engine.dispose()

        now = int(time.time())
        start = now - args.days * 86400
        client = InfluxClient(influx.url, influx.database, timeout_s=120)
        t0 = time.monotonic()
        points = 0
        for d in range(args.devices):
            tags = {"device": f"esp32-bench{d:07d}", "flat": "F-1", "room": f"room{d}"}
            batch = []
            for ts in range(start, now, 300):
                fields = {"temp_c": 18 + (ts % 97) / 50, "rh_pct": 60 + (ts % 89) / 5}
                batch.append(format_line("climate", tags, fields, ts))
                if len(batch) == 20_000:
                    points += client.write_lines(batch)
                    batch = []
            points += client.write_lines(batch)
        written_s = time.monotonic() - t0
        downsample_hourly(client, now=now, max_lookback_h=args.days * 24 + 24, window_h=24 * 14)
        client.close()
        print(f"{points:,} readings written in {written_s:.1f} s; downsampled")

        port = free_port()
        env = dict(os.environ)
        if args.src:
            env["PYTHONPATH"] = str(args.src / "src")
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, db_url, influx.url, str(port)], env=env
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            url = f"{base}/api/v1/flats/F-1/readings"
            window = {"from": start, "to": now}
            results = {}
            for name, params in (
                ("default", window),
                ("raw_first_page", {**window, "resolution": "raw"}),
            ):
                before = hwm_kb(server.pid)
                t = time.monotonic()
                r = httpx.get(url, params=params, timeout=300)
                took = time.monotonic() - t
                body = r.json()
                after = hwm_kb(server.pid)
                results[name] = {
                    "status": r.status_code,
                    "rows": body.get("count"),
                    "resolution": body.get("resolution", "raw"),
                    "partial": body.get("partial"),
                    "seconds": round(took, 2),
                    "peak_rss_mb": round(after / 1024, 1),
                    "growth_mb": round((after - before) / 1024, 1),
                    "response_mb": round(len(r.content) / 2**20, 1),
                }
                print(name, results[name])
                if "partial" not in body:
                    break  # the old API answers both the same way
        finally:
            server.terminate()
            server.wait(10)
            influx.stop()
    print(json.dumps({"days": args.days, "devices": args.devices, "readings": points, **results}))


if __name__ == "__main__":
    main()
