"""Status messages and telemetry update a device's health in the registry; the last
will marks it offline."""

from __future__ import annotations

import json
import socket
import time

import httpx
import paho.mqtt.client as mqtt
from gwharness import wait_accepted
from paho.mqtt.enums import CallbackAPIVersion

from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.local import LocalStack
from dampwatch_core.contract import Reading, status_topic
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models import Device
from simulators.publisher import OFFLINE_WILL, DeviceCredential, DevicePublisher

DEVICE = "esp32-a4cf12fe0b3c"


def health(stack: LocalStack) -> Device:
    sessions = make_sessionmaker(make_engine(stack.database_url))
    with sessions() as s:
        device = s.get(Device, DEVICE)
        assert device is not None
        s.expunge(device)
        return device


def wait_for(stack: LocalStack, check: object, timeout_s: float = 15) -> Device:
    """Device health is committed after the readings: wait for it, fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    device = health(stack)
    while not check(device):  # type: ignore[operator]
        assert time.monotonic() < deadline, f"device health not as expected: {vars(device)}"
        time.sleep(0.1)
        device = health(stack)
    return device


def test_status_and_telemetry_update_device_health(stack: LocalStack) -> None:
    sessions = make_sessionmaker(make_engine(stack.database_url))
    with sessions.begin() as s:
        add_flat(s, "HL-1", "1 Health Court")
        s.flush()
        _, pw = add_device(s, DEVICE, "HL-1", "bedroom")
        s.flush()
        sync_broker_credentials(s, stack.mosquitto.password_file, stack.mosquitto.pid_file)
    wait_accepted(stack, DeviceCredential(DEVICE, pw))
    dev = DevicePublisher(stack.host, stack.ports.mqtt, DeviceCredential(DEVICE, pw), fw="1.2.0")
    status = {"v": 1, "state": "online", "fw": "1.2.0", "batt_mv": 2990, "boot": 2**32 - 1}
    # the firmware's own counters, as its status carries them
    status |= {"reset": "deepsleep", "drops": 16, "buffered": 120, "sensor_failures": 2}
    dev.publish_raw(status_topic(DEVICE), json.dumps(status).encode())
    device = wait_for(stack, lambda d: d.boot == 2**32 - 1)
    assert (device.state, device.fw, device.batt_mv, device.reset_cause) == (
        "online",
        "1.2.0",
        2990,
        "deepsleep",
    )
    assert (device.drops, device.buffered, device.sensor_failures) == (16, 120, 2)
    api = httpx.get(f"{stack.api_url}/api/v1/devices", headers=stack.api_headers, timeout=5).json()
    assert [(d["drops"], d["buffered"], d["sensor_failures"]) for d in api] == [(16, 120, 2)]
    page = httpx.get(f"{stack.api_url}/devices", headers=stack.api_headers, timeout=5).text
    assert "16 / 120 / 2" in page
    assert device.last_seen is not None
    first_seen = device.last_seen

    dev.upload([Reading(int(time.time()) - 60, 20.0, 55.0)], batt_mv=2950, rssi_dbm=-71)
    device = wait_for(stack, lambda d: d.rssi_dbm == -71)
    assert (device.batt_mv, device.last_seq, device.state) == (2950, 0, "online")
    assert device.drops == 16  # telemetry carries no firmware counters: kept
    assert device.last_seen is not None and device.last_seen > first_seen

    # the device drops off the network without a DISCONNECT: the broker publishes its
    # last will, {"v":1,"state":"offline"}, and the gateway records it
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DEVICE)
    client.username_pw_set(DEVICE, pw)
    client.will_set(status_topic(DEVICE), OFFLINE_WILL, qos=1, retain=True)
    client.connect(stack.host, stack.ports.mqtt, keepalive=5)
    client.loop(0.5)
    sock = client.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)  # an abrupt loss of the connection
    sock.close()
    device = wait_for(stack, lambda d: d.state == "offline")
    assert device.state == "offline"
    assert device.batt_mv == 2950  # an offline will carries no battery reading
