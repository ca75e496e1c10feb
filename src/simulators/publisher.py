"""Publishing as a device would: connect with the device's own credential and a last
will, publish retained status, publish one telemetry message at QoS 1 and wait for its
PUBACK within a deadline, disconnect. Used by ``dampwatch simulate`` and the tests."""

from __future__ import annotations

import json
import logging
import math
import random
import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from numpy.typing import NDArray
from paho.mqtt.enums import CallbackAPIVersion

from dampwatch_core.contract import Reading, encode_telemetry, status_topic, telemetry_topic
from dampwatch_core.errors import ServiceUnavailable

__all__ = [
    "DeviceCredential",
    "DevicePublisher",
    "DeviceSeries",
    "FleetProgress",
    "FleetPublisher",
    "PublishError",
    "SimpleClimate",
]

log = logging.getLogger(__name__)

OFFLINE_WILL = json.dumps({"v": 1, "state": "offline"}).encode()


class PublishError(ServiceUnavailable):
    """The broker refused or did not confirm a publish in time."""


@dataclass(frozen=True)
class DeviceCredential:
    device_id: str
    password: str


@dataclass
class DevicePublisher:
    """One simulated device's uplink. ``seq`` increases by one per telemetry message."""

    host: str
    port: int
    credential: DeviceCredential
    fw: str = "sim-1.0.0"
    tls_ca: Path | None = None
    timeout_s: float = 10.0
    seq: int = 0
    boot: int = 1
    _client: mqtt.Client | None = field(default=None, repr=False)

    def _connect(self) -> mqtt.Client:
        device_id = self.credential.device_id
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311
        )
        client.username_pw_set(device_id, self.credential.password)
        client.will_set(status_topic(device_id), OFFLINE_WILL, qos=1, retain=True)
        if self.tls_ca is not None:
            client.tls_set(ca_certs=str(self.tls_ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        result: dict[str, object] = {}

        def on_connect(_c: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
            result.setdefault("rc", rc)

        client.on_connect = on_connect
        try:
            client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise PublishError(
                f"{device_id}: broker {self.host}:{self.port} unreachable: {exc}"
            ) from exc
        deadline = time.monotonic() + self.timeout_s
        while "rc" not in result and time.monotonic() < deadline:
            client.loop(timeout=0.05)
        rc = result.get("rc")
        if rc is None or getattr(rc, "is_failure", True):
            client.disconnect()
            raise PublishError(f"{device_id}: broker refused the connection ({rc})")
        return client

    def _publish(self, client: mqtt.Client, topic: str, payload: bytes, retain: bool) -> None:
        info = client.publish(topic, payload, qos=1, retain=retain)
        deadline = time.monotonic() + self.timeout_s
        while not info.is_published():
            if time.monotonic() > deadline or not client.is_connected():
                raise PublishError(f"{self.credential.device_id}: no PUBACK for {topic}")
            client.loop(timeout=0.05)

    def upload(
        self,
        readings: Sequence[Reading],
        *,
        batt_mv: int | None = 3000,
        rssi_dbm: int | None = -60,
    ) -> int:
        """Publish ``readings`` (1–64) as one telemetry message; returns its ``seq``."""
        client = self._connect()
        try:
            device_id = self.credential.device_id
            status = {
                "v": 1,
                "state": "online",
                "fw": self.fw,
                "boot": self.boot,
                "reset": "deepsleep",
            }
            if batt_mv is not None:
                status["batt_mv"] = batt_mv
            payload = encode_telemetry(
                self.seq, list(readings), fw=self.fw, batt_mv=batt_mv, rssi_dbm=rssi_dbm
            )
            self._publish(client, telemetry_topic(device_id), payload, retain=False)
            self._publish(client, status_topic(device_id), json.dumps(status).encode(), retain=True)
            seq = self.seq
            self.seq += 1
            return seq
        finally:
            client.disconnect()
            client.loop(timeout=0.05)

    def publish_raw(self, topic: str, payload: bytes) -> None:
        """Publish arbitrary bytes (fault injection); raises if not acknowledged."""
        client = self._connect()
        try:
            self._publish(client, topic, payload, retain=False)
        finally:
            client.disconnect()
            client.loop(timeout=0.05)


class SimpleClimate:
    """A plain indoor climate for the first simulator: a daily temperature cycle,
    humidity moving against it, small noise. Physically plausible values only; the
    physical flat model lives in the simulators' flat model."""

    def __init__(self, seed: int, *, mean_temp_c: float = 19.0, mean_rh_pct: float = 58.0) -> None:
        self._rng = random.Random(seed)
        self.mean_temp_c = mean_temp_c + self._rng.uniform(-2.0, 2.0)
        self.mean_rh_pct = mean_rh_pct + self._rng.uniform(-8.0, 8.0)
        self.phase = self._rng.uniform(0, 2 * math.pi)

    def sample(self, ts: int) -> Reading:
        angle = 2 * math.pi * (ts % 86400) / 86400 + self.phase
        temp = self.mean_temp_c + 1.5 * math.sin(angle) + self._rng.gauss(0, 0.1)
        rh = self.mean_rh_pct - 4.0 * math.sin(angle) + self._rng.gauss(0, 0.8)
        return Reading(ts=ts, temp_c=round(temp, 2), rh_pct=round(min(max(rh, 1.0), 99.0), 1))


@dataclass
class DeviceSeries:
    """A simulated device's readings (arrays of equal length, oldest first)."""

    credential: DeviceCredential
    ts: Sequence[int] | NDArray[np.int64]
    temp_c: Sequence[float] | NDArray[np.float64]
    rh_pct: Sequence[float] | NDArray[np.float64]
    surface_c: Sequence[float] | NDArray[np.float64] | None = None
    upload_every: int = 48
    batt_mv: int | None = 3000
    #: (from, until): Wi-Fi down; readings taken then are uploaded at ``until``
    offline: tuple[int, int] | None = None


@dataclass
class FleetProgress:
    messages: int = 0
    readings: int = 0
    failed_uploads: int = 0


class FleetPublisher:
    """Publishes many devices' readings through the broker as their firmware would:
    each device wakes, connects with its own credential, publishes one QoS 1 message
    of ``upload_every`` readings, its retained status, and disconnects.

    Time is simulated: :meth:`publish_until` sends every message whose last reading is
    at or before ``until``, so a caller can replay history fast (accelerated) and then
    follow the wall clock (real time).
    """

    def __init__(
        self,
        host: str,
        port: int,
        devices: Sequence[DeviceSeries],
        *,
        workers: int = 8,
        tls_ca: Path | None = None,
    ) -> None:
        self.devices = list(devices)
        self.publishers = [
            DevicePublisher(host, port, d.credential, tls_ca=tls_ca) for d in self.devices
        ]
        self.cursor = [0] * len(self.devices)
        self.workers = workers
        self.progress = FleetProgress()

    def _due(self, index: int, until: int) -> list[tuple[int, list[Reading]]]:
        """(samples consumed, readings to send) for each message now due."""
        series = self.devices[index]
        start = self.cursor[index]
        batches: list[tuple[int, list[Reading]]] = []
        n = len(series.ts)
        while start < n:
            end = min(start + series.upload_every, n)
            if series.ts[end - 1] > until:
                break
            off = series.offline
            if off is not None and off[0] <= series.ts[end - 1] < off[1] and until < off[1]:
                break  # still offline: the firmware keeps these in its buffer
            surface = series.surface_c
            readings = [
                Reading(
                    int(series.ts[i]),
                    float(series.temp_c[i]),
                    float(series.rh_pct[i]),
                    None if surface is None or math.isnan(float(surface[i])) else float(surface[i]),
                )
                for i in range(start, end)
                if not (math.isnan(float(series.temp_c[i])) or math.isnan(float(series.rh_pct[i])))
            ]
            batches.append((end - start, readings))
            start = end
        return batches

    def _upload(
        self, index: int, batches: list[tuple[int, list[Reading]]]
    ) -> tuple[int, int, bool]:
        publisher = self.publishers[index]
        sent = readings = 0
        for consumed, batch in batches:
            if batch:  # a batch whose samples all dropped out sends nothing
                try:
                    publisher.upload(batch, batt_mv=self.devices[index].batt_mv)
                except ServiceUnavailable as exc:
                    log.warning("%s", exc)
                    return sent, readings, False
                sent += 1
                readings += len(batch)
            self.cursor[index] += consumed
        return sent, readings, True

    def publish_until(self, until: int) -> FleetProgress:
        """Send every complete message whose readings are all at or before ``until``.
        A failed device keeps its unsent readings for the next call (as firmware does)."""
        work = [(i, b) for i in range(len(self.devices)) if (b := self._due(i, until))]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for sent, readings, ok in pool.map(lambda w: self._upload(*w), work):
                self.progress.messages += sent
                self.progress.readings += readings
                if not ok:
                    self.progress.failed_uploads += 1
        return self.progress

    def remaining(self) -> int:
        return sum(len(d.ts) - c for d, c in zip(self.devices, self.cursor, strict=True))
