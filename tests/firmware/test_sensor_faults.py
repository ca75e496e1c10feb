"""A corrupted or silent sensor: the reading is retried or skipped, never stored wrong;
and readings taken before the clock was set are re-stamped once NTP answers."""

from __future__ import annotations

import json
from collections.abc import Callable

from fwharness import (
    Collector,
    SimDevice,
    as_centi,
    delivered,
    rh_centi,
    ring_readings,
    rtc_state,
    temp_centi,
)

from dampwatch.stack.mosquitto import Mosquitto
from dampwatch_core.contract import parse_status


def corrupted_value(entry: dict[str, int]) -> tuple[int, int]:
    """The reading the corrupted answer decodes to (the shim flips bit n % 8 of data
    byte (n % 2) * 3 + (n >> 1) % 2), i.e. what would be stored without the CRC."""
    n = entry["n"]
    raw = bytearray([entry["raw_t"] >> 8, entry["raw_t"] & 0xFF, 0,
                     entry["raw_rh"] >> 8, entry["raw_rh"] & 0xFF, 0])
    raw[(n % 2) * 3 + (n >> 1) % 2] ^= 1 << (n % 8)
    return temp_centi(raw[0] << 8 | raw[1]), rh_centi(raw[3] << 8 | raw[4])


def test_crc_corruption_is_retried_or_skipped_never_stored(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    # measurement numbers: 1 corrupt (retried as 2); 4 and 5 corrupt (that wake's
    # reading skipped); 7 NACKed (retried as 8); 12 corrupt; 15 and 16 corrupt (skipped).
    corrupt, nack = [1, 4, 5, 12, 15, 16], [7]
    dev = make_device(broker.host, broker.port, sim={"corrupt": corrupt, "nack": nack},
                      UPLOAD_EVERY=3)
    for _ in range(13):
        wake = dev.wake()
        assert "Traceback" not in wake.output, wake.output
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) >= 5)
    _, readings = delivered(collector, dev.now)
    log = [e for e in dev.sensor_log() if "n" in e]
    stored = as_centi(readings)
    assert stored == dev.expected_readings()[: len(stored)]
    assert len(stored) == 11, "13 wakes, 2 readings skipped"
    # what a driver without CRC checks would have stored never appears
    garbled = {corrupted_value(e) for e in log if e.get("corrupt")}
    assert len(garbled) == len(corrupt)
    assert not {(t, rh) for t, rh, _ in stored} & garbled
    skipped = [w for w in dev.wakes if "failed twice" in w.output]
    assert len(skipped) == 2, "measurements 4+5 and 15+16 each lost one reading"
    assert rtc_state(dev)["sensor_failures"] == 2
    statuses = [parse_status(p) for p in collector.of_kind("status")]
    last = json.loads(collector.of_kind("status")[-1])
    assert statuses[-1].state == "online" and last["sensor_failures"] == 2
    resets = [e for e in dev.sensor_log() if e.get("reset")]
    # a soft reset (0x94) before every retry, none after a second failure: 7 - 2
    assert len(resets) == len(corrupt) + len(nack) - len(skipped)


def test_readings_before_first_ntp_sync_are_restamped(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    dev = make_device(broker.host, broker.port, sim={"ntp": False}, UPLOAD_EVERY=2,
                      BACKOFF_BASE_S=300, BACKOFF_MAX_S=300)
    dev.clock_offset = 946684800 - int(dev.now)  # the ESP32 RTC starts at 2000-01-01
    dev.configure()
    for _ in range(3):
        dev.wake()
    assert "NTP failed" in dev.wakes[0].output
    assert not collector.of_kind("telemetry"), "nothing sent with an unset clock"
    dev.sim["ntp"] = True
    dev.configure()
    # backoff jitter decides which wake retries first: wake until all are delivered
    for _ in range(8):
        dev.wake()
        if collector.wait_for(
            lambda: len(delivered(collector, dev.now)[1]) == len(dev.wakes), timeout_s=0.3
        ):
            break
    assert "clock set" in "".join(w.output for w in dev.wakes)
    _, readings = delivered(collector, dev.now)
    assert len(readings) == len(dev.wakes) >= 4
    for reading, wake in zip(readings, dev.wakes, strict=True):
        assert abs(reading.ts - wake.start_ts) <= 2, (reading.ts, wake.start_ts)


def test_restamping_leaves_an_earlier_power_on_alone(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    # power-on with the clock at 2000-01-01 and no NTP: two readings spill to flash
    dev = make_device(broker.host, broker.port, sim={"ntp": False}, UPLOAD_EVERY=1,
                      BACKOFF_BASE_S=60, BACKOFF_MAX_S=60)
    dev.power_cycle()
    for _ in range(2):
        dev.wake()
    first_stamps = [r[0] for r in ring_readings(dev)]
    assert len(first_stamps) == 2 and all(ts < 1577836800 for ts in first_stamps)
    # battery out for an hour; back with NTP: that clock starts at 2000-01-01 again
    dev.now += 3600
    dev.power_cycle()
    dev.sim["ntp"] = True
    dev.configure()
    for _ in range(4):
        dev.wake()
        if "clock set" in dev.wakes[-1].output:
            break
    assert collector.wait_for(
        lambda: sum(len(json.loads(p)["readings"]) for p in collector.of_kind("telemetry"))
        == len(dev.wakes))
    stamps = [r["ts"] for p in collector.of_kind("telemetry")
              for r in json.loads(p)["readings"]]
    # the earlier power-on's readings keep their (unknowable) times: shifting them by
    # this power-on's offset would invent plausible, wrong times
    assert stamps[:2] == first_stamps
    for ts, wake in zip(stamps[2:], dev.wakes[2:], strict=True):
        assert abs(ts - wake.start_ts) <= 2, (ts, wake.start_ts)
