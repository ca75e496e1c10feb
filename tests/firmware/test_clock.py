"""Clocks: telemetry carries the device's own time at sending, so readings from a
drifted clock can be put right; NTP answers outside a sane window are refused; and a
retained config too large for the device costs no readings."""

from __future__ import annotations

import json
from collections.abc import Callable

import paho.mqtt.publish as publish
from fwharness import BACKEND_PW, DEVICE_ID, Collector, SimDevice, delivered

from dampwatch.stack.mosquitto import Mosquitto
from dampwatch_core.contract import config_topic


def corrected(payload: bytes, received: float) -> list[int]:
    """Reading times as a receiver applying the contract's `sent` rule stores them."""
    msg = json.loads(payload)
    shift = int(received) - msg["sent"]
    shift = shift if abs(shift) > 60 else 0
    return [r["ts"] + shift for r in msg["readings"]]


def test_a_clock_30_minutes_fast_is_stored_at_the_right_time(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    dev = make_device(broker.host, broker.port, sim={"ntp": False}, UPLOAD_EVERY=3)
    dev.clock_offset = 1800  # set once, then drifted: NTP is not due for a day
    dev.configure()
    sends = []
    for _ in range(7):
        wake = dev.wake()
        sends.append(dev.now - wake.sleep_ms / 1000)  # true time at the wake's end
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) == 3)
    upload_wakes = [0, 3, 6]
    stored: list[int] = []
    for payload, i in zip(collector.of_kind("telemetry"), upload_wakes, strict=True):
        msg = json.loads(payload)
        assert abs(msg["sent"] - (sends[i] + 1800)) <= 2, "sent is the device's own clock"
        stored += corrected(payload, sends[i])
    raw = [r["ts"] for p in collector.of_kind("telemetry") for r in json.loads(p)["readings"]]
    assert raw == [int(w.start_ts) + 1800 for w in dev.wakes], "stamped by the device clock"
    # uncorrected, the contract's 10-minute future rule would quarantine them all
    assert all(ts > wake.start_ts + 600 for ts, wake in zip(raw, dev.wakes, strict=True))
    for ts, wake in zip(stored, dev.wakes, strict=True):
        assert abs(ts - wake.start_ts) <= 2, (ts, wake.start_ts)


def test_ntp_answers_outside_a_sane_window_are_refused(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    # a never-set clock (2000-01-01) and a server answering 2001: refused, nothing sent
    dev = make_device(broker.host, broker.port, UPLOAD_EVERY=1, NTP_EVERY_S=300,
                      BACKOFF_BASE_S=60, BACKOFF_MAX_S=60,
                      sim={"ntp_error_s": 978307200 - 1764201600})
    dev.clock_offset = 946684800 - int(dev.now)
    dev.configure()
    wake = dev.wake()
    assert "NTP answer refused" in wake.output and "clock not set" in wake.output
    assert not collector.of_kind("telemetry")
    # a good answer sets the clock; a later one two hours off is refused
    dev.sim["ntp_error_s"] = 0
    dev.configure()
    for _ in range(3):
        dev.wake()
        if collector.wait_for(lambda: len(delivered(collector, dev.now)[1]) == len(dev.wakes),
                              timeout_s=0.5):
            break
    assert len(delivered(collector, dev.now)[1]) == len(dev.wakes)
    dev.sim["ntp_error_s"] = 7200
    dev.configure()
    dev.wake()
    assert "NTP answer refused" in dev.wakes[-1].output
    assert collector.wait_for(lambda: len(delivered(collector, dev.now)[1]) == len(dev.wakes))
    _, readings = delivered(collector, dev.now)
    assert abs(readings[-1].ts - dev.wakes[-1].start_ts) <= 2, "clock not moved by 2 h"


def test_an_oversized_retained_config_costs_no_readings(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    body = {"v": 1, "sample_s": 600, "upload_every": 3, "urgent_rh_pct": 80.0,
            "note": "x" * 5000}
    publish.single(config_topic(DEVICE_ID), json.dumps(body), qos=1, retain=True,
                   hostname=broker.service_host, port=broker.service_port,
                   auth={"username": "dampwatch-backend", "password": BACKEND_PW})
    dev = make_device(broker.host, broker.port, UPLOAD_EVERY=1)
    for _ in range(2):
        wake = dev.wake()
        assert "upload failed" not in wake.output, wake.output
        assert "config over" in wake.output
    assert collector.wait_for(lambda: len(delivered(collector, dev.now)[1]) == 2)
    assert collector.wait_for(lambda: len(collector.of_kind("status")) >= 2)
    assert dev.wakes[-1].sleep_ms < 400_000, "the oversized config was not applied"
