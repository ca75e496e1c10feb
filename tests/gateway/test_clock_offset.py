"""A device whose clock is off: the gateway corrects its readings' times by ``sent``
(beyond 60 s) and records the offset in device health (wire contract clarification on
``sent``). Real Mosquitto, InfluxDB, gateway and API on free ports."""

from __future__ import annotations

import time

import httpx
from gwharness import poll, stored_points, wait_accepted

from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.local import LocalStack
from dampwatch_core.contract import Reading, encode_telemetry, telemetry_topic
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models import Device
from simulators.publisher import DeviceCredential, DevicePublisher

FAST = "esp32-0000000c10c1"  # clock 30 min fast
CLOSE = "esp32-0000000c10c2"  # clock 30 s slow: within the 60 s tolerance
SLOW = "esp32-0000000c10c3"  # clock 1 h slow
SLACK_S = 5  # publish-to-receive latency on a busy machine


def offsets(stack: LocalStack) -> dict[str, int | None]:
    engine = make_engine(stack.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return {d.id: d.clock_offset_s for d in s.query(Device)}
    finally:
        engine.dispose()


def test_readings_of_a_device_with_a_fast_clock_are_stored_at_the_true_time(
    stack: LocalStack,
) -> None:
    sessions = make_sessionmaker(make_engine(stack.database_url))
    with sessions.begin() as s:
        add_flat(s, "CK-1", "1 Clock Row")
        s.flush()
        creds = [
            DeviceCredential(d, add_device(s, d, "CK-1", "bedroom")[1]) for d in (FAST, CLOSE, SLOW)
        ]
        s.flush()
        sync_broker_credentials(s, stack.mosquitto.password_file, stack.mosquitto.pid_file)
    for cred in creds:
        wait_accepted(stack, cred)
    fast, close, slow = (
        DevicePublisher(stack.host, stack.ports.mqtt, c, fw="1.3.0") for c in creds
    )

    # 30 min fast: by its clock the newest reading is 30 min in the future (a future_ts
    # uncorrected); sent is its clock at sending
    now = int(time.time())
    device_now = now + 1800
    fast.publish_raw(
        telemetry_topic(FAST),
        encode_telemetry(
            1,
            [Reading(device_now - 600, 19.0, 70.0), Reading(device_now, 19.1, 71.0)],
            sent=device_now,
        ),
    )
    # 30 s slow: within tolerance, stored exactly as sent
    close_ts = [now - 330, now - 30]
    close.publish_raw(
        telemetry_topic(CLOSE),
        encode_telemetry(1, [Reading(ts, 20.0, 50.0) for ts in close_ts], sent=now - 30),
    )

    # 1 h slow by its clock, sent (by that clock) before the gateway connected: as far as
    # the gateway can tell the broker may have held it for an hour, so it is stored as
    # sent and no offset is claimed (a clock that looks slow is corrected only once the
    # gateway's connection is older than the lag)
    slow_now = now - 3600
    slow.publish_raw(
        telemetry_topic(SLOW),
        encode_telemetry(1, [Reading(slow_now - 300, 18.0, 60.0)], sent=slow_now),
    )

    def points(device: str) -> list[int]:
        return sorted(ts for d, ts in stored_points(stack) if d == device)

    def assert_at_true_time(got: list[int], true_ts: list[int]) -> None:
        for stored, true in zip(got, true_ts, strict=True):
            assert 0 <= stored - true <= SLACK_S, f"stored at {stored}, true time {true}"

    assert poll(lambda: points(CLOSE), lambda p: len(p) == 2, 30, "close device") == close_ts
    assert poll(lambda: points(SLOW), bool, 30, "slow device") == [slow_now - 300]
    fast_got = poll(lambda: points(FAST), lambda p: len(p) == 2, 30, "fast device's readings")
    assert_at_true_time(fast_got, [now - 600, now])

    health = poll(
        lambda: offsets(stack),
        lambda o: all(o.get(d) is not None for d in (FAST, CLOSE)),
        30,
        "clock offsets in device health",
    )
    fast_offset, close_offset = health[FAST], health[CLOSE]
    assert fast_offset is not None and close_offset is not None
    assert 1800 - SLACK_S <= fast_offset <= 1800, health
    assert -30 - SLACK_S <= close_offset <= -30, health
    assert health.get(SLOW) is None, health

    listed = httpx.get(f"{stack.api_url}/api/v1/devices", headers=stack.api_headers, timeout=5)
    api = {d["id"]: d for d in listed.json()}
    assert api[FAST]["clock_offset_s"] == fast_offset
    assert api[CLOSE]["clock_offset_s"] == close_offset
    page = httpx.get(f"{stack.api_url}/devices", headers=stack.api_headers, timeout=5).text
    assert f"{fast_offset:+d} s" in page
