# The ESP-NOW uplink: data frames to the block relay, each acknowledged by the relay
# only after the broker's PUBACK for the telemetry it published; readings leave the
# buffer only then. No access point, DHCP, TLS or MQTT session: the station interface
# is switched on (not connected) on the relay's fixed channel, and every exchange is
# a frame out and a frame back. The relay's clock comes back in every acknowledgement
# (authenticated like the frame), so the node needs no NTP.
import time

import espnow
import network
from binascii import unhexlify

import frame
import reading
from rtcstate import FLAG_SURFACE


class NoAck(Exception):
    pass


def _wait_ack(radio, relay, key, device_id, boot, seq, timeout_ms):
    """The relay's acknowledgement of (boot, seq), or None when `timeout_ms` passes.
    Anything else that arrives (a forged or stale ack, another node's) is ignored."""
    end = time.ticks_add(time.ticks_ms(), timeout_ms)
    while True:
        left = time.ticks_diff(end, time.ticks_ms())
        if left <= 0:
            return None
        host, msg = radio.recv(left)
        if msg is None:
            return None
        if host != relay:
            continue
        try:
            got = frame.decode_ack(key, msg)
        except frame.FrameError:
            continue
        if got[0] == device_id and got[1] == boot and got[2] == seq:
            return got


def exchange(radio, relay, key, raw, device_id, boot, seq, s, deadline):
    """Send one frame until the relay acknowledges it: at most ESPNOW_ATTEMPTS sends,
    the same frame each time (the relay republishes nothing it has published: it only
    acknowledges again). The relay's clock (Unix s) or raises NoAck."""
    for _ in range(s.ESPNOW_ATTEMPTS):
        if deadline.remaining_ms() <= 0:
            break
        if not radio.send(relay, raw, True):
            time.sleep_ms(s.ESPNOW_RETRY_MS)  # the relay's radio did not take it
            continue
        got = _wait_ack(radio, relay, key, device_id, boot, seq,
                        min(s.ESPNOW_ACK_MS, max(0, deadline.remaining_ms())))
        if got is not None:
            return got[3]
    raise NoAck("no acknowledgement from the relay")


def upload(node, deadline, s):
    """Send what the node's buffer holds, oldest first. Raises NoAck or OSError."""
    st = node.state
    key = unhexlify(s.ESPNOW_KEY)
    relay = unhexlify(s.RELAY_MAC)
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    sta.config(channel=s.ESPNOW_CHANNEL)  # the relay's fixed channel
    radio = espnow.ESPNow()
    radio.active(True)
    try:
        radio.add_peer(relay)
        surface = bool(st.flags & FLAG_SURFACE)
        send = lambda records: _send(node, radio, relay, key, records, surface, s, deadline)
        if node.unix_now() < reading.VALID_MIN_TS:
            send(b"")  # clock never set: ask the relay's time before sending readings
        while node.buffer.pending and deadline.remaining_ms() > s.ESPNOW_RESERVE_MS:
            source, records = node.buffer.batch(frame.capacity(node.device_id, surface))
            n = frame.take(records, node.device_id, surface)
            send(records[:n * reading.SIZE])
            node.buffer.commit(source, n)
    finally:
        radio.active(False)
        sta.active(False)


def _send(node, radio, relay, key, records, surface, s, deadline):
    st = node.state
    seq = st.seq
    st.seq += 1
    node.save_rtc()  # (boot, seq) never repeats, even after a watchdog reset
    raw = frame.encode_data(key, node.device_id, st.boot, seq, max(0, node.unix_now()),
                            node.batt, node.buffer.drops, records, surface)
    set_clock_from(node, exchange(radio, relay, key, raw, node.device_id, st.boot, seq, s,
                                  deadline), s)


def set_clock_from(node, t, s):
    """Set the clock from the relay's authenticated time (Unix s; 0: not set), under the
    same window as an NTP answer."""
    from node import EPOCH_OFFSET, UploadFailed, ntp_sane, set_clock, unix_now

    st = node.state
    before = unix_now()
    valid = before >= reading.VALID_MIN_TS
    if not t or not ntp_sane(t, before, st.last_ntp_ts if valid else 0):
        if not valid:
            raise UploadFailed("clock not set and the relay's time refused")
        return
    if abs(t - before) > s.RELAY_CLOCK_STEP_S or not valid:
        set_clock(t - EPOCH_OFFSET)
        after = unix_now()
        if not valid:
            node.buffer.rebase(after - before, st.ring_from)
    st.last_ntp_ts = unix_now()
