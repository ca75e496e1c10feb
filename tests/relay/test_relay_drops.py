"""What a relay must not publish: forged, replayed and other relays' frames are
dropped and counted in its status; and the broker's ACL stops a relay publishing for a
device that is not registered to it, whatever the relay's own table says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fwharness import SimDevice
from relayharness import (
    RELAY_ID,
    RelayProcess,
    espnow_node,
    inject,
    new_key,
    per_device,
    relay_status,
    set_acl,
    wait_for,
    wake_all,
)

from dampwatch_core.relay_frame import DataFrame, FrameReading, encode_data

NODE = "a4cf12fe0b01"
DEVICE = f"esp32-{NODE}"


def frame_for(device: str, key: bytes, boot: int, seq: int, ts: int) -> bytes:
    return encode_data(DataFrame(device, boot, seq, ts, (FrameReading(ts, 2222, 3333),)), key)


def test_forged_replayed_and_foreign_frames_are_dropped_and_counted(
        make_device: Callable[..., SimDevice], make_relay: Callable[..., RelayProcess],
        air: Any, collector: Any, backend: Any) -> None:
    key = new_key()
    relay = make_relay({DEVICE: key})
    relay.start()
    dev = espnow_node(make_device, NODE, air, key, UPLOAD_EVERY=1)
    wake_all([dev], relay, 3)  # three frames published: (1, 0), (1, 1), (1, 2)
    assert wait_for(lambda: len(per_device(collector, dev)[0]) == 3), relay.log()
    ts = int(dev.now)
    inject(air, NODE, frame_for(DEVICE, bytes(32), 1, 50, ts))              # wrong key
    inject(air, NODE, frame_for(DEVICE, bytes.fromhex(key), 1, 0, ts))      # replayed
    inject(air, "a4cf12fe0bff", frame_for("esp32-a4cf12fe0bff", bytes.fromhex(new_key()),
                                          1, 0, ts))                      # not ours
    inject(air, NODE, b"\x01\x01\x40garbage-but-long-enough-to-look-like-a-frame")  # malformed

    def counted() -> bool:
        st = relay_status(backend)
        return st is not None and st["dropped"]["bad_tag"] == 1 and st["dropped"][
            "replay"] == 1 and st["dropped"]["unknown_device"] == 1 and st["dropped"][
            "malformed"] == 1
    assert wait_for(counted), (relay_status(backend), relay.log())
    st = relay_status(backend)
    assert st is not None
    assert st["devices_heard"] == 1 and st["published"] == 3 and st["queue"] == 0
    # nothing of them reached the broker: only the node's three messages, its readings
    seqs, readings = per_device(collector, dev)
    assert seqs == [0, 1, 2]
    assert all(round(r.temp_c * 100) != 2222 for r in readings)
    assert [t for t, _, _ in collector.messages if "0bff" in t] == []
    # restarted, the relay still knows what it published: an old frame is still a replay
    relay.kill()
    relay.start()

    def restarted() -> bool:
        st = relay_status(backend)
        return st is not None and st.get("published") == 0  # (not the last will)
    assert wait_for(restarted), relay.log()
    inject(air, NODE, frame_for(DEVICE, bytes.fromhex(key), 1, 1, ts))

    def replay_after_restart() -> bool:
        st = relay_status(backend)
        return (st is not None and st.get("published") == 0
                and st["dropped"]["replay"] == 1)
    assert wait_for(replay_after_restart), (relay_status(backend), relay.log())
    assert per_device(collector, dev)[0] == [0, 1, 2]


def test_broker_refuses_a_relay_publishing_for_a_device_not_registered_to_it(
        make_device: Callable[..., SimDevice], make_relay: Callable[..., RelayProcess],
        air: Any, collector: Any, broker: Any, backend: Any) -> None:
    """The relay's table holds a second device, but the registry (the broker's ACL)
    assigns only the first to it: the second's telemetry never reaches a subscriber."""
    mine, stray = "a4cf12fe0b01", "a4cf12fe0b02"
    keys = {f"esp32-{mine}": new_key(), f"esp32-{stray}": new_key()}
    relay = make_relay(keys, acl=False)
    set_acl(broker, {RELAY_ID: [f"esp32-{mine}"]})
    relay.start()
    devices = [espnow_node(make_device, m, air, keys[f"esp32-{m}"], UPLOAD_EVERY=1)
               for m in (mine, stray)]
    wake_all(devices, relay, 2)
    assert wait_for(lambda: len(per_device(collector, devices[0])[0]) == 2), relay.log()
    # the relay did publish the stray's frames (MQTT 3.1.1 PUBACKs a denied publish)...
    assert wait_for(lambda: (relay_status(backend) or {}).get("published") == 4), (
        relay_status(backend))
    # ...but the broker delivered none of them
    assert per_device(collector, devices[1])[0] == []
