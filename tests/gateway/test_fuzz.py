"""Hostile payloads: each is quarantined with the right reason, the gateway stays up,
and valid messages around them are stored."""

from __future__ import annotations

import json
import random
import time

import httpx
from gwharness import poll, wait_accepted

from backend.registry import add_device, add_flat, decommission_device, sync_broker_credentials
from dampwatch.stack.local import LocalStack
from dampwatch_core.contract import Reading, encode_telemetry, telemetry_topic
from dampwatch_core.db import make_engine, make_sessionmaker
from simulators.publisher import DeviceCredential, DevicePublisher


def test_hostile_payloads_are_quarantined_and_the_gateway_survives(stack: LocalStack) -> None:
    sessions = make_sessionmaker(make_engine(stack.database_url))
    with sessions.begin() as s:
        add_flat(s, "FUZZ-1", "1 Fuzz Court")
        s.flush()
        _, pw = add_device(s, "esp32-f00000000001", "FUZZ-1", "bedroom")
        _, pw_old = add_device(s, "esp32-f00000000002", "FUZZ-1", "kitchen")
        s.flush()
        sync_broker_credentials(s, stack.mosquitto.password_file, stack.mosquitto.pid_file)
    # the broker still knows a device the registry has retired, and one it never had
    with sessions.begin() as s:
        decommission_device(s, "esp32-f00000000002")
    stack.mosquitto.add_user("esp32-f0000000000f", "stranger-pw")
    wait_accepted(stack, DeviceCredential("esp32-f0000000000f", "stranger-pw"))
    dev = DevicePublisher(stack.host, stack.ports.mqtt, DeviceCredential("esp32-f00000000001", pw))
    topic = telemetry_topic("esp32-f00000000001")
    now = int(time.time())
    rng = random.Random(5)
    hostile: list[tuple[bytes, str]] = [
        (b"\x00\xff garbage", "not_utf8"),
        (b"not json", "not_json"),
        (b"[" * 3000 + b"]" * 3000, "not_json"),
        # over the contract's 8 KiB, under the broker's 16 KiB fence: the gateway's to refuse
        (b'{"v":1,"seq":1,"readings":[' + b"1," * 4_500 + b"1]}", "too_large"),
        (b'{"v":1,"seq":1,"readings":[{"ts":%d,"temp_c":NaN,"rh_pct":50}]}' % now, "not_finite"),
        (
            b'{"v":1,"seq":1,"readings":[{"ts":%d,"temp_c":20,"rh_pct":Infinity}]}' % now,
            "not_finite",
        ),
        (b'{"v":1,"seq":"one","readings":[{"ts":%d,"temp_c":20,"rh_pct":50}]}' % now, "wrong_type"),
        (b'{"v":1,"seq":1,"readings":[{"ts":%d,"temp_c":"20","rh_pct":50}]}' % now, "wrong_type"),
        (b'{"v":1,"seq":1,"readings":[{"ts":%d,"temp_c":99.5,"rh_pct":50}]}' % now, "out_of_range"),
        (
            json.dumps(
                {
                    "v": 1,
                    "seq": 1,
                    "readings": [{"ts": now - i, "temp_c": 20, "rh_pct": 50} for i in range(65)],
                }
            ).encode(),
            "too_many_readings",
        ),
        (
            b'{"v":1,"seq":1,"readings":[{"ts":%d,"temp_c":20,"rh_pct":50}]}' % (now + 3600),
            "future_ts",
        ),
        (b'{"v":2,"seq":1,"readings":[]}', "bad_version"),
        (bytes(rng.getrandbits(8) for _ in range(300)), None),  # random bytes: some reason
    ]
    valid_ts = []
    for i, (payload, _) in enumerate(hostile):
        ts = now - 600 - i * 10
        dev.publish_raw(topic, encode_telemetry(i, [Reading(ts, 20.0 + i / 10, 50.0)]))
        valid_ts.append(ts)
        dev.publish_raw(topic, payload)
    DevicePublisher(
        stack.host, stack.ports.mqtt, DeviceCredential("esp32-f00000000002", pw_old)
    ).upload([Reading(now, 20, 50)])
    DevicePublisher(
        stack.host, stack.ports.mqtt, DeviceCredential("esp32-f0000000000f", "stranger-pw")
    ).upload([Reading(now, 20, 50)])
    last = now - 5
    dev.publish_raw(topic, encode_telemetry(99, [Reading(last, 21.0, 51.0)]))
    valid_ts.append(last)

    def stored() -> list[int]:
        with stack.influx.client() as influx:
            series = influx.query("SELECT temp_c FROM climate WHERE flat = 'FUZZ-1'")
        return sorted(int(v[0]) for s in series for v in s.values)

    poll(stored, lambda got: got == sorted(valid_ts), 20, "the valid readings stored")
    # quarantine records are committed after the readings are written: wait for them
    # (13 hostile messages, 2 from the retired device, 2 from the stranger)
    items = poll(
        lambda: httpx.get(
            f"{stack.api_url}/api/v1/quarantine",
            params={"limit": 100},
            headers=stack.api_headers,
            timeout=5,
        ).json(),
        lambda got: len(got) >= len(hostile) + 4,
        20,
        "the quarantine records",
    )
    by_payload = {}
    for q in items:
        by_payload.setdefault(q["device_id"], []).append(q["reason"])
    reasons = list(reversed(by_payload["esp32-f00000000001"]))
    expected = [r for _, r in hostile]
    assert len(reasons) == len(expected)
    for got, want in zip(reasons, expected, strict=True):
        if want is not None:
            assert got == want
    # their telemetry and their status message are both quarantined
    assert by_payload["esp32-f00000000002"] == ["decommissioned_device"] * 2
    assert by_payload["esp32-f0000000000f"] == ["unknown_device"] * 2
    metrics = httpx.get(stack.metrics_url, timeout=5).text
    assert 'dampwatch_gateway_quarantined_total{reason="too_large"} 1.0' in metrics
    stack.check_alive()
