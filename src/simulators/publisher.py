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
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from dampwatch_core.contract import Reading, encode_telemetry, status_topic, telemetry_topic
from dampwatch_core.errors import DampWatchError, ServiceUnavailable

__all__ = ["DeviceCredential", "DevicePublisher", "PublishError", "SimpleClimate"]

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


class SimulationError(DampWatchError):
    """The simulator could not run as asked."""
