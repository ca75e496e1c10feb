"""Outbox benchmark: work orders from new cases to a local contractor endpoint.

In one run, on a fresh store (SQLite in a temp dir, or --database-url):
  (a) throughput: N cases' work orders queued, then one dispatcher process
      (``dampwatch outbox dispatch``) sends them all; then the same with two;
  (b) latency: cases opened one at a time while one dispatcher runs: the time from
      the case's commit to its webhook arriving (median, p95);
  (c) burst: 10,000 new cases opened as fast as the desk can (in transactions of 100)
      while two dispatchers run: the time until the last arrives, and none twice.
The receiver is a separate process that verifies every signature with the
``standardwebhooks`` verifier and counts repeats by webhook-id. Prints figures and
ends with one JSON line.

    .venv/bin/python bench/outbox.py [--throughput 1000] [--latency 200] [--burst 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import SYSTEM, CaseDesk
from alerting.cases.states import CaseKind, TriggerSource
from alerting.channels.webhook import new_secret
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models import Flat
from dampwatch_core.models_cases import Contractor, OutboxMessage


def receiver_main(secret: str, port_out: Any) -> None:
    """The contractor endpoint: verify, record the first arrival per webhook-id."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    verifier = Webhook(secret)
    lock = threading.Lock()
    first: dict[str, float] = {}  # work order reference -> arrival (epoch s)
    counts = {"total": 0, "repeats": 0, "invalid": 0}
    seen_ids: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with lock:
                body = json.dumps({**counts, "first": first}).encode()
            self._reply(200, body)

        def do_POST(self) -> None:
            now = time.time()
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                payload = verifier.verify(body, headers)
            except WebhookVerificationError:
                with lock:
                    counts["invalid"] += 1
                self._reply(401)
                return
            wid = headers["webhook-id"]
            with lock:
                counts["total"] += 1
                if wid in seen_ids:
                    counts["repeats"] += 1
                else:
                    seen_ids.add(wid)
                    first[payload["WorkOrderReference"]["ID"]] = now
            self._reply(204)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


class Bench:
    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir
        migrate(url)
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(engine=self.engine)
        self.desk = CaseDesk(WorkingCalendar.england_and_wales())
        self.secret = new_secret()
        q: Any = mp.Queue()
        self.receiver = mp.Process(target=receiver_main, args=(self.secret, q), daemon=True)
        self.receiver.start()
        self.port = q.get(timeout=30)
        self.flat_no = 0
        settings = workdir / "bench.env"
        settings.write_text("")
        self.env = {**os.environ, "DAMPWATCH_DATABASE_URL": url,
                    "DAMPWATCH_SETTINGS_FILE": str(settings)}
        with self.sessions.begin() as session:
            session.add(Contractor(name="Bench Damp Ltd", trade="damp_mould",
                                   webhook_url=f"http://127.0.0.1:{self.port}/hook",
                                   secret=self.secret, enabled=True))

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"http://127.0.0.1:{self.port}/", timeout=30).json()  # type: ignore[no-any-return]

    def open_cases(self, n: int, per_tx: int = 100) -> dict[str, float]:
        """Open ``n`` repair cases; the commit time of each work order reference."""
        committed: dict[str, float] = {}
        done = 0
        while done < n:
            batch = min(per_tx, n - done)
            refs = []
            with self.sessions.begin() as session:
                flats = [Flat(id=f"B{self.flat_no + i:06d}", address=f"Flat {i}, Bench Court")
                         for i in range(batch)]
                session.add_all(flats)
                session.flush()
                now = dt.datetime.now(dt.UTC)
                for flat in flats:
                    case = self.desk.open_case(
                        session, flat_id=flat.id, kind=CaseKind.REPAIR,
                        trigger=TriggerSource.SENSOR, aware_at=now, actor=SYSTEM, now=now,
                        description="Damp and mould investigation")
                    refs.append(f"{case.reference}-1")
            t = time.time()
            committed.update(dict.fromkeys(refs, t))
            self.flat_no += batch
            done += batch
        return committed

    def dispatchers(self, n: int) -> list[subprocess.Popen[bytes]]:
        log = (self.workdir / "dispatch.log").open("ab")
        return [
            subprocess.Popen(
                [sys.executable, "-m", "dampwatch.cli", "outbox", "dispatch",
                 "--concurrency", "8", "--batch-size", "100", "--idle-wait", "0.02",
                 "--base-delay", "1"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
            for _ in range(n)
        ]

    @staticmethod
    def stop(procs: list[subprocess.Popen[bytes]]) -> None:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()

    def wait_delivered(self, refs: set[str], timeout: float) -> float:
        """Poll the receiver until every reference arrived; the time it took."""
        start = time.monotonic()
        while True:
            first = self.stats()["first"]
            if refs <= first.keys():
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                missing = len(refs - first.keys())
                raise SystemExit(f"timed out: {missing} of {len(refs)} not delivered")
            time.sleep(0.1)

    def pending(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(
                select(func.count()).select_from(OutboxMessage)
                .where(OutboxMessage.status != "delivered")) or 0)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--throughput", type=int, default=1000)
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dampwatch-bench-outbox-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    figures: dict[str, Any] = {"database": url.split(":", 1)[0]}
    bench = Bench(url, workdir)
    try:
        # (a) throughput with one and two dispatchers
        for n_disp in (1, 2):
            procs = bench.dispatchers(n_disp)
            bench.wait_delivered(set(bench.open_cases(n_disp)), 60)  # warm: they are up
            # one transaction: every message becomes visible at the commit
            committed = bench.open_cases(args.throughput, per_tx=args.throughput)
            since = max(committed.values())
            bench.wait_delivered(set(committed), 600)
            first = bench.stats()["first"]
            took = max(first[r] for r in committed) - since
            bench.stop(procs)
            rate = len(committed) / took
            figures[f"deliveries_per_s_{n_disp}_dispatcher"] = round(rate, 1)
            print(f"(a) {n_disp} dispatcher(s): {len(committed)} deliveries in {took:.2f} s "
                  f"after the commit = {rate:,.0f}/s")
        # (b) latency, one case at a time
        procs = bench.dispatchers(1)
        bench.wait_delivered(set(bench.open_cases(1)), 60)  # warm: the dispatcher is up
        committed: dict[str, float] = {}
        for _ in range(args.latency):
            committed.update(bench.open_cases(1))
            time.sleep(0.02)
        bench.wait_delivered(set(committed), 120)
        first = bench.stats()["first"]
        lat = [first[r] - t for r, t in committed.items()]
        bench.stop(procs)
        figures["latency_median_ms"] = round(statistics.median(lat) * 1000, 1)
        figures["latency_p95_ms"] = round(pct(lat, 0.95) * 1000, 1)
        print(f"(b) case commit -> webhook arrived: median {figures['latency_median_ms']} ms, "
              f"p95 {figures['latency_p95_ms']} ms over {len(lat)} cases")
        # (c) burst of new cases with two dispatchers running
        procs = bench.dispatchers(2)
        bench.wait_delivered(set(bench.open_cases(2)), 60)  # warm: both are up
        start = time.time()
        burst = bench.open_cases(args.burst)
        created_s = time.time() - start
        bench.wait_delivered(set(burst), 600)
        first = bench.stats()["first"]
        last = max(first[r] for r in burst)
        bench.stop(procs)
        stats = bench.stats()
        figures.update(
            burst_cases=args.burst,
            burst_created_s=round(created_s, 1),
            burst_all_delivered_s=round(last - start, 1),
            burst_delivered_after_last_commit_s=round(last - max(burst.values()), 1),
            repeats=stats["repeats"],
            invalid_signatures=stats["invalid"],
            undelivered=bench.pending(),
        )
        print(f"(c) burst of {args.burst} cases: opened in {created_s:.1f} s, all delivered "
              f"{last - start:.1f} s after the first was opened "
              f"({figures['burst_delivered_after_last_commit_s']} s after the last commit); "
              f"repeats {stats['repeats']}, invalid signatures {stats['invalid']}")
        figures["burst_within_2_min"] = (last - start) <= 120 and stats["repeats"] == 0
    finally:
        bench.receiver.terminate()
        bench.engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
