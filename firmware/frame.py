# The ESP-NOW relay frame, version 1 (docs/relay-frame.md): the node's data frame and
# the relay's acknowledgement, each ending in HMAC-SHA256 truncated to 16 bytes over
# every byte before it, keyed with the device's own 32-byte key. Used by the node
# (uplink_espnow.py) and the relay (relay/relay.py). The core package has its own
# decoder (dampwatch_core.relay_frame); the tests hold both to the same test vector.
import hashlib
import struct

import reading

VERSION = 1
KIND_DATA = 1
KIND_ACK = 2
MAX_BYTES = 250  # ESP-NOW's payload limit
TAG = 16
KEY_BYTES = 32
HEAD = "<IIIIHIBB"  # boot, seq, sent, base_ts, batt_mv, drops, flags, n
HEAD_SIZE = 24
ACK = "<III"        # boot, seq, relay_time
ACK_SIZE = 12
REC = "<HhH"        # dt since the previous reading, temp, rh (hundredths)
FLAG_SURFACE = 1
NO_BATTERY = 0xFFFF
_BLOCK = 64  # SHA-256 block size


class FrameError(Exception):
    # args[0] is the reason: "malformed", "bad_tag" or "too_long"
    pass


def hmac_sha256(key, msg):
    """HMAC (RFC 2104) with SHA-256; MicroPython has hashlib but no hmac module."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + bytes(_BLOCK - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(msg)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def tag(key, body):
    return hmac_sha256(key, body)[:TAG]


def _same(a, b):
    # constant time in the length: no early exit on the first differing byte
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def _prefix(kind, device_id):
    raw = device_id.encode()
    return bytes((VERSION, kind, len(raw))) + raw


def capacity(device_id, surface):
    """Readings that fit in one data frame."""
    fixed = 3 + len(device_id) + HEAD_SIZE + TAG
    return min(255, (MAX_BYTES - fixed) // (8 if surface else 6))


def take(records, device_id, surface):
    """How many of the packed reading `records` (oldest first) go in one frame: as many
    as fit, stopping before a reading earlier than, or more than 65,535 s after, the one
    before it (it then starts the next frame)."""
    n = len(records) // reading.SIZE
    limit = min(n, capacity(device_id, surface))
    prev = None
    for i in range(limit):
        ts = struct.unpack_from("<I", records, i * reading.SIZE)[0]
        if prev is not None and not 0 <= ts - prev <= 0xFFFF:
            return i
        prev = ts
    return limit


def encode_data(key, device_id, boot, seq, sent, batt_mv, drops, records, surface):
    """A data frame for the packed reading `records` (all of them must fit: take())."""
    n = len(records) // reading.SIZE
    base = struct.unpack_from("<I", records, 0)[0] if n else 0
    out = bytearray(_prefix(KIND_DATA, device_id))
    out += struct.pack(HEAD, boot, seq, sent, base,
                       NO_BATTERY if batt_mv is None else batt_mv, drops,
                       FLAG_SURFACE if surface else 0, n)
    prev = base
    for i in range(n):
        ts, t, rh, s = reading.unpack(records, i * reading.SIZE)
        out += struct.pack(REC, ts - prev, t, rh)
        if surface:
            out += struct.pack("<h", reading.NO_SURFACE if s is None else s)
        prev = ts
    if len(out) + TAG > MAX_BYTES:
        raise FrameError("too_long")
    return bytes(out) + tag(key, out)


def peek(raw):
    """(kind, device_id) before the tag is checked. Raises FrameError."""
    if len(raw) > MAX_BYTES:
        raise FrameError("too_long")
    if len(raw) < 3 + TAG or raw[0] != VERSION or raw[1] not in (KIND_DATA, KIND_ACK):
        raise FrameError("malformed")
    end = 3 + raw[2]
    if len(raw) < end + TAG or raw[2] < 3:
        raise FrameError("malformed")
    try:
        device_id = bytes(raw[3:end]).decode()
    except UnicodeError:
        raise FrameError("malformed")
    for c in device_id:
        if not ("a" <= c <= "z" or "0" <= c <= "9" or c == "-"):
            raise FrameError("malformed")
    if device_id[0] == "-":
        raise FrameError("malformed")
    return raw[1], device_id


def _verify(key, raw, kind):
    got, device_id = peek(raw)
    if got != kind:
        raise FrameError("malformed")
    body = raw[:-TAG]
    if not _same(raw[-TAG:], tag(key, body)):
        raise FrameError("bad_tag")
    return device_id, 3 + len(device_id)


def decode_data(key, raw):
    """(device_id, boot, seq, sent, batt_mv or None, drops, readings) with readings a
    list of (ts, temp_centi, rh_centi, surface_centi or None). Raises FrameError."""
    device_id, off = _verify(key, raw, KIND_DATA)
    if len(raw) - TAG - off < HEAD_SIZE:
        raise FrameError("malformed")
    boot, seq, sent, base, batt, drops, flags, n = struct.unpack_from(HEAD, raw, off)
    if flags & ~FLAG_SURFACE:
        raise FrameError("malformed")
    surface = flags & FLAG_SURFACE
    per = 8 if surface else 6
    off += HEAD_SIZE
    if len(raw) - TAG - off != n * per:
        raise FrameError("malformed")
    out = []
    ts = base
    for _ in range(n):
        dt, t, rh = struct.unpack_from(REC, raw, off)
        s = None
        if surface:
            s = struct.unpack_from("<h", raw, off + 6)[0]
            if s == reading.NO_SURFACE:
                s = None
        off += per
        ts += dt
        if ts > 0xFFFFFFFF:
            raise FrameError("malformed")
        out.append((ts, t, rh, s))
    return device_id, boot, seq, sent, None if batt == NO_BATTERY else batt, drops, out


def encode_ack(key, device_id, boot, seq, relay_time):
    body = _prefix(KIND_ACK, device_id) + struct.pack(ACK, boot, seq, relay_time)
    return body + tag(key, body)


def decode_ack(key, raw):
    """(device_id, boot, seq, relay_time). Raises FrameError."""
    device_id, off = _verify(key, raw, KIND_ACK)
    if len(raw) - TAG - off != ACK_SIZE:
        raise FrameError("malformed")
    boot, seq, relay_time = struct.unpack_from(ACK, raw, off)
    return device_id, boot, seq, relay_time
