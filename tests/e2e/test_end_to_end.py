"""One reading end to end through real Mosquitto, the gateway, real InfluxDB and the
API; the broker's ACL; quarantine of contract breaches."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from dampwatch.cli import main
from dampwatch.stack.local import LocalStack
from dampwatch_core.contract import Reading, encode_telemetry, telemetry_topic
from simulators.publisher import DeviceCredential, DevicePublisher, PublishError


def provision(
    stack: LocalStack,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    devices: dict[str, tuple[str, str]],
) -> dict[str, str]:
    """Import flats and register devices through the CLI; returns device -> password."""
    flats = sorted({flat for flat, _ in devices.values()})
    csv_path = tmp_path / "flats.csv"
    csv_path.write_text(
        "flat_id,address,block\n" + "".join(f"{f},{f} Test Court,Test Court\n" for f in flats)
    )
    settings = str(stack.settings_file)
    assert main(["flats", "import", str(csv_path), "--settings", settings]) == 0
    passwords = {}
    for device_id, (flat, room) in devices.items():
        capsys.readouterr()
        code = main(
            [
                "devices",
                "add",
                device_id,
                "--flat",
                flat,
                "--room",
                room,
                "--json",
                "--settings",
                settings,
            ]
        )
        assert code == 0
        out = json.loads(capsys.readouterr().out)
        assert out["mqtt_username"] == device_id
        passwords[device_id] = out["mqtt_password"]
    for device_id, password in passwords.items():  # the broker rereads its files on SIGHUP
        stack.mosquitto.wait_accepts(device_id, password)
    return passwords


def readings(stack: LocalStack, flat: str, start: int, end: int) -> list[dict]:
    r = httpx.get(
        f"{stack.api_url}/api/v1/flats/{flat}/readings",
        params={"from": start, "to": end},
        headers=stack.api_headers,
        timeout=5,
    )
    assert r.status_code == 200, r.text
    return r.json()["readings"]


def wait_for(check, timeout_s: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    return check()


def test_one_reading_end_to_end(stack: LocalStack, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    device = "esp32-a4cf12fe0b3c"
    pw = provision(stack, capsys, tmp_path, {device: ("LS9-0101", "bedroom")})
    now = int(time.time())
    sent = [Reading(now - 300, 19.52, 64.8), Reading(now, 19.47, 65.1, 14.2)]
    payload = encode_telemetry(1042, sent, fw="1.2.0", batt_mv=2980, rssi_dbm=-67)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device)
    client.username_pw_set(device, pw[device])
    client.connect(stack.host, stack.ports.mqtt)
    client.loop_start()
    started = time.monotonic()
    client.publish(telemetry_topic(device), payload, qos=1).wait_for_publish(5)
    got = wait_for(
        lambda: len(r := readings(stack, "LS9-0101", now - 3600, now + 60)) == 2 and r, timeout_s=5
    )
    elapsed = time.monotonic() - started
    client.loop_stop()
    client.disconnect()
    assert got, "reading did not arrive within 5 s"
    assert elapsed < 5
    assert [
        (r["ts"], r["temp_c"], r["rh_pct"], r["surface_c"], r["room"], r["device_id"]) for r in got
    ] == [
        (now - 300, 19.52, 64.8, None, "bedroom", device),
        (now, 19.47, 65.1, 14.2, "bedroom", device),
    ]
    dev = httpx.get(
        f"{stack.api_url}/api/v1/devices/{device}", headers=stack.api_headers, timeout=5
    ).json()
    assert (dev["last_seq"], dev["batt_mv"], dev["fw"], dev["state"]) == (
        1042,
        2980,
        "1.2.0",
        "online",
    )


def test_device_cannot_publish_as_another(stack: LocalStack, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = "esp32-00000000000a", "esp32-00000000000b"
    pw = provision(stack, capsys, tmp_path, {a: ("FLAT-A", "bedroom"), b: ("FLAT-B", "bedroom")})
    now = int(time.time())
    pub_a = DevicePublisher(stack.host, stack.ports.mqtt, DeviceCredential(a, pw[a]))
    # A publishes on B's topic: the broker's ACL drops it.
    pub_a.publish_raw(telemetry_topic(b), encode_telemetry(1, [Reading(now, 30.0, 90.0)]))
    # Then A publishes on its own topic; once that is stored, B's would have been too.
    pub_a.upload([Reading(now, 20.0, 50.0)])
    assert wait_for(lambda: readings(stack, "FLAT-A", now - 60, now + 60))
    assert readings(stack, "FLAT-B", now - 3600, now + 3600) == []
    # A device that is not provisioned cannot even connect.
    stranger = DevicePublisher(
        stack.host, stack.ports.mqtt, DeviceCredential("esp32-0000000000ff", "guess"), timeout_s=3
    )
    with pytest.raises(PublishError, match="refused"):
        stranger.upload([Reading(now, 20.0, 50.0)])
    # A wrong password for a real device is refused too.
    with pytest.raises(PublishError, match="refused"):
        DevicePublisher(
            stack.host, stack.ports.mqtt, DeviceCredential(a, pw[b]), timeout_s=3
        ).upload([Reading(now, 20.0, 50.0)])


def test_contract_breaches_are_quarantined_and_the_rest_stored(
    stack: LocalStack,
    capsys,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    device = "esp32-0000000000c1"
    pw = provision(stack, capsys, tmp_path, {device: ("FLAT-C", "kitchen")})
    now = int(time.time())
    pub = DevicePublisher(stack.host, stack.ports.mqtt, DeviceCredential(device, pw[device]))
    topic = telemetry_topic(device)
    pub.publish_raw(topic, b"not json")
    pub.publish_raw(
        topic,
        b'{"v":1,"seq":1,"readings":['
        + b",".join([b'{"ts":%d,"temp_c":20,"rh_pct":50}' % (now - i) for i in range(65)])
        + b"]}",
    )
    mixed = json.dumps(
        {
            "v": 1,
            "seq": 2,
            "readings": [
                {"ts": now - 10, "temp_c": 21.5, "rh_pct": 55.0},
                {"ts": now - 5, "temp_c": 99.0, "rh_pct": 55.0},
                {"ts": now + 3600, "temp_c": 21.0, "rh_pct": 55.0},
            ],
        }
    ).encode()
    pub.publish_raw(topic, mixed)
    got = wait_for(lambda: readings(stack, "FLAT-C", now - 60, now + 60))
    assert [(r["ts"], r["temp_c"]) for r in got] == [(now - 10, 21.5)]

    def counts() -> dict[str, int]:
        return httpx.get(
            f"{stack.api_url}/api/v1/quarantine/counts", headers=stack.api_headers, timeout=5
        ).json()

    assert wait_for(
        lambda: (
            counts() == {"not_json": 1, "too_many_readings": 1, "out_of_range": 1, "future_ts": 1}
        )
    ), counts()
    items = httpx.get(
        f"{stack.api_url}/api/v1/quarantine",
        params={"reason": "not_json"},
        headers=stack.api_headers,
        timeout=5,
    ).json()
    assert items[0]["payload_preview"] == "not json" and items[0]["device_id"] == device
    metrics = httpx.get(stack.metrics_url, timeout=5).text
    assert 'dampwatch_gateway_quarantined_total{reason="not_json"} 1.0' in metrics
    stack.check_alive()


def test_api_rejects_bad_requests_with_a_message(stack: LocalStack, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    provision(stack, capsys, tmp_path, {"esp32-0000000000d1": ("FLAT-D", "bedroom")})
    base = f"{stack.api_url}/api/v1/flats"
    auth = stack.api_headers
    r = httpx.get(f"{base}/NOPE/readings", headers=auth, timeout=5)
    assert r.status_code == 404 and "NOPE" in r.json()["detail"]
    r = httpx.get(f"{base}/FLAT-D/readings", params={"from": "yesterday"}, headers=auth, timeout=5)
    assert r.status_code == 422 and "ISO 8601" in r.json()["detail"]
    r = httpx.get(
        f"{base}/FLAT-D/readings", params={"from": "2025-11-03T08:00:00"}, headers=auth, timeout=5
    )
    assert r.status_code == 422 and "offset" in r.json()["detail"]
    r = httpx.get(
        f"{base}/FLAT-D/readings", params={"from": 200, "to": 100}, headers=auth, timeout=5
    )
    assert r.status_code == 422 and "before" in r.json()["detail"]
    r = httpx.get(
        f"{base}/FLAT-D/readings",
        params={"from": "2025-11-03T08:00:00+00:00", "to": "2025-11-04T08:00:00Z"},
        headers=auth,
        timeout=5,
    )
    assert r.status_code == 200 and r.json()["count"] == 0
