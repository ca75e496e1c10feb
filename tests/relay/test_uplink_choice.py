"""One wake cycle, two uplinks: a node with both a relay and Wi-Fi configured tries
ESP-NOW first and falls back to its own Wi-Fi + MQTT session when the relay does not
answer; nothing is lost or doubled across the switch. And the awake time of an
ESP-NOW upload under the real MicroPython binary."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fwharness import DEVICE_PW, SimDevice, as_centi
from relayharness import RelayProcess, espnow_node, new_key, per_device, wait_for, wake_all

NODE = "a4cf12fe0b01"


def test_falls_back_to_wifi_while_the_relay_is_down(
        make_device: Callable[..., SimDevice], make_relay: Callable[..., RelayProcess],
        air: Any, collector: Any, broker: Any) -> None:
    key = new_key()
    dev_id = f"esp32-{NODE}"
    broker.add_user(dev_id, DEVICE_PW)
    broker.wait_accepts(dev_id, DEVICE_PW)
    relay = make_relay({dev_id: key})
    dev = espnow_node(make_device, NODE, air, key, UPLOAD_EVERY=2, WIFI_SSID="test-ap",
                      WIFI_PASSWORD="x", MQTT_HOST=broker.host, MQTT_PORT=broker.port,
                      MQTT_PASSWORD=DEVICE_PW)
    wake_all([dev], relay, 5)           # relay not started: uploads at 0, 2, 4 by Wi-Fi
    events = (dev.simdir / "events.jsonl").read_text().splitlines()
    assert any("wifi_connect" in e for e in events)
    assert any('"espnow_send"' in e for e in events)  # it tried the relay first
    assert wait_for(lambda: len(per_device(collector, dev)[1]) == 5)
    relay.start()
    wake_all([dev], relay, 4)           # uploads at 6 and 8 through the relay
    assert wait_for(lambda: len(per_device(collector, dev)[1]) == 9), relay.log()
    seqs, readings = per_device(collector, dev)
    assert as_centi(readings) == dev.expected_readings()
    assert seqs == sorted(set(seqs))
    assert [r.ts for r in readings] == sorted({r.ts for r in readings})
    wifi_joins = sum("wifi_connect" in e for e in
                     (dev.simdir / "events.jsonl").read_text().splitlines())
    assert wifi_joins == 3  # none once the relay answered


def test_awake_time_of_an_espnow_upload(make_device: Callable[..., SimDevice],
                                        make_relay: Callable[..., RelayProcess],
                                        air: Any, collector: Any) -> None:
    """48 readings (one 4-hourly upload) in two frames: what the firmware measured awake
    on the unix port, printed for the README (the unix port is no ESP32: it bounds the
    firmware's own work, not the radio's)."""
    key = new_key()
    dev_id = f"esp32-{NODE}"
    relay = make_relay({dev_id: key})
    relay.start()
    dev = espnow_node(make_device, NODE, air, key, UPLOAD_EVERY=48)
    wake_all([dev], relay, 49)
    assert wait_for(lambda: len(per_device(collector, dev)[1]) == 49), relay.log()
    upload = dev.wakes[48]
    sample = sorted(w.fw_awake_ms for w in dev.wakes[1:48])[23]
    sends = [json.loads(e) for e in (dev.simdir / "events.jsonl").read_text().splitlines()
             if "espnow_send" in e]
    print(f"\nespnow upload wake: {upload.fw_awake_ms} ms awake (firmware), "
          f"median sampling wake {sample} ms, frames {[s['espnow_send'] for s in sends[-2:]]}")
    assert upload.fw_awake_ms < 3000
