"""Broker outages, a broker that never answers, and malformed broker packets: no
reading is lost, every wake ends under the cap, delivery resumes in order."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from fwharness import (
    TEST_WAKE_CAP_MS,
    Collector,
    FakeBroker,
    SimDevice,
    as_centi,
    delivered,
    ring_readings,
    rtc_state,
    start_again,
)

from dampwatch.stack.mosquitto import Mosquitto

#: Host-side allowance for starting the MicroPython process (not part of the wake).
PROCESS_OVERHEAD_MS = 500


def assert_under_cap(dev: SimDevice) -> None:
    for wake in dev.wakes:
        assert not wake.killed, wake.output
        assert wake.fw_awake_ms < TEST_WAKE_CAP_MS, (wake.index, wake.fw_awake_ms)
        assert wake.awake_ms < TEST_WAKE_CAP_MS + PROCESS_OVERHEAD_MS, wake.awake_ms


def test_broker_down_for_several_upload_cycles_loses_nothing(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    dev = make_device(broker.host, broker.port, UPLOAD_EVERY=3, RTC_READINGS=4,
                      BACKOFF_BASE_S=300, BACKOFF_MAX_S=1200)
    dev.wake()
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) == 1)
    broker.stop()
    for _ in range(15):  # five upload cycles with the broker gone
        dev.wake()
    outputs = "".join(w.output for w in dev.wakes)
    assert "upload failed" in outputs and "backing off" in outputs
    assert len(ring_readings(dev)) > 0, "readings spilled to the flash ring"
    assert rtc_state(dev)["fail_streak"] >= 2
    start_again(broker)
    assert collector.connected.wait(10)
    for _ in range(8):
        dev.wake()
        if rtc_state(dev)["samples_since_upload"] == 0:
            break
    expected = dev.expected_readings()
    assert collector.wait_for(
        lambda: len(delivered(collector, dev.now)[1]) == len(expected), timeout_s=5)
    seqs, readings = delivered(collector, dev.now)
    assert as_centi(readings) == expected, "every reading, once, oldest first"
    assert [r.ts for r in readings] == sorted(r.ts for r in readings)
    assert all(b > a for a, b in itertools.pairwise(seqs)), seqs
    assert ring_readings(dev) == [] and rtc_state(dev)["count"] == 0
    assert_under_cap(dev)


def test_broker_that_accepts_and_never_answers(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    hung = FakeBroker()
    try:
        dev = make_device(broker.host, hung.port, UPLOAD_EVERY=1, BACKOFF_BASE_S=1,
                          BACKOFF_MAX_S=1)
        for _ in range(3):
            dev.wake()
        assert hung.connections == 3
        assert all("upload failed" in w.output for w in dev.wakes)
        assert_under_cap(dev)
    finally:
        hung.close()
    dev.configure(MQTT_PORT=broker.port)
    dev.wake()
    assert collector.wait_for(lambda: len(delivered(collector, dev.now)[1]) == 4)
    assert as_centi(delivered(collector, dev.now)[1]) == dev.expected_readings()


MALFORMED = {
    "connack_refused": b"\x20\x02\x00\x05",
    "connack_wrong_length": b"\x20\x03\x00\x00\x00",
    "remaining_length_5_bytes": b"\x20\xff\xff\xff\xff\x7f",
    "packet_too_large": b"\x20\xff\xff\xff\x7f",
    "not_mqtt": b"HTTP/1.1 400 Bad Request\r\n\r\n",
    "suback_failure": b"\x20\x02\x00\x00\x90\x03\x00\x01\x80",
    "unexpected_type": b"\x20\x02\x00\x00\xf0\x00",
    "publish_topic_overruns": b"\x20\x02\x00\x00\x32\x04\x00\x50ab",
    "publish_qos2": b"\x20\x02\x00\x00\x34\x05\x00\x01a\x00\x01",
    "silent_after_connack": b"\x20\x02\x00\x00",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_broker_packets_are_handled(
    case: str, tmp_path: object, make_device: Callable[..., SimDevice]
) -> None:
    fake = FakeBroker(MALFORMED[case])
    try:
        dev = make_device("127.0.0.1", fake.port, UPLOAD_EVERY=1)
        dev.wake()
        dev.wake()  # backing off: samples, keeps the readings
    finally:
        fake.close()
    wake = dev.wakes[0]
    assert "upload failed" in wake.output, wake.output
    assert "Traceback" not in wake.output and "wake error" not in wake.output
    assert_under_cap(dev)
    kept = ring_readings(dev) + rtc_state(dev)["readings"]
    assert [(t, rh) for _, t, rh, _ in kept] == [e[:2] for e in dev.expected_readings()]


def test_slow_drip_broker_cannot_stretch_the_wake(make_device: Callable[..., SimDevice]) -> None:
    fake = FakeBroker(b"\x20\x02\x00\x00" * 20, drip_s=0.4)
    try:
        dev = make_device("127.0.0.1", fake.port, UPLOAD_EVERY=1)
        dev.wake()
    finally:
        fake.close()
    assert_under_cap(dev)
    assert rtc_state(dev)["count"] + len(ring_readings(dev)) == 1


def test_wakes_while_backing_off_only_sample(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    dev = make_device(broker.host, broker.port, UPLOAD_EVERY=2, RTC_READINGS=8,
                      BACKOFF_BASE_S=1700, BACKOFF_MAX_S=1700, BACKOFF_JITTER=0)
    dev.wake()
    broker.stop()
    for _ in range(8):
        dev.wake()
    # wake 2 fails and backs off 1700 s; wakes 3-7 only sample (no filesystem, no
    # radio), wake 8 is the first try after the backoff
    full = [w.index for w in dev.wakes if "node" in w.modules]
    assert full == [0, 2, 8], full
    assert rtc_state(dev)["count"] + len(ring_readings(dev)) == 8
