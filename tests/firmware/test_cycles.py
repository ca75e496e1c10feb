"""Many wake cycles under the real MicroPython binary against a real Mosquitto."""

from __future__ import annotations

import json
from collections.abc import Callable

import paho.mqtt.publish as publish
from fwharness import (
    BACKEND_PW,
    DEVICE_ID,
    TEST_WAKE_CAP_MS,
    Collector,
    SimDevice,
    as_centi,
    delivered,
)

from dampwatch.stack.mosquitto import Mosquitto
from dampwatch_core.contract import config_topic, parse_status


def test_multi_cycle_uploads_match_the_sensor_exactly(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    k, n = 4, 30
    dev = make_device(broker.host, broker.port, sim={"sensors": [0x44, 0x45]},
                      UPLOAD_EVERY=k, SHT4X_SURFACE_ADDR=0x45)
    for _ in range(n):
        wake = dev.wake()
        assert not wake.killed and wake.sleep_ms > 0, wake.output
        assert "error" not in wake.output and "failed" not in wake.output, wake.output
    # first wake after power-on uploads at once (clock, config); then every k samples
    expected_messages = 1 + (n - 1) // k
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) >= expected_messages)
    seqs, readings = delivered(collector, dev.now)
    assert len(seqs) == expected_messages
    assert seqs == sorted(set(seqs)) and seqs[0] == 0, seqs
    expected = dev.expected_readings(surface_addr=0x45)
    uploaded = 1 + ((n - 1) // k) * k
    assert as_centi(readings) == expected[:uploaded]
    assert all(r.surface_c is not None for r in readings)
    # each reading is stamped with the (simulated) time of its own wake
    starts = [int(w.start_ts) for w in dev.wakes[:uploaded]]
    assert [r.ts for r in readings] == starts
    statuses = [parse_status(p) for p in collector.of_kind("status")]
    assert statuses[-1].state == "online" and statuses[-1].boot == 1
    assert statuses[-1].reset == "deepsleep"
    assert max(w.fw_awake_ms for w in dev.wakes) < TEST_WAKE_CAP_MS


def test_retained_config_applied_only_when_in_range(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    dev = make_device(broker.host, broker.port, UPLOAD_EVERY=2)
    auth = {"username": "dampwatch-backend", "password": BACKEND_PW}

    def set_config(body: dict) -> None:
        publish.single(config_topic(DEVICE_ID), json.dumps(body), qos=1, retain=True,
                       hostname=broker.service_host, port=broker.service_port, auth=auth)

    set_config({"v": 1, "sample_s": 600, "upload_every": 3, "urgent_rh_pct": 80.0})
    dev.wake()  # power-on upload reads the config
    assert dev.wakes[-1].sleep_ms > 590_000, "sample_s=600 applied"
    for _ in range(3):
        dev.wake()
    assert len(collector.of_kind("telemetry")) == 2, "upload_every=3 applied"
    node = json.loads((dev.flash / "node.json").read_text())
    assert node["config"] == [600, 3, 8000]

    set_config({"v": 1, "sample_s": 10, "upload_every": 3, "urgent_rh_pct": 80.0})
    for _ in range(3):
        dev.wake()
    assert dev.wakes[-1].sleep_ms > 590_000, "out-of-range config ignored, last good kept"
    assert "config rejected" in dev.wakes[-1].output
    assert json.loads((dev.flash / "node.json").read_text())["config"] == [600, 3, 8000]


def test_urgent_humidity_uploads_at_once(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    # measurement 3 (the 4th wake) reads RH >= 85 %: uploaded without waiting for 48
    dev = make_device(broker.host, broker.port, sim={"urgent": [3]})
    for _ in range(5):
        dev.wake()
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) == 2)
    _, readings = delivered(collector, dev.now)
    assert len(readings) == 4 and readings[-1].rh_pct >= 85.0


def test_a_humid_spell_uploads_once_not_at_every_wake(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    # measurements 2-6 read RH >= 85 % (one spell), 7 drops well below, 9 is a new spell
    dev = make_device(broker.host, broker.port, sim={"urgent": [2, 3, 4, 5, 6, 9]})
    for _ in range(11):
        dev.wake()
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) == 3)
    _, readings = delivered(collector, dev.now)
    assert len(readings) == 10, "power-on upload, then one per spell (wakes 2 and 9)"


UPLOAD_PATH = {"node", "mqtt", "net", "secrets", "settings", "ringfile", "config",
               "buffer", "payloads", "deadline"}


def test_sampling_wakes_import_nothing_from_the_filesystem(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    k = 4
    dev = make_device(broker.host, broker.port, sim={"sensors": [0x44, 0x45], "urgent": [12]},
                      UPLOAD_EVERY=k, SHT4X_SURFACE_ADDR=0x45)
    for _ in range(13):
        wake = dev.wake()
        assert not wake.killed and wake.sleep_ms > 0, wake.output
    # wake 0 powers on; 4 uploads on schedule; 6 reads RH >= 85 % (measurement 12:
    # two sensors a wake) and uploads at once, so the next is due at 10
    full = [w.index for w in dev.wakes if UPLOAD_PATH & set(w.modules)]
    assert full == [0, 4, 6, 10], full
    for w in dev.wakes:
        if w.index not in full:
            assert "wake" in w.modules and "sht4x" in w.modules, w.modules
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) == 4)
    _, readings = delivered(collector, dev.now)
    assert as_centi(readings) == dev.expected_readings(surface_addr=0x45)[:11]
    assert [r.ts for r in readings] == [int(w.start_ts) for w in dev.wakes[:11]]


def test_sampling_wakes_hand_over_when_rtc_memory_is_full(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    dev = make_device(broker.host, broker.port, UPLOAD_EVERY=10, RTC_READINGS=3)
    for _ in range(11):
        dev.wake()
    full = [w.index for w in dev.wakes if UPLOAD_PATH & set(w.modules)]
    assert full == [0, 4, 7, 10], "the full path spills to flash when RTC memory is full"
    assert collector.wait_for(lambda: len(delivered(collector, dev.now)[1]) == 11)
    assert as_centi(delivered(collector, dev.now)[1]) == dev.expected_readings()
    status = [json.loads(p) for p in collector.of_kind("status")]
    assert status[-1]["boot"] == 1
