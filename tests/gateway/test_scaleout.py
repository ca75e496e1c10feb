"""Scale-out: gateways with fixed client ids share ``$share/dampwatch-gateway/...``.

Two gateways split the stream and together store every reading once. A member that is
offline keeps its persistent session in the group, and Mosquitto keeps queuing its share
for it: those readings wait at the broker until that member (same client id) returns.
"""

from __future__ import annotations

import collections
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from gwharness import (
    Publishing,
    make_fleet,
    metric,
    provision_fleet,
    start_gateway,
    stored_count,
    stored_points,
    wait_settled,
    wait_stored,
)
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dampwatch.stack.local import LocalStack
from dampwatch.stack.mosquitto import Mosquitto
from dampwatch_core.contract import SHARED_TELEMETRY_FILTER, telemetry_topic
from dampwatch_core.mqtt_auth import GATEWAY_USER

pytestmark = pytest.mark.slow

WRITTEN = "dampwatch_gateway_readings_written_total"


def test_two_gateways_split_the_load_and_store_everything_once(stack: LocalStack) -> None:
    second, second_url = start_gateway(stack, "gateway-2", "dampwatch-gateway-2")
    creds = provision_fleet(stack, 20)
    publisher, expected = make_fleet(stack, creds, messages=20)
    pub = Publishing(publisher)
    pub.start()
    assert pub.done.wait(120)
    wait_stored(stack, len(expected), 60)
    wait_settled(stack)
    wait_settled(stack, second_url)
    points = stored_points(stack)
    assert len(points) == len(set(points)) and set(points) == expected
    first_written = metric(stack.metrics_url, WRITTEN)
    second_written = metric(second_url, WRITTEN)
    # round robin: each gets a real share (messages of 12 readings each)
    assert first_written > len(expected) / 4, (first_written, second_written)
    assert second_written > len(expected) / 4, (first_written, second_written)
    assert first_written + second_written >= len(expected)

    # An offline member's share waits for it at the broker.
    second.stop()  # clean DISCONNECT: its session (and group membership) stays
    creds2 = provision_fleet(stack, 10, prefix="gx")
    publisher2, expected2 = make_fleet(stack, creds2, messages=10)
    pub2 = Publishing(publisher2)
    pub2.start()
    assert pub2.done.wait(120)
    total = len(expected) + len(expected2)
    # the running gateway has stored its share when it holds nothing more
    wait_settled(stack)
    count = stored_count(stack)
    assert len(expected) < count < total  # the other half is queued for gateway-2
    start_gateway(stack, "gateway-2b", "dampwatch-gateway-2")  # same id: same session
    wait_stored(stack, total, 60)
    points = stored_points(stack)
    assert not [k for k, n in collections.Counter(points).items() if n > 1]
    assert set(points) == expected | expected2


def _session(broker: Mosquitto, got: list[bytes], subscribed: threading.Event) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, "probe-gw", protocol=mqtt.MQTTv5)
    client.username_pw_set(GATEWAY_USER, "pw")
    client.on_message = lambda _c, _u, msg: got.append(msg.payload)
    client.on_subscribe = lambda *_args: subscribed.set()
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0xFFFFFFFF
    client.connect(broker.service_host, broker.service_port, clean_start=False, properties=props)
    client.loop_start()
    return client


def _publish(broker: Mosquitto, payload: bytes) -> None:
    dev = mqtt.Client(CallbackAPIVersion.VERSION2, "esp32-aaaaaaaaaaaa")
    dev.username_pw_set("esp32-aaaaaaaaaaaa", "pw")
    dev.connect(broker.host, broker.port)
    dev.loop_start()
    dev.publish(telemetry_topic("esp32-aaaaaaaaaaaa"), payload, qos=1).wait_for_publish(5)
    dev.disconnect()
    dev.loop_stop()


def test_mosquitto_restart_forgets_shared_subscriptions_but_not_queued_messages(
    mosquitto: Mosquitto,
) -> None:
    """Pins the broker behaviour the README's Limitations describe: Mosquitto 2.0 keeps a
    persistent session's queue across its restart, but not the session's *shared*
    subscription. Until a gateway re-subscribes (it does on every connect), telemetry
    published to the restarted broker has no subscriber and is dropped. If this test
    starts failing, Mosquitto fixed it and the limitation can go."""
    mosquitto.add_user(GATEWAY_USER, "pw")
    mosquitto.add_user("esp32-aaaaaaaaaaaa", "pw")
    got: list[bytes] = []
    subscribed = threading.Event()
    client = _session(mosquitto, got, subscribed)
    client.subscribe(SHARED_TELEMETRY_FILTER, qos=1)
    assert subscribed.wait(10)
    client.disconnect()
    client.loop_stop()
    _publish(mosquitto, b"queued before the restart")
    mosquitto.restart()
    _publish(mosquitto, b"published after the restart")
    subscribed.clear()
    client = _session(mosquitto, got, subscribed)
    client.subscribe(SHARED_TELEMETRY_FILTER, qos=1)  # as a gateway does on connect
    assert subscribed.wait(10)
    _publish(mosquitto, b"a marker after subscribing again")
    deadline = time.monotonic() + 10
    while b"a marker after subscribing again" not in got:
        assert time.monotonic() < deadline, got
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    assert got == [b"queued before the restart", b"a marker after subscribing again"]
