"""The gateway through its Protocols (gateway.ports), with in-memory fakes: it
acknowledges a message only after its readings are durable and its records saved,
never when the sink gives up, and retries a store or a registry that fails."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy.exc import OperationalError

from dampwatch_core.contract import telemetry_topic
from dampwatch_core.settings import Settings
from gateway.directory import DeviceInfo
from gateway.ingest import Outcome, Received
from gateway.metrics import GatewayMetrics
from gateway.service import Gateway
from gateway.store import SaveResult

DEVICE = "esp32-0123456789ab"
INFO = DeviceInfo(DEVICE, "LC-0101", "bedroom", "demo-council", True)


class FakeSource:
    def __init__(self, messages: Sequence[Received], events: list[str]) -> None:
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.acked: list[Received] = []
        self.events = events
        self._messages = messages

    def start(self) -> None:
        for m in self._messages:
            self.inbox.put(m)

    def stop(self) -> None:
        self.events.append("source stopped")

    def ack_all(self, items: Sequence[Received]) -> int:
        self.acked.extend(items)
        self.events.append(f"ack {len(items)}")
        return len(items)


class FakeSink:
    """Makes lines durable, or (``durable=False``) reports it gave up on them (None)."""

    def __init__(self, events: list[str], *, durable: bool = True) -> None:
        self.lines: list[str] = []
        self.events = events
        self.durable = durable

    def write(self, lines: Sequence[str]) -> list[tuple[int, str]] | None:
        if not self.durable:
            self.events.append("write gave up")
            return None
        self.lines.extend(lines)
        self.events.append(f"write {len(lines)}")
        return []

    def close(self) -> None:
        self.events.append("sink closed")


class FakeStore:
    def __init__(self, events: list[str], *, failures: int = 0) -> None:
        self.saved: list[Outcome] = []
        self.events = events
        self.failures = failures

    def save(self, outcomes: Sequence[Outcome]) -> SaveResult:
        if self.failures:
            self.failures -= 1
            self.events.append("save failed")
            raise OperationalError("UPDATE devices", {}, Exception("database is locked"))
        self.saved.extend(outcomes)
        self.events.append(f"save {len(outcomes)}")
        return SaveResult()


class FakeDirectory:
    def __init__(self, *, failures: int = 0) -> None:
        self.failures = failures

    def refresh(self) -> int:
        return 1

    def lookup(self, device_id: str, received_at: float | None = None) -> DeviceInfo | None:
        if self.failures:
            self.failures -= 1
            raise OperationalError("SELECT devices", {}, Exception("connection refused"))
        return INFO if device_id == DEVICE else None


def _telemetry(seq: int, now: float) -> Received:
    body = {"v": 1, "seq": seq, "readings": [{"ts": int(now) - 60, "temp_c": 20.5, "rh_pct": 55}]}
    return Received(telemetry_topic(DEVICE), json.dumps(body).encode(), now, mid=seq, qos=1)


def _run(gateway: Gateway, done: Callable[[], bool]) -> None:
    """Run the gateway in a thread until ``done()`` (or it has had a fair chance), then
    stop it."""
    worker = threading.Thread(target=gateway.run, daemon=True)
    worker.start()
    deadline = time.monotonic() + 20
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)
    gateway.stop()
    worker.join(timeout=30)
    assert not worker.is_alive()


def _gateway(
    source: FakeSource, sink: FakeSink, store: FakeStore, directory: FakeDirectory
) -> Gateway:
    return Gateway(
        Settings(gateway_metrics_port=0),
        source=source,
        sink=sink,
        store=store,
        directory=directory,
        metrics=GatewayMetrics(),
        flush_s=0.05,
        stop_grace_s=0.5,
    )


def test_acknowledged_only_after_the_store_that_failed_twice_has_saved() -> None:
    events: list[str] = []
    now = time.time()
    source = FakeSource([_telemetry(1, now), _telemetry(2, now)], events)
    sink, store = FakeSink(events), FakeStore(events, failures=2)
    _run(_gateway(source, sink, store, FakeDirectory(failures=1)), lambda: len(source.acked) == 2)
    assert [m.mid for m in source.acked] == [1, 2]
    assert len(sink.lines) == 2 and len(store.saved) == 2
    done = [e for e in events if e.startswith(("write", "save", "ack"))]
    assert done[-1].startswith("ack") and done.count("save failed") == 2
    assert done.index("save failed") > max(i for i, e in enumerate(done) if e.startswith("write"))
    assert events[-2:] == ["source stopped", "sink closed"]


def test_a_sink_that_gives_up_leaves_everything_unacknowledged() -> None:
    """What never became durable is not acknowledged (the broker redelivers it), and
    its records are not saved either."""
    events: list[str] = []
    source = FakeSource([_telemetry(1, time.time())], events)
    sink, store = FakeSink(events, durable=False), FakeStore(events)
    _run(_gateway(source, sink, store, FakeDirectory()), lambda: events.count("write gave up") > 2)
    assert "write gave up" in events
    assert source.acked == [] and store.saved == []
