"""Resets that end a wake without a sleep: the watchdog killing a hung wake, a brownout
on Wi-Fi TX, a battery too low to transmit, and a power-on losing RTC memory. Each
must back off instead of looping, and keep the wake's reading."""

from __future__ import annotations

import json
from collections.abc import Callable

from fwharness import Collector, SimDevice, as_centi, delivered, ring_readings, rtc_state

from dampwatch.stack.mosquitto import Mosquitto


def events(dev: SimDevice) -> list[dict]:
    path = dev.simdir / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wake_until_delivered(dev: SimDevice, collector: Collector, wakes: int = 8) -> None:
    for _ in range(wakes):
        dev.wake()
        if collector.wait_for(
            lambda: len(delivered(collector, dev.now)[1]) == len(dev.expected_readings()),
            timeout_s=0.5,
        ):
            return


def test_hung_wake_is_reset_by_the_watchdog_and_backs_off(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    # the NTP host lookup hangs (it has no timeout on the ESP32): only the watchdog
    # (cap 3 s + margin 1 s) ends the wake
    dev = make_device(broker.host, broker.port, sim={"ntp_hang": True}, UPLOAD_EVERY=1,
                      WDT_MARGIN_MS=1000, BACKOFF_BASE_S=600, BACKOFF_MAX_S=600)
    first = dev.wake()
    assert first.killed and first.reset_cause == "wdt", (first.reset_cause, first.output)
    assert first.awake_ms < 4000 + 1500, first.awake_ms
    state = rtc_state(dev)
    assert state["fail_streak"] == 1 and state["next_try_ts"] > dev.now + 400
    kept = state["count"] + len(ring_readings(dev))
    assert kept == 1, "the killed wake's reading was saved before Wi-Fi"
    second = dev.wake()  # right after the reset: must not retry at once
    assert not second.killed, second.output
    assert "backing off" in second.output
    assert sum(1 for e in events(dev) if "wifi_connect" in e) == 1
    dev.sim["ntp_hang"] = False
    dev.configure()
    wake_until_delivered(dev, collector)
    _, readings = delivered(collector, dev.now)
    assert as_centi(readings) == dev.expected_readings(), "no reading lost to the reset"
    assert len(readings) == len(dev.wakes)
    status = json.loads(collector.of_kind("status")[-1])
    assert status["wdt_resets"] == 1


def test_brownout_on_transmit_backs_off_and_keeps_the_reading(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    # 2.5 V at rest passes a (too low) upload threshold; the TX surge pulls it under
    # the brownout level: the chip resets as at power-on, RTC memory and clock lost
    dev = make_device(broker.host, broker.port,
                      sim={"batt_mv": 2500, "tx_sag_mv": 300, "brownout_mv": 2300},
                      UPLOAD_EVERY=1, BATT_MIN_UPLOAD_MV=2000, BATT_RESUME_MV=2000,
                      BACKOFF_BASE_S=600, BACKOFF_MAX_S=600)
    first = dev.wake()
    assert first.killed and first.reset_cause == "brownout", first.output
    assert dev.reset == "poweron"
    assert len(ring_readings(dev)) == 1, "the cold boot's reading was in flash before TX"
    for _ in range(2):
        wake = dev.wake()
        assert not wake.killed, "a second brownout: the power-on loop was not broken"
        assert "backing off" in wake.output
    node = json.loads((dev.flash / "node.json").read_text())
    assert node["boot"] == 2 and node["unfinished"] == 2
    dev.sim.update(batt_mv=2900)
    dev.configure()
    wake_until_delivered(dev, collector)
    _, readings = delivered(collector, dev.now)
    assert as_centi(readings) == dev.expected_readings()
    # the clock restarted at 2000 after the brownout; NTP re-stamped this power-on's
    # readings and left the earlier one (already right) alone
    for reading, wake in zip(readings, dev.wakes, strict=True):
        assert abs(reading.ts - wake.start_ts) <= 2, (reading.ts, wake.start_ts)
    assert json.loads((dev.flash / "node.json").read_text())["unfinished"] == 0
    statuses = [json.loads(p) for p in collector.of_kind("status")]
    assert statuses[0]["unfinished_boots"] == 1, "the brownout is reported"
    assert statuses[0]["boot"] == 2, "a second cold boot, counted"


def test_low_battery_means_no_upload_until_it_recovers(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    dev = make_device(broker.host, broker.port, sim={"batt_mv": 2150}, UPLOAD_EVERY=1)
    for mv in (2150, 2150, 2350):  # 2350: above the 2200 cut, below the 2400 resume
        dev.sim["batt_mv"] = mv
        dev.configure()
        wake = dev.wake()
        assert "battery low" in wake.output, wake.output
    assert not [e for e in events(dev) if "wifi_connect" in e], "no TX on a low battery"
    dev.sim["batt_mv"] = 2450
    dev.configure()
    dev.wake()
    assert collector.wait_for(lambda: len(delivered(collector, dev.now)[1]) == 4)
    assert as_centi(delivered(collector, dev.now)[1]) == dev.expected_readings()
    assert json.loads(collector.of_kind("telemetry")[-1])["batt_mv"] == 2450


def test_power_on_loses_rtc_memory(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    dev = make_device(broker.host, broker.port, UPLOAD_EVERY=1)
    for _ in range(3):
        dev.wake()
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) == 3)
    assert rtc_state(dev)["seq"] == 3
    dev.power_cycle()
    dev.wake()
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) == 4)
    last = json.loads(collector.of_kind("telemetry")[-1])
    assert last["seq"] == 0, "seq restarts after a power loss, as the contract says"
    assert json.loads((dev.flash / "node.json").read_text())["boot"] == 2


def test_a_hang_after_the_sampling_wake_is_reset_on_the_configured_timeout(
    broker: Mosquitto, collector: Collector, make_device: Callable[..., SimDevice]
) -> None:
    # boot.py's sampling wake arms the watchdog before main.py runs; it must use the
    # device's own cap (3 s + 1 s here), not the defaults' 20 s
    dev = make_device(broker.host, broker.port, UPLOAD_EVERY=3, WDT_MARGIN_MS=1000,
                      NTP_EVERY_S=300)
    for _ in range(3):
        assert not dev.wake().killed
    dev.sim["ntp_hang"] = True
    dev.configure()
    hung = dev.wake()  # due: the sampling wake hands over, NTP hangs
    assert hung.killed and hung.reset_cause == "wdt", (hung.reset_cause, hung.output)
    assert hung.awake_ms < 4000 + 1500, hung.awake_ms
    after = dev.wake()
    assert not after.killed and "backing off" in after.output
