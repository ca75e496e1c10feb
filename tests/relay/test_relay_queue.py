"""The relay's acknowledgement waits for the broker: with the broker down, frames wait
in the relay's bounded queue unacknowledged (the nodes keep their readings), a full
queue refuses more, and a relay killed with a full queue loses nothing. And a relay
serves more nodes than ESP-NOW has peer slots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fwharness import SimDevice, as_centi, start_again
from relayharness import RelayProcess, espnow_node, new_key, per_device, wait_for, wake_all


def test_broker_down_queue_full_and_relay_killed_lose_nothing(
        make_device: Callable[..., SimDevice], make_relay: Callable[..., RelayProcess],
        air: Any, collector: Any, broker: Any) -> None:
    macs = ["a4cf12fe0b01", "a4cf12fe0b02", "a4cf12fe0b03"]
    keys = {f"esp32-{m}": new_key() for m in macs}
    relay = make_relay(keys, QUEUE_MAX=2, RECONNECT_MAX_MS=300)
    relay.start()
    devices = [espnow_node(make_device, m, air, keys[f"esp32-{m}"], UPLOAD_EVERY=2,
                           BACKOFF_BASE_S=300) for m in macs]
    wake_all(devices, relay, 2)
    broker.stop()                       # the relay cannot get a PUBACK
    wake_all(devices, relay, 4)
    assert wait_for(lambda: "dropped: queue_full" in relay.log()), relay.log()
    relay.kill()                        # with frames in its queue, never acknowledged
    start_again(broker)
    relay.start()
    wake_all(devices, relay, 10)
    for dev in devices:
        expected = dev.expected_readings()
        n = len(expected) - 1
        assert wait_for(lambda d=dev, n=n: len({r.ts for r in per_device(collector, d)[1]}) >= n
                        ), relay.log()
        seqs, readings = per_device(collector, dev)
        unique = {r.ts: r for r in readings}
        got = as_centi([unique[t] for t in sorted(unique)])
        assert got == expected[:len(got)] and len(got) >= n
        assert seqs == sorted(set(seqs))


def test_more_nodes_than_espnow_peer_slots(
        make_device: Callable[..., SimDevice], make_relay: Callable[..., RelayProcess],
        air: Any, collector: Any) -> None:
    """21 nodes: the relay has 19 peer slots to reply with (ESP-NOW's 20 less one) and
    registers each node only to answer it."""
    macs = [f"a4cf12fe{i:04x}" for i in range(21)]
    keys = {f"esp32-{m}": new_key() for m in macs}
    relay = make_relay(keys)
    relay.start()
    devices = [espnow_node(make_device, m, air, keys[f"esp32-{m}"], UPLOAD_EVERY=1)
               for m in macs]
    wake_all(devices, relay, 2)
    for dev in devices:
        assert wait_for(lambda d=dev: len(per_device(collector, d)[1]) == 2), relay.log()
        assert as_centi(per_device(collector, dev)[1]) == dev.expected_readings()
    assert relay.alive(), relay.log()
