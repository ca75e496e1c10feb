"""The gateway never loses a reading: killed, InfluxDB down, broker restarted."""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field

import pytest

from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.local import LocalStack
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.influx import InfluxClient, InfluxError
from simulators.publisher import DeviceCredential, DeviceSeries, FleetPublisher


def provision_fleet(stack: LocalStack, devices: int) -> list[DeviceCredential]:
    sessions = make_sessionmaker(make_engine(stack.database_url))
    creds = []
    with sessions.begin() as session:
        for f in range((devices + 1) // 2):
            add_flat(session, f"GW-{f:04d}", f"{f} Gateway Court", block="Gateway Court")
        session.flush()
        for i in range(devices):
            device, pw = add_device(
                session, f"esp32-gw{i:010x}", f"GW-{i // 2:04d}", ("bedroom", "living_room")[i % 2]
            )
            creds.append(DeviceCredential(device.id, pw))
        session.flush()
        sync_broker_credentials(session, stack.mosquitto.password_file, stack.mosquitto.pid_file)
    time.sleep(0.3)
    return creds


def fleet(
    stack: LocalStack, creds: list[DeviceCredential], messages: int, per_message: int = 12
) -> FleetPublisher:
    """Each device: ``messages`` messages of ``per_message`` 5-minute readings, ending now."""
    n = messages * per_message
    end = int(time.time()) // 300 * 300
    ts = [end - 300 * (n - k) for k in range(n)]
    series = [
        DeviceSeries(
            c,
            ts,
            [18.0 + i * 0.01 + k * 0.001 for k in range(n)],
            [55.0] * n,
            upload_every=per_message,
        )
        for i, c in enumerate(creds)
    ]
    return FleetPublisher(stack.host, stack.ports.mqtt, series, workers=4)


def stored_count(stack: LocalStack) -> int:
    with InfluxClient(stack.influx.url, stack.influx.database) as influx:
        try:
            series = influx.query("SELECT count(temp_c) FROM climate")
        except InfluxError:
            return -1
    return int(series[0].values[0][1]) if series else 0


@dataclass
class Publishing:
    """Publishes a fleet in a thread until everything is acknowledged by the broker,
    retrying (as firmware does) while the broker is down."""

    publisher: FleetPublisher
    done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while self.publisher.remaining() > 0:
            self.publisher.publish_until(2**62)
            if self.publisher.remaining() > 0:
                time.sleep(0.5)
        self.done.set()


def wait_for_count(stack: LocalStack, expected: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    count = stored_count(stack)
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        count = stored_count(stack)
    return count


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


pytestmark = pytest.mark.slow


def gateway(stack: LocalStack):  # type: ignore[no-untyped-def]
    return next(s for s in stack.services if s.name == "gateway")


def restart_gateway(stack: LocalStack) -> None:
    stack.services = [s for s in stack.services if s.name != "gateway"]
    stack._service("gateway", "gateway")


def test_kill_9_mid_stream_loses_and_duplicates_nothing(stack: LocalStack) -> None:
    creds = provision_fleet(stack, 20)
    pub = Publishing(fleet(stack, creds, messages=30))
    expected = 20 * 30 * 12
    pub.start()
    while stored_count(stack) < expected // 4:
        time.sleep(0.1)
    gateway(stack).kill()  # SIGKILL: no flush, no clean disconnect
    time.sleep(1.0)
    restart_gateway(stack)
    assert pub.done.wait(120)
    assert wait_for_count(stack, expected, 60) == expected
    time.sleep(2)  # anything redelivered late must still not add points
    assert stored_count(stack) == expected


def test_influxdb_down_for_60_s_then_everything_arrives(stack: LocalStack) -> None:
    creds = provision_fleet(stack, 20)
    pub = Publishing(fleet(stack, creds, messages=40))
    expected = 20 * 40 * 12
    pub.start()
    while stored_count(stack) < expected // 5:
        time.sleep(0.1)
    stack.influx.stop()
    pid = gateway(stack).pid
    assert pid is not None
    samples = []
    outage_end = time.monotonic() + 60
    while time.monotonic() < outage_end:
        samples.append(rss_kb(pid))
        time.sleep(2)
    stack.influx.start()
    assert pub.done.wait(120)
    assert wait_for_count(stack, expected, 90) == expected
    time.sleep(2)
    assert stored_count(stack) == expected
    # memory stays bounded while InfluxDB is down: the inbox and the broker's in-flight
    # window bound what the gateway holds (here well under 100 MB of growth)
    assert max(samples) - samples[0] < 100_000, samples
    gateway(stack).check_alive()


def test_broker_restart_mid_stream_loses_nothing(stack: LocalStack) -> None:
    creds = provision_fleet(stack, 20)
    pub = Publishing(fleet(stack, creds, messages=30))
    expected = 20 * 30 * 12
    pub.start()
    while stored_count(stack) < expected // 4:
        time.sleep(0.1)
    stack.mosquitto.process.signal(signal.SIGTERM)  # clean stop saves persistence
    stack.mosquitto.process.proc.wait(10)  # type: ignore[union-attr]
    time.sleep(2)
    stack.mosquitto.start()
    assert pub.done.wait(180)
    assert wait_for_count(stack, expected, 60) == expected
    gateway(stack).check_alive()
