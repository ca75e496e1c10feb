"""End to end with the whole local stack: flats, a relay and ESP-NOW devices provisioned
through the CLI (the broker's ACL regenerated from the registry), three nodes and the
relay as MicroPython processes, the real Mosquitto, the gateway, InfluxDB and the API.
The simulated clock is kept at true time here (30 s sampling, two wakes a node), so the
gateway's rules on future and shifted times see what a deployment would."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fwharness import SimDevice, temp_centi
from relayharness import RELAY_ID, Air, RelayProcess, espnow_node, wait_for, wake_all

from dampwatch.cli import main

MACS = ["a4cf12fe0c01", "a4cf12fe0c02", "a4cf12fe0c03"]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_nodes_through_a_relay_to_the_api(
        stack: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        make_device: Callable[..., SimDevice], relay_build: Path) -> None:
    s = ["--settings", str(stack.settings_file)]
    flats = tmp_path / "flats.csv"
    flats.write_text("flat_id,address,block\n" + "".join(
        f"R-{i},{i} Relay Court,Relay Court\n" for i in range(3)))
    assert main(["flats", "import", str(flats), *s]) == 0
    relay_acct = cli(capsys, "relays", "add", RELAY_ID, "--block", "Relay Court", *s)
    keys = {}
    for i, mac in enumerate(MACS):
        out = cli(capsys, "devices", "add", f"esp32-{mac}", "--flat", f"R-{i}", "--room",
                  "bedroom", "--uplink", "espnow", "--relay", RELAY_ID, *s)
        keys[f"esp32-{mac}"] = out["espnow_key"]
    assert cli(capsys, "relays", "export", RELAY_ID, *s) == keys
    stack.mosquitto.wait_accepts(RELAY_ID, relay_acct["mqtt_password"])
    air = Air(tmp_path / "air")
    relay = RelayProcess(tmp_path / "relay", relay_build, air, {
        "RELAY_ID": RELAY_ID, "MQTT_HOST": relay_acct["mqtt_host"],
        "MQTT_PORT": relay_acct["mqtt_port"], "MQTT_PASSWORD": relay_acct["mqtt_password"],
        "DEVICES": keys})
    relay.start()
    try:
        now = int(time.time())
        devices = []
        for mac in MACS:
            dev = espnow_node(make_device, mac, air, keys[f"esp32-{mac}"], SAMPLE_S=30,
                              UPLOAD_EVERY=1)
            dev.now = now
            devices.append(dev)
        wake_all(devices, relay, 2)
        for i, dev in enumerate(devices):
            want = [(int(w.start_ts), temp_centi(raw["raw_t"]) / 100)
                    for w, raw in zip(dev.wakes, [e for e in dev.sensor_log() if "n" in e],
                                      strict=True)]

            def stored(i: int = i) -> list[dict[str, Any]]:
                r = httpx.get(f"{stack.api_url}/api/v1/flats/R-{i}/readings",
                              params={"from": now - 600, "to": now + 600},
                              headers=stack.api_headers, timeout=5)
                assert r.status_code == 200, r.text
                return list(r.json()["readings"])

            assert wait_for(lambda s=stored: len(s()) == 2, 15), relay.log()
            got = [(r["ts"], r["temp_c"]) for r in stored()]
            assert got == want
            assert {r["device_id"] for r in stored()} == {dev.device_id}
    finally:
        relay.kill()
