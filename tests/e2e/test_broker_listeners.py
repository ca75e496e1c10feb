"""The broker's two listeners: a device's credentials cannot kick the gateway off or take
its persistent session (the client id on the device listener is the username), service
accounts log in only on the service listener and device accounts only on the device
listener, and payloads far over the contract's 8 KiB stop at the broker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.local import LocalStack
from dampwatch.stack.mosquitto import Mosquitto
from dampwatch.stack.process import wait_until
from dampwatch_core.contract import Reading, encode_telemetry, telemetry_topic
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.mqtt_auth import GATEWAY_USER
from simulators.publisher import DeviceCredential, DevicePublisher

DEVICE = "esp32-0000000a11ce"
GATEWAY_CLIENT_ID = "dampwatch-gateway-1"  # the stack's gateway


@pytest.fixture
def device_password(stack: LocalStack) -> str:
    sessions = make_sessionmaker(make_engine(stack.database_url))
    with sessions.begin() as s:
        add_flat(s, "TAKE-1", "1 Takeover Court")
        s.flush()
        _, password = add_device(s, DEVICE, "TAKE-1", "bedroom")
        s.flush()
        sync_broker_credentials(s, stack.mosquitto.password_file, stack.mosquitto.pid_file)
    stack.mosquitto.wait_accepts(DEVICE, password)
    return password


def connack(
    host: str,
    port: int,
    username: str,
    password: str,
    client_id: str,
    *,
    clean_start: bool = True,
    keep: bool = False,
    mqtt5: bool = True,
) -> tuple[bool, mqtt.Client]:
    """Connect (MQTT 5 unless told); (accepted, client). Left running if ``keep``."""
    answer: list[bool] = []
    protocol = mqtt.MQTTv5 if mqtt5 else mqtt.MQTTv311
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, protocol=protocol)
    client.username_pw_set(username, password)
    client.on_connect = lambda _c, _u, _f, rc, _p: answer.append(not rc.is_failure)
    if mqtt5:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0  # a clean start with expiry 0 discards a session
        client.connect(host, port, keepalive=10, clean_start=clean_start, properties=props)
    else:
        client.connect(host, port, keepalive=10)
    client.loop_start()
    wait_until(lambda: bool(answer), 10, f"a CONNACK for {username}")
    if not keep:
        client.disconnect()
        client.loop_stop()
    return answer[0], client


def stored_ts(stack: LocalStack) -> set[int]:
    with stack.influx.client() as influx:
        series = influx.query(f"SELECT temp_c FROM climate WHERE device = '{DEVICE}'")
    return {int(v[0]) for s in series for v in s.values}


def broker_log(stack: LocalStack) -> str:
    return (stack.mosquitto.state_dir / "mosquitto.log").read_text(errors="replace")


def gateway_service(stack: LocalStack):  # type: ignore[no-untyped-def]
    return next(s for s in stack.services if s.name == "gateway")


def test_a_device_cannot_kick_the_gateway_off(stack: LocalStack, device_password: str) -> None:
    ok, impostor = connack(
        stack.host, stack.ports.mqtt, DEVICE, device_password, GATEWAY_CLIENT_ID, keep=True
    )
    try:
        assert ok  # its own credentials are good; the client id it asked for is not used
        now = int(time.time())
        dev = DevicePublisher(
            stack.host, stack.ports.mqtt, DeviceCredential(DEVICE, device_password)
        )
        dev.upload([Reading(now - 60, 20.0, 50.0)])
        wait_until(lambda: stored_ts(stack) == {now - 60}, 20, "the reading stored")
    finally:
        impostor.disconnect()
        impostor.loop_stop()
    log = broker_log(stack)
    assert f"Client {GATEWAY_CLIENT_ID} already connected" not in log
    assert f"as {DEVICE} " in log
    gateway_service(stack).check_alive()


def test_a_device_cannot_take_the_gateways_queued_session(
    stack: LocalStack, device_password: str
) -> None:
    """With the gateway offline, its persistent session queues readings; a device that
    connects as ``dampwatch-gateway-1`` with a clean start (which would discard that
    session) and subscribes to everything gets nothing, and the gateway, back, stores
    every queued reading."""
    gateway_service(stack).stop()
    stack.services = [s for s in stack.services if s.name != "gateway"]
    now = int(time.time()) // 60 * 60
    sent = {now - 600 + 60 * k for k in range(5)}
    dev = DevicePublisher(stack.host, stack.ports.mqtt, DeviceCredential(DEVICE, device_password))
    for k, ts in enumerate(sorted(sent)):
        dev.publish_raw(telemetry_topic(DEVICE), encode_telemetry(k, [Reading(ts, 20.0, 50.0)]))
    got: list[bytes] = []
    ok, impostor = connack(
        stack.host,
        stack.ports.mqtt,
        DEVICE,
        device_password,
        GATEWAY_CLIENT_ID,
        clean_start=True,
        keep=True,
    )
    assert ok
    impostor.on_message = lambda _c, _u, msg: got.append(msg.payload)
    impostor.subscribe("#", qos=1)
    impostor.subscribe("$share/dampwatch-gateway/dampwatch/v1/dev/+/telemetry", qos=1)
    impostor.disconnect()
    impostor.loop_stop()
    stack._service("gateway", "gateway")
    wait_until(lambda: stored_ts(stack) == sent, 30, "every queued reading stored")
    assert got == []


@pytest.mark.parametrize("account", ["service_on_device_listener", "device_on_service_listener"])
def test_each_account_logs_in_only_on_its_own_listener(
    stack: LocalStack, device_password: str, account: str
) -> None:
    gw_password = stack._secrets[GATEWAY_USER]
    m = stack.mosquitto
    # each account works where it belongs ...
    assert connack(m.service_host, m.service_port, GATEWAY_USER, gw_password, "probe-gw")[0]
    assert connack(m.host, m.port, DEVICE, device_password, DEVICE)[0]
    # ... and nowhere else
    if account == "service_on_device_listener":
        ok, _ = connack(m.host, m.port, GATEWAY_USER, gw_password, GATEWAY_CLIENT_ID)
    else:
        ok, _ = connack(m.service_host, m.service_port, DEVICE, device_password, DEVICE)
    assert not ok


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    m = Mosquitto(tmp_path / "mq")
    m.add_user(DEVICE, "device-pw")
    m.add_user(GATEWAY_USER, "gw-pw")
    m.start()
    yield m
    m.stop()


def test_the_broker_drops_payloads_over_its_limit(broker: Mosquitto) -> None:
    """As firmware publishes (MQTT 3.1.1, QoS 1): the broker acknowledges an oversize
    message and drops it. (An MQTT 5 client is told the broker's maximum packet size
    and is disconnected if it sends more.)"""
    got: list[int] = []
    ok, sub = connack(
        broker.service_host, broker.service_port, GATEWAY_USER, "gw-pw", "probe-gw", keep=True
    )
    assert ok
    sub.on_message = lambda _c, _u, msg: got.append(len(msg.payload))
    subscribed: list[bool] = []
    sub.on_subscribe = lambda *_a: subscribed.append(True)
    sub.subscribe(telemetry_topic(DEVICE), qos=1)
    wait_until(lambda: bool(subscribed), 10, "the subscription")
    ok, dev = connack(broker.host, broker.port, DEVICE, "device-pw", DEVICE, keep=True, mqtt5=False)
    assert ok
    try:
        sizes = [16_385, 100_000, 9_000, 100]  # the limit is 16 KiB
        for size in sizes:
            dev.publish(telemetry_topic(DEVICE), b"x" * size, qos=1).wait_for_publish(10)
        wait_until(lambda: 100 in got, 10, "the small message delivered")
        assert got == [9_000, 100]
    finally:
        for client in (dev, sub):
            client.disconnect()
            client.loop_stop()
