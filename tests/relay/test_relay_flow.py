"""Sensor nodes upload through a block relay over the ESP-NOW shim to a real
Mosquitto: every reading arrives exactly as sampled, contract-valid, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fwharness import SimDevice, as_centi
from relayharness import RelayProcess, espnow_node, new_key, per_device, wait_for, wake_all

MACS = ["a4cf12fe0b01", "a4cf12fe0b02", "a4cf12fe0b03"]


def test_three_nodes_through_one_relay(make_device: Callable[..., SimDevice],
                                       make_relay: Callable[..., RelayProcess],
                                       air: Any, collector: Any) -> None:
    keys = {f"esp32-{m}": new_key() for m in MACS}
    relay = make_relay(keys)
    relay.start()
    devices = [espnow_node(make_device, m, air, keys[f"esp32-{m}"], UPLOAD_EVERY=4)
               for m in MACS]
    wake_all(devices, relay, 13)  # uploads at wakes 0, 4, 8 and 12
    for dev in devices:
        expected = dev.expected_readings()
        n = len(expected)
        assert wait_for(lambda d=dev, n=n: len(per_device(collector, d)[1]) >= n), relay.log()
        seqs, readings = per_device(collector, dev)
        assert as_centi(readings) == expected
        assert seqs == sorted(set(seqs))
        ts = [r.ts for r in readings]
        assert ts == sorted(set(ts))
    assert relay.alive(), relay.log()


def test_relay_killed_mid_run_and_lossy_air_lose_nothing(
        make_device: Callable[..., SimDevice], make_relay: Callable[..., RelayProcess],
        air: Any, collector: Any) -> None:
    """20 % of datagrams lost each way, and the relay killed for a stretch and started
    again: every reading arrives, once per (device, ts), in order, seq increasing."""
    keys = {f"esp32-{m}": new_key() for m in MACS[:2]}
    relay = make_relay(keys)
    relay.start()
    devices = [espnow_node(make_device, m, air, keys[f"esp32-{m}"], UPLOAD_EVERY=2,
                           sim={"espnow_loss": 0.2}, BACKOFF_BASE_S=300)
               for m in MACS[:2]]
    wake_all(devices, relay, 6)
    relay.kill()                      # down: the nodes buffer and back off
    wake_all(devices, relay, 6)
    relay.start()                     # back: they deliver later, in order
    wake_all(devices, relay, 16)
    for dev in devices:
        expected = dev.expected_readings()
        n = len(expected) - 1  # the last wake's reading may still be waiting
        assert wait_for(lambda d=dev, n=n: len({r.ts for r in per_device(collector, d)[1]}) >= n
                        ), relay.log()
        seqs, readings = per_device(collector, dev)
        assert seqs == sorted(set(seqs))
        unique = {r.ts: r for r in readings}  # a lost ack may publish a frame twice
        got = as_centi([unique[t] for t in sorted(unique)])
        assert got == expected[:len(got)] and len(got) >= n
        assert [r.ts for r in readings] == sorted(r.ts for r in readings)


def test_a_node_whose_clock_was_never_set_takes_the_relays(
        make_device: Callable[..., SimDevice], make_relay: Callable[..., RelayProcess],
        air: Any, collector: Any) -> None:
    """No NTP without Wi-Fi: a node booting with its RTC in 2000 asks the relay for the
    time first, and its readings are stamped with true time."""
    key = new_key()
    relay = make_relay({f"esp32-{MACS[0]}": key})
    relay.start()
    dev = espnow_node(make_device, MACS[0], air, key, UPLOAD_EVERY=2)
    dev.clock_offset = 946684800 - int(dev.now)  # the ESP32's RTC after power-on
    wake_all([dev], relay, 3)
    assert wait_for(lambda: len(per_device(collector, dev)[1]) == 3), relay.log()
    readings = per_device(collector, dev)[1]
    starts = [int(w.start_ts) for w in dev.wakes]
    assert all(abs(r.ts - s) <= 2 for r, s in zip(readings, starts, strict=True)), (
        [r.ts for r in readings], starts)
    assert as_centi(readings) == dev.expected_readings()
