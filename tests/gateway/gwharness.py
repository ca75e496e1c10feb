"""Helpers for the gateway tests: provision devices, publish as firmware does, read back
what InfluxDB holds, run extra gateway processes, read /proc and /metrics."""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import shutil
import signal
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.local import LocalStack
from dampwatch.stack.ports import free_port
from dampwatch.stack.process import ManagedProcess, wait_until
from dampwatch_core.contract import Reading, encode_telemetry
from dampwatch_core.db import make_engine, make_sessionmaker, normalise_url
from dampwatch_core.influx import InfluxError
from simulators.publisher import DeviceCredential, DeviceSeries, FleetPublisher

T = TypeVar("T")


def provision_fleet(stack: LocalStack, devices: int, prefix: str = "gw") -> list[DeviceCredential]:
    """``devices`` devices, two per flat, registered and given broker accounts."""
    sessions = make_sessionmaker(make_engine(stack.database_url))
    creds = []
    with sessions.begin() as session:
        for f in range((devices + 1) // 2):
            add_flat(session, f"{prefix.upper()}-{f:04d}", f"{f} Gateway Court", block="GW Court")
        session.flush()
        for i in range(devices):
            device, pw = add_device(
                session,
                f"esp32-{prefix}{i:010x}",
                f"{prefix.upper()}-{i // 2:04d}",
                ("bedroom", "living_room")[i % 2],
            )
            creds.append(DeviceCredential(device.id, pw))
        session.flush()
        sync_broker_credentials(session, stack.mosquitto.password_file, stack.mosquitto.pid_file)
    wait_accepted(stack, creds[-1])  # the broker rereads its password file on SIGHUP
    return creds


def wait_accepted(stack: LocalStack, cred: DeviceCredential, timeout_s: float = 15) -> None:
    """Wait until the broker accepts ``cred`` (it rereads its password file on SIGHUP)."""

    def accepted() -> bool:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{cred.device_id}")
        client.username_pw_set(cred.device_id, cred.password)
        try:
            client.connect(stack.host, stack.ports.mqtt, keepalive=5)
            deadline = time.monotonic() + 2
            while not client.is_connected() and time.monotonic() < deadline:
                client.loop(0.05)
            return client.is_connected()
        finally:
            client.disconnect()

    wait_until(accepted, timeout_s, f"the broker to accept {cred.device_id}")


class Device:
    """One device's own connection, kept open: each publish is QoS 1 and returns when
    the broker has acknowledged it."""

    def __init__(self, stack: LocalStack, cred: DeviceCredential) -> None:
        self.cred = cred
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cred.device_id)
        self.client.username_pw_set(cred.device_id, cred.password)
        self.client.connect(stack.host, stack.ports.mqtt, keepalive=30)
        self.client.loop_start()

    def publish(self, kind: str, payload: bytes, *, retain: bool = False) -> None:
        topic = f"dampwatch/v1/dev/{self.cred.device_id}/{kind}"
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        if not info.is_published():
            raise TimeoutError(f"the broker did not acknowledge a publish on {topic}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def point_stored(stack: LocalStack, device_id: str, ts: int) -> bool:
    """True when InfluxDB holds ``device_id``'s reading at ``ts``."""
    with stack.influx.client() as influx:
        series = influx.query(
            "SELECT temp_c FROM climate WHERE device = $d AND time = $t",
            {"d": device_id, "t": ts * 10**9},
        )
    return bool(series and series[0].values)


def poll(check: Callable[[], T], done: Callable[[T], bool], timeout_s: float, what: str) -> T:
    """Call ``check`` until ``done`` accepts its value; fail the test after ``timeout_s``
    with the last value."""
    deadline = time.monotonic() + timeout_s
    value = check()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s (last: {value!r:.300})")
        time.sleep(0.05)
        value = check()
    return value


def make_fleet(
    stack: LocalStack, creds: list[DeviceCredential], messages: int, per_message: int = 12
) -> tuple[FleetPublisher, set[tuple[str, int]]]:
    """Each device: ``messages`` messages of ``per_message`` 5-minute readings ending now.
    Returns the publisher and the (device, ts) set it will send."""
    n = messages * per_message
    end = int(time.time()) // 300 * 300
    ts = [end - 300 * (n - 1 - k) for k in range(n)]
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
    expected = {(c.device_id, t) for c in creds for t in ts}
    return FleetPublisher(stack.host, stack.ports.mqtt, series, workers=4), expected


@dataclass
class Publishing:
    """Publishes a fleet in a thread, as firmware would: a message the broker did not
    acknowledge stays in the device's buffer and is sent again. With ``spread_s`` the
    stream is paced over that many seconds (mid-stream failures happen while devices
    are still publishing)."""

    publisher: FleetPublisher
    spread_s: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        all_ts = [int(t) for d in self.publisher.devices for t in d.ts]
        first, last = min(all_ts), max(all_ts)
        started = time.monotonic()
        while self.publisher.remaining() > 0:
            elapsed = time.monotonic() - started
            frac = 1.0 if self.spread_s <= 0 else min(1.0, elapsed / self.spread_s)
            self.publisher.publish_until(int(first + frac * (last - first)))
            if self.publisher.remaining() > 0:
                time.sleep(0.25)
        self.done.set()


def stored_points(stack: LocalStack, where: str = "") -> list[tuple[str, int]]:
    """Every (device, ts) in ``climate``, one entry per stored point."""
    with stack.influx.client(timeout_s=30) as influx:
        series = influx.query(f"SELECT temp_c FROM climate {where} GROUP BY device")
    return [(s.tags["device"], int(row[0])) for s in series for row in s.values]


def stored_count(stack: LocalStack) -> int:
    with stack.influx.client() as influx:
        try:
            series = influx.query("SELECT count(temp_c) FROM climate")
        except InfluxError:
            return -1
    return int(series[0].values[0][1]) if series else 0


def rss_kb(pid: int) -> int:
    """Resident set size of ``pid`` from /proc, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def metric(url: str, name: str) -> float:
    """The value of an unlabelled sample ``name`` on a Prometheus /metrics page."""
    for line in httpx.get(url, timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def gateway(stack: LocalStack) -> ManagedProcess:
    return next(s for s in stack.services if s.name == "gateway")


def restart_gateway(stack: LocalStack) -> None:
    """Start the stack's gateway again (same settings, same fixed client id)."""
    stack.services = [s for s in stack.services if s.name != "gateway"]
    stack._service("gateway", "gateway")


def start_gateway(stack: LocalStack, name: str, client_id: str) -> tuple[ManagedProcess, str]:
    """Another gateway process on the stack's broker: its own client id and metrics port.
    Returns the process and its metrics URL, once it is connected."""
    port = free_port()
    settings = stack.state_dir / f"{name}.env"
    shutil.copy(stack.settings_file, settings)
    with settings.open("a") as fh:
        fh.write(f"DAMPWATCH_GATEWAY_METRICS_PORT={port}\nDAMPWATCH_MQTT_CLIENT_ID={client_id}\n")
    proc = ManagedProcess(
        name,
        [sys.executable, "-m", "dampwatch.cli", "gateway", "--settings", str(settings)],
        stack.state_dir / "logs" / f"{name}.log",
    )
    proc.start()
    stack.services.append(proc)
    url = f"http://{stack.host}:{port}/metrics"

    def connected() -> bool:
        proc.check_alive()
        return metric(url, "dampwatch_gateway_broker_connected") == 1.0

    wait_until(connected, 30, name)
    return proc, url


def metric_labelled(url: str, name: str, labels: str) -> float:
    """The value of ``name{labels}`` (e.g. ``kind="telemetry"``), 0 when absent."""
    prefix = f"{name}{{{labels}}} "
    for line in httpx.get(url, timeout=5).text.splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return 0.0


def points_received(stack: LocalStack) -> int:
    """Points InfluxDB has been sent since it started (its ``write`` statistics): more
    than were stored means some reading was written again, i.e. redelivered."""
    with stack.influx.client(admin=True) as influx:
        for s in influx.query("SHOW STATS FOR 'write'"):
            return int(s.records()[0]["pointReq"])
    return 0


def wait_stored(stack: LocalStack, expected: int, timeout_s: float) -> int:
    """Wait until InfluxDB holds ``expected`` points; fail with the count otherwise."""
    return poll(lambda: stored_count(stack), lambda n: n >= expected, timeout_s, "points stored")


def wait_settled(stack: LocalStack, metrics_url: str | None = None, timeout_s: float = 30) -> None:
    """Wait until the gateway holds nothing: no backlog, nothing waiting for its ack (so
    its quarantine records and device health are committed too)."""
    url = metrics_url or stack.metrics_url

    def held() -> float:
        try:
            return metric(url, "dampwatch_gateway_backlog_messages") + metric(
                url, "dampwatch_gateway_acks_pending"
            )
        except (httpx.HTTPError, KeyError):
            return -1.0

    poll(held, lambda n: n == 0, timeout_s, "the gateway to settle")


def wait_connected(stack: LocalStack, timeout_s: float = 60) -> None:
    def connected() -> float:
        gateway(stack).check_alive()
        try:
            return metric(stack.metrics_url, "dampwatch_gateway_broker_connected")
        except (httpx.HTTPError, KeyError):
            return 0.0

    poll(connected, lambda v: v == 1.0, timeout_s, "the gateway connected")


def wait_ingesting(stack: LocalStack, device: Device, timeout_s: float = 60) -> int:
    """Publish a fresh reading from ``device`` every second until one is stored (the
    gateway is subscribed and writing); returns its ts."""
    deadline = time.monotonic() + timeout_s
    seq = itertools.count(10_000)
    while time.monotonic() < deadline:
        ts = int(time.time()) - 30 - next(seq) % 1000
        device.publish("telemetry", encode_telemetry(next(seq), [Reading(ts, 21.0, 51.0)]))
        probe_end = time.monotonic() + 1.0
        while time.monotonic() < probe_end:
            if point_stored(stack, device.cred.device_id, ts):
                return ts
            time.sleep(0.05)
    raise AssertionError(f"no reading from {device.cred.device_id} stored within {timeout_s} s")


class Slowed:
    """InfluxDB made slow by pausing its process (SIGSTOP) ``stopped_s`` out of every
    ``stopped_s + running_s``, in a thread, until the block ends."""

    def __init__(self, pid: int, stopped_s: float = 0.3, running_s: float = 0.15) -> None:
        self.pid, self.stopped_s, self.running_s = pid, stopped_s, running_s
        self._end = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._end.is_set():
            os.kill(self.pid, signal.SIGSTOP)
            self._end.wait(self.stopped_s)
            os.kill(self.pid, signal.SIGCONT)
            self._end.wait(self.running_s)

    def __enter__(self) -> Slowed:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._end.set()
        self._thread.join(5)
        os.kill(self.pid, signal.SIGCONT)


@contextlib.contextmanager
def registry_down(database_url: str) -> Iterator[None]:
    """The relational store refuses the gateway: SQLite locked by a held write
    transaction (writers time out "database is locked"), PostgreSQL closed to new
    connections with every open one cut."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(normalise_url(database_url))
    name = url.database
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


class SlowLink:
    """A TCP relay in front of InfluxDB that holds each request ``delay_s`` before
    passing it on, as a slow or congested network would: a gateway killed meanwhile
    never gets that request to InfluxDB (the relay drops what a dead client sent).
    Point the gateway at ``url``."""

    def __init__(self, target_host: str, target_port: int, delay_s: float = 0.4) -> None:
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _gone(sock: socket.socket) -> bool:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)

        def back() -> None:  # InfluxDB's answers go straight back
            with contextlib.suppress(OSError):
                while data := upstream.recv(65536):
                    client.sendall(data)
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)

        threading.Thread(target=back, daemon=True).start()
        with client, upstream, contextlib.suppress(OSError):
            while data := client.recv(65536):
                end = time.monotonic() + self.delay_s
                while time.monotonic() < end:
                    if self._gone(client):
                        return  # the writer died: its request never arrives
                    time.sleep(0.02)
                upstream.sendall(data)

    def close(self) -> None:
        self._closed.set()
        self.listener.close()


def point_gateway_at(stack: LocalStack, influx_url: str) -> None:
    """Rewrite the stack's settings so the gateway (when next started) writes to
    ``influx_url``."""
    text = stack.settings_file.read_text()
    lines = [
        f"DAMPWATCH_INFLUX_URL={influx_url}" if line.startswith("DAMPWATCH_INFLUX_URL=") else line
        for line in text.splitlines()
    ]
    stack.settings_file.write_text("\n".join(lines) + "\n")
