"""Retained telemetry and status are old copies the broker replays to a new subscriber,
not new data: a gateway that subscribes afresh must not store them."""

from __future__ import annotations

import json
import time

import pytest
from gwharness import Device, gateway, point_stored, provision_fleet, start_gateway, wait_ingesting

from dampwatch.stack.local import LocalStack
from dampwatch_core.contract import Reading, encode_telemetry
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models import Device as DeviceRow
from gateway.directory import DeviceDirectory
from gateway.ingest import Received, handle_message
from gateway.service import SUBSCRIPTION_ENV

pytestmark = pytest.mark.slow


def test_retained_messages_are_not_replayed_into_the_store(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = provision_fleet(stack, 2, prefix="rt")
    gateway(stack).stop()  # the running gateway would take them as live messages
    retainer, other = Device(stack, creds[0]), Device(stack, creds[1])
    old_ts = int(time.time()) - 3600
    retainer.publish("telemetry", encode_telemetry(5, [Reading(old_ts, 20.0, 50.0)]), retain=True)
    status = {"v": 1, "state": "online", "fw": "9.9.9", "boot": 99, "reset": "retained"}
    retainer.publish("status", json.dumps(status).encode(), retain=True)
    # a gateway with a new session subscribes (on a plain subscription, to which the
    # broker replays retained messages unless told not to)
    monkeypatch.setenv(SUBSCRIPTION_ENV, "exclusive")
    start_gateway(stack, "gateway-fresh", "dampwatch-gateway-fresh")
    wait_ingesting(stack, other)
    assert not point_stored(stack, retainer.cred.device_id, old_ts)
    sessions = make_sessionmaker(make_engine(stack.database_url))
    with sessions() as s:
        row = s.get(DeviceRow, retainer.cred.device_id)
        assert row is not None
        assert (row.boot, row.fw) == (None, None)
    retainer.close()
    other.close()


def test_a_message_with_the_retain_flag_is_ignored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The worker's own check, for a broker that sends retained copies anyway."""
    from backend.registry import add_device, add_flat
    from dampwatch_core.db import migrate

    url = f"sqlite:///{tmp_path / 'r.db'}"
    migrate(url)
    sessions = make_sessionmaker(make_engine(url))
    with sessions.begin() as s:
        add_flat(s, "RT-1", "1 Retain Court")
        s.flush()
        add_device(s, "esp32-rt0000000001", "RT-1", "bedroom")
    payload = encode_telemetry(1, [Reading(int(time.time()), 20.0, 50.0)])
    topic = "dampwatch/v1/dev/esp32-rt0000000001/telemetry"
    directory = DeviceDirectory(sessions)
    live = handle_message(Received(topic, payload, time.time()), directory, max_age_s=86400)
    replayed = handle_message(
        Received(topic, payload, time.time(), retained=True), directory, max_age_s=86400
    )
    assert live.lines and live.health is not None
    assert (replayed.kind, replayed.lines, replayed.health, replayed.quarantined) == (
        "retained",
        [],
        None,
        [],
    )
