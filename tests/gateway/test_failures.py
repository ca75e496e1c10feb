"""The gateway never loses a reading: killed at random moments, InfluxDB slowed or down,
the registry down, InfluxDB refusing a batch, stopped with SIGTERM, the broker restarted
or killed.

Each test runs the real stack (Mosquitto, InfluxDB, the gateway as a process) on free
ports, publishes a stream as firmware does, breaks something mid-stream and then checks
that InfluxDB holds exactly the (device, ts) set that was published, each once. Where a
test relies on redelivery it checks that a redelivery happened (InfluxDB was sent more
points than it stores), so a gateway that writes a redelivered reading as a new point
cannot pass.
"""

from __future__ import annotations

import collections
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gwharness import (
    Device,
    Publishing,
    Slowed,
    SlowLink,
    gateway,
    make_fleet,
    metric,
    point_gateway_at,
    points_received,
    poll,
    provision_fleet,
    registry_down,
    restart_gateway,
    rss_kb,
    stored_count,
    stored_points,
    wait_connected,
    wait_ingesting,
    wait_settled,
    wait_stored,
)
from sqlalchemy import select

from dampwatch.stack.local import LocalStack, StackPorts
from dampwatch_core.contract import Reading, encode_telemetry
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models import Device as DeviceRow
from dampwatch_core.models import QuarantinedMessage
from gateway.service import SUBSCRIPTION_ENV
from gateway.source import DEFAULT_INFLIGHT

pytestmark = pytest.mark.slow

ACKS = "dampwatch_gateway_acks_total"


def assert_exactly_once(stack: LocalStack, expected: set[tuple[str, int]]) -> None:
    points = stored_points(stack)
    twice = [k for k, n in collections.Counter(points).items() if n > 1]
    assert not twice, twice[:5]
    assert set(points) == expected, (len(points), len(expected), sorted(expected - set(points))[:5])


def quarantine(stack: LocalStack) -> list[QuarantinedMessage]:
    sessions = make_sessionmaker(make_engine(stack.database_url))
    with sessions() as s:
        rows = list(s.scalars(select(QuarantinedMessage).order_by(QuarantinedMessage.id)))
        for row in rows:
            _ = row.payload
            s.expunge(row)
        return rows


def test_kill_9_at_random_moments_while_influxdb_is_slowed(stack: LocalStack) -> None:
    """Every write takes 0.4 s to reach InfluxDB (a slow link) and InfluxDB itself is
    paused a third of the time, so the gateway nearly always holds readings it has
    received and not yet written when it is killed, three times at random moments."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    link = SlowLink(stack.host, stack.ports.influx, delay_s=0.4)
    point_gateway_at(stack, link.url)
    gateway(stack).stop()
    restart_gateway(stack)
    wait_connected(stack)
    creds = provision_fleet(stack, 20)
    publisher, expected = make_fleet(stack, creds, messages=30)
    pub = Publishing(publisher, spread_s=10)
    pub.start()
    wait_stored(stack, 1, 60)
    pid = stack.influx.process.pid
    assert pid is not None
    try:
        with Slowed(pid, stopped_s=0.2, running_s=0.4):
            for _ in range(3):
                time.sleep(rng.uniform(0.5, 2.5))  # a random moment (seed above)
                gateway(stack).kill()
                restart_gateway(stack)
        assert pub.done.wait(120), f"seed {seed}"
        wait_stored(stack, len(expected), 120)
        wait_settled(stack)
        assert_exactly_once(stack, expected)
    finally:
        link.close()


def test_a_redelivered_message_is_stored_once(stack: LocalStack) -> None:
    """Readings written but not yet acknowledged (their device health cannot be
    committed: the registry is locked) when the gateway is killed come again; they must
    land on the same points, and they must really have come again."""
    creds = provision_fleet(stack, 10)
    publisher, expected = make_fleet(stack, creds, messages=20)
    pub = Publishing(publisher, spread_s=4)
    pub.start()
    wait_stored(stack, len(expected) // 4, 60)
    with registry_down(stack.database_url):
        sent = points_received(stack)
        poll(lambda: points_received(stack), lambda n: n > sent, 30, "a write after the lock")
        poll(
            lambda: metric(stack.metrics_url, "dampwatch_gateway_acks_pending"),
            lambda n: n > 0,
            30,
            "messages written and waiting for their ack",
        )
        gateway(stack).kill()
    restart_gateway(stack)
    assert pub.done.wait(120)
    wait_stored(stack, len(expected), 90)
    wait_settled(stack)
    assert_exactly_once(stack, expected)
    assert points_received(stack) > len(expected), "no reading was delivered twice"


def test_influxdb_down_for_60_s_then_everything_arrives(stack: LocalStack) -> None:
    creds = provision_fleet(stack, 20)
    publisher, expected = make_fleet(stack, creds, messages=40)
    pub = Publishing(publisher, spread_s=45)  # devices keep publishing during the outage
    pub.start()
    wait_stored(stack, len(expected) // 10, 60)
    pid = gateway(stack).pid
    assert pid is not None
    baseline_kb = rss_kb(pid)
    stack.influx.stop()
    retries = metric(stack.metrics_url, "dampwatch_gateway_write_retries_total")
    poll(
        lambda: metric(stack.metrics_url, "dampwatch_gateway_write_retries_total"),
        lambda n: n > retries,
        30,
        "the gateway meeting the outage",
    )
    acks = metric(stack.metrics_url, ACKS)
    samples, held = [], []
    outage_end = time.monotonic() + 60
    while time.monotonic() < outage_end:
        samples.append(rss_kb(pid))
        held.append(
            metric(stack.metrics_url, "dampwatch_gateway_backlog_messages")
            + metric(stack.metrics_url, "dampwatch_gateway_acks_pending")
        )
        time.sleep(1)
    # the gateway stayed connected (keepalive flows while it waits) and acknowledged
    # nothing
    assert metric(stack.metrics_url, "dampwatch_gateway_broker_connected") == 1.0
    assert metric(stack.metrics_url, ACKS) == acks
    # what it holds was never acknowledged: a crash now loses none of it
    gateway(stack).kill()
    restart_gateway(stack)
    stack.influx.start()
    assert pub.done.wait(120)
    wait_stored(stack, len(expected), 120)
    wait_settled(stack)
    assert_exactly_once(stack, expected)
    gateway(stack).check_alive()
    # it held no more than the in-flight window: the rest waited at the broker
    assert max(held) <= DEFAULT_INFLIGHT, held
    # memory stays bounded: ≤ 1,000 messages of ≤ 64 KiB are held, these are ~700
    # bytes; 30 MiB leaves room for the interpreter's own churn
    assert max(samples) - baseline_kb < 30 * 1024, (baseline_kb, samples)


def test_registry_down_the_gateway_waits_and_guesses_nothing(
    store_stack: LocalStack, database_url: str
) -> None:
    """Devices registered after the gateway loaded its directory, so it must ask the
    registry about each; then the registry goes down. Nothing may be acknowledged,
    quarantined as unknown or lost; when it is back, all is stored with device health."""
    stack = store_stack
    creds = provision_fleet(stack, 10)
    publisher, expected = make_fleet(stack, creds, messages=5)
    log_size = gateway(stack).log_path.stat().st_size
    acks = metric(stack.metrics_url, ACKS)
    with registry_down(database_url):
        pub = Publishing(publisher)
        pub.start()
        assert pub.done.wait(60)

        def new_log() -> str:
            with gateway(stack).log_path.open("rb") as fh:
                fh.seek(log_size)
                return fh.read().decode(errors="replace")

        poll(new_log, lambda t: "retrying" in t, 60, "the gateway retrying the registry")
        assert metric(stack.metrics_url, ACKS) == acks
        gateway(stack).check_alive()
    wait_stored(stack, len(expected), 90)
    wait_settled(stack)
    assert_exactly_once(stack, expected)
    assert quarantine(stack) == []
    sessions = make_sessionmaker(make_engine(stack.database_url))
    with sessions() as s:
        seen = {d.id: d.last_seen for d in s.scalars(select(DeviceRow))}
    assert all(seen[c.device_id] is not None for c in creds), seen
    gateway(stack).check_alive()


def test_a_batch_influxdb_refuses_is_split_and_the_refused_message_quarantined(
    stack: LocalStack,
) -> None:
    """InfluxDB refuses a point whose field type conflicts with its shard (here a week
    where ``rh_pct`` was once written as an integer). That message is quarantined as
    ``unstorable`` with InfluxDB's error; the other points of the batch are stored."""
    creds = provision_fleet(stack, 2)
    odd, other = Device(stack, creds[0]), Device(stack, creds[1])
    now = int(time.time()) // 60 * 60
    conflict_ts = now - 30 * 86400
    with stack.influx.client() as influx:
        influx.write_lines([f"climate,device=esp32-elsewhere rh_pct=1i {conflict_ts - 60}"])
    expected = set()
    pid = stack.influx.process.pid
    assert pid is not None
    stack.influx.process.signal(signal.SIGSTOP)  # what follows queues up in one batch
    try:
        for k in range(10):
            other.publish("telemetry", encode_telemetry(k, [Reading(now - 600 + k, 20.0, 50.0)]))
            expected.add((other.cred.device_id, now - 600 + k))
            if k == 4:
                readings = [Reading(conflict_ts, 20.0, 50.5), Reading(now - 300, 20.0, 50.5)]
                odd.publish("telemetry", encode_telemetry(1, readings))
                expected.add((odd.cred.device_id, now - 300))
    finally:
        stack.influx.process.signal(signal.SIGCONT)
    wait_stored(stack, len(expected), 60)
    wait_settled(stack)
    assert set(stored_points(stack, "WHERE time > now() - 7d")) == expected
    records = quarantine(stack)
    assert [(q.device_id, q.reason) for q in records] == [(odd.cred.device_id, "unstorable")]
    assert "field type conflict" in records[0].detail
    assert b'"seq":1' in records[0].payload
    gateway(stack).check_alive()


def test_sigterm_writes_and_acknowledges_what_the_gateway_holds(stack: LocalStack) -> None:
    """Stopped while InfluxDB is down, the gateway keeps trying for its grace period;
    InfluxDB back within it, every reading it held is written and acknowledged before it
    exits (a new gateway on its session receives none of them again)."""
    creds = provision_fleet(stack, 5)
    publisher, expected = make_fleet(stack, creds, messages=4)
    url = stack.metrics_url
    stack.influx.stop()
    pub = Publishing(publisher)
    pub.start()
    assert pub.done.wait(60)
    messages = 2 * 5 * 4  # each upload is a telemetry and a status message
    poll(
        lambda: (
            metric(url, "dampwatch_gateway_acks_pending")
            + metric(url, "dampwatch_gateway_backlog_messages")
        ),
        lambda n: n == messages,
        30,
        "the gateway holding every message",
    )
    gw = gateway(stack)
    gw.signal(signal.SIGTERM)
    stack.influx.start()
    assert gw.proc is not None
    assert gw.proc.wait(30) == 0, gw.log_tail()
    assert stored_count(stack) == len(expected)  # written before it exited
    assert_exactly_once(stack, expected)
    written = points_received(stack)
    restart_gateway(stack)
    wait_connected(stack)
    marker = Device(stack, creds[0])
    wait_ingesting(stack, marker)
    wait_settled(stack)
    # only the marker's point(s) since: nothing held was redelivered
    assert points_received(stack) - written <= 3
    assert stored_count(stack) - len(expected) == points_received(stack) - written


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
    wait_stored(stack, len(expected) // 4, 60)
    stack.mosquitto.process.signal(signal.SIGTERM)  # a clean stop saves persistence
    stack.mosquitto.process.proc.wait(10)  # type: ignore[union-attr]
    time.sleep(2)  # the outage: devices fail to connect meanwhile and keep their readings
    stack.mosquitto.start()
    assert pub.done.wait(180)
    wait_stored(stack, len(expected), 60)
    wait_settled(stack)
    assert_exactly_once(stack, expected)
    stack.check_alive()


def test_broker_killed_in_shared_mode_the_gateway_resumes(stack: LocalStack) -> None:
    """SIGKILL of Mosquitto with the gateway on the (default) shared subscription. The
    broker loses what it had not saved and forgets the shared subscription; the gateway
    must reconnect and subscribe again by itself, store what it receives once, and
    ingest everything published after. (What the broker lost is the documented limit of
    a broker crash: the README says how to avoid it.)"""
    creds = provision_fleet(stack, 10)
    publisher, expected = make_fleet(stack, creds, messages=10)
    pub = Publishing(publisher, spread_s=4)
    pub.start()
    wait_stored(stack, len(expected) // 4, 60)
    stack.mosquitto.kill()
    stack.mosquitto.start()
    assert pub.done.wait(120)
    wait_connected(stack)
    later = provision_fleet(stack, 6, prefix="gy")
    wait_ingesting(stack, Device(stack, later[0]))
    publisher2, expected2 = make_fleet(stack, later[1:], messages=5)
    pub2 = Publishing(publisher2)
    pub2.start()
    assert pub2.done.wait(120)
    poll(
        lambda: set(stored_points(stack)) >= expected2,
        bool,
        60,
        "everything published after the crash stored",
    )
    wait_settled(stack)
    points = [p for p in stored_points(stack) if p[0] != later[0].device_id]
    twice = [k for k, n in collections.Counter(points).items() if n > 1]
    assert not twice, twice[:5]
    assert set(points) <= expected | expected2
    stack.check_alive()
