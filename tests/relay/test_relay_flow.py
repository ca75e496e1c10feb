"""Sensor nodes upload through a block relay over the ESP-NOW shim to a real
Mosquitto: every reading arrives exactly as sampled, contract-valid, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fwharness import SimDevice, as_centi, delivered
from relayharness import RelayProcess, espnow_node, wait_for, wake_all

from conftest import new_key

MACS = ["a4cf12fe0b01", "a4cf12fe0b02", "a4cf12fe0b03"]


def per_device(collector: Any, dev: SimDevice) -> tuple[list[int], list[Any]]:
    class One:
        def of_kind(self, kind: str) -> list[bytes]:
            return [p for t, p, _ in list(collector.messages)
                    if t == f"dampwatch/v1/dev/{dev.device_id}/{kind}"]
    return delivered(One(), dev.now)  # type: ignore[arg-type]


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
    wake_all(devices, relay, 24)
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
