"""The gateway never loses a reading: killed, InfluxDB down, broker restarted.

Each test runs the real stack (Mosquitto, InfluxDB, the gateway as a process) on free
ports, publishes a paced stream as firmware does, breaks something mid-stream and then
checks that InfluxDB holds exactly the (device, ts) set that was published, each once.
"""

from __future__ import annotations

import collections
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gwharness import (
    Publishing,
    gateway,
    make_fleet,
    metric,
    provision_fleet,
    restart_gateway,
    rss_kb,
    stored_count,
    stored_points,
    wait_for_count,
)

from dampwatch.stack.local import LocalStack, StackPorts
from gateway.service import SUBSCRIPTION_ENV
from gateway.source import DEFAULT_INFLIGHT

pytestmark = pytest.mark.slow


def assert_exactly_once(stack: LocalStack, expected: set[tuple[str, int]]) -> None:
    points = stored_points(stack)
    twice = [k for k, n in collections.Counter(points).items() if n > 1]
    assert not twice, twice[:5]
    assert set(points) == expected, (len(points), len(expected))


def test_kill_9_mid_stream_loses_and_duplicates_nothing(stack: LocalStack) -> None:
    creds = provision_fleet(stack, 20)
    publisher, expected = make_fleet(stack, creds, messages=30)
    pub = Publishing(publisher, spread_s=6)
    pub.start()
    while stored_count(stack) < len(expected) // 4:
        time.sleep(0.1)
    gateway(stack).kill()  # SIGKILL: no flush, no clean disconnect, acks lost
    time.sleep(1.0)
    restart_gateway(stack)  # same fixed client id: the broker resumes its session
    assert pub.done.wait(120)
    assert wait_for_count(stack, len(expected), 60) == len(expected)
    time.sleep(2)  # anything redelivered late must still not add points
    assert_exactly_once(stack, expected)


def test_influxdb_down_for_60_s_then_everything_arrives(stack: LocalStack) -> None:
    creds = provision_fleet(stack, 20)
    publisher, expected = make_fleet(stack, creds, messages=40)
    pub = Publishing(publisher, spread_s=45)  # devices keep publishing during the outage
    pub.start()
    while stored_count(stack) < len(expected) // 10:
        time.sleep(0.1)
    pid = gateway(stack).pid
    assert pid is not None
    baseline_kb = rss_kb(pid)
    stack.influx.stop()
    samples, held = [], []
    outage_end = time.monotonic() + 60
    while time.monotonic() < outage_end:
        samples.append(rss_kb(pid))
        held.append(
            metric(stack.metrics_url, "dampwatch_gateway_backlog_messages")
            + metric(stack.metrics_url, "dampwatch_gateway_acks_pending")
        )
        time.sleep(1)
    # the gateway stayed connected (keepalive flows while it waits) and held no more
    # than the in-flight window: the rest of the backlog waited at the broker
    assert metric(stack.metrics_url, "dampwatch_gateway_broker_connected") == 1.0
    assert max(held) <= DEFAULT_INFLIGHT, held
    stack.influx.start()
    assert pub.done.wait(120)
    assert wait_for_count(stack, len(expected), 90) == len(expected)
    time.sleep(2)
    assert_exactly_once(stack, expected)
    # memory stays bounded while InfluxDB is down: ≤ 1,000 messages of ≤ 64 KiB are
    # held, these are ~700 bytes; 30 MiB leaves room for the interpreter's own churn
    assert max(samples) - baseline_kb < 30 * 1024, (baseline_kb, samples)
    gateway(stack).check_alive()


@pytest.fixture
def exclusive_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """The stack with its one gateway on a plain (non-shared) subscription."""
    monkeypatch.setenv(SUBSCRIPTION_ENV, "exclusive")
    local = LocalStack(tmp_path / "stack", StackPorts.free(), with_scheduler=False)
    local.start()
    yield local
    local.stop()


def test_broker_restart_mid_stream_loses_nothing(exclusive_stack: LocalStack) -> None:
    stack = exclusive_stack
    creds = provision_fleet(stack, 20)
    publisher, expected = make_fleet(stack, creds, messages=30)
    pub = Publishing(publisher, spread_s=8)
    pub.start()
    while stored_count(stack) < len(expected) // 4:
        time.sleep(0.1)
    stack.mosquitto.process.signal(signal.SIGTERM)  # a clean stop saves persistence
    stack.mosquitto.process.proc.wait(10)  # type: ignore[union-attr]
    time.sleep(2)  # devices fail to connect meanwhile and keep their readings
    stack.mosquitto.start()
    assert pub.done.wait(180)
    assert wait_for_count(stack, len(expected), 60) == len(expected)
    assert_exactly_once(stack, expected)
    stack.check_alive()
