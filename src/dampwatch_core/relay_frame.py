"""The ESP-NOW relay frame, version 1: what a sensor node sends a block relay, and the
relay's acknowledgement (format and a test vector: ``docs/relay-frame.md``).

Pure code: no I/O. The firmware has its own MicroPython codec (``firmware/frame.py``),
written from the same document; the tests hold both to the document's test vector and
to each other.

A frame is little-endian binary, at most :data:`MAX_FRAME_BYTES` (ESP-NOW's limit), and
ends in an HMAC-SHA256 tag over every byte before it, truncated to its first
:data:`TAG_BYTES` bytes (128 bits, as HMAC-SHA-256-128 in RFC 4868), keyed with the
device's own 32-byte key from provisioning. Replay protection is the pair ``(boot,
seq)``: ``boot`` counts the node's cold boots (kept in flash), ``seq`` its uplink
messages since (kept in RTC memory); a relay accepts a pair only above the last one it
accepted for that device (:class:`ReplayGuard`).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from dampwatch_core.contract import (
    MAX_COUNTER,
    Reading,
    is_valid_device_id,
)
from dampwatch_core.errors import ContractError

__all__ = [
    "FRAME_VERSION",
    "KEY_BYTES",
    "KIND_ACK",
    "KIND_DATA",
    "MAX_FRAME_BYTES",
    "TAG_BYTES",
    "AckFrame",
    "DataFrame",
    "FrameError",
    "FrameReading",
    "ReplayGuard",
    "ReplayVerdict",
    "decode_ack",
    "decode_data",
    "encode_ack",
    "encode_data",
    "frame_device_id",
    "max_readings",
]

FRAME_VERSION: Final = 1
KIND_DATA: Final = 1
KIND_ACK: Final = 2
#: ESP-NOW carries at most 250 bytes of payload per frame (ESP-IDF ``ESP_NOW_MAX_DATA_LEN``).
MAX_FRAME_BYTES: Final = 250
TAG_BYTES: Final = 16
KEY_BYTES: Final = 32
#: u8 version, u8 kind, u8 length of the device id (the id follows)
_PREFIX: Final = struct.Struct("<BBB")
#: boot, seq, sent, base_ts (u32 each), batt_mv (u16), drops (u32), flags (u8), n (u8)
_DATA_HEAD: Final = struct.Struct("<IIIIHIBB")
#: boot, seq, relay_time (u32 each)
_ACK_BODY: Final = struct.Struct("<III")
_READING: Final = struct.Struct("<HhH")
_SURFACE: Final = struct.Struct("<h")
FLAG_SURFACE: Final = 0x01
NO_BATTERY: Final = 0xFFFF
NO_SURFACE: Final = -32768
_MAX_DT: Final = 0xFFFF


class FrameError(ContractError):
    """A frame that cannot be taken: ``reason`` is ``malformed`` (wrong length, version,
    kind or field), ``bad_tag`` (the HMAC does not match the key) or ``too_long``."""


@dataclass(frozen=True, slots=True)
class FrameReading:
    """One reading as the frame carries it: Unix seconds, hundredths of °C and %."""

    ts: int
    temp_centi: int
    rh_centi: int
    surface_centi: int | None = None

    def as_reading(self) -> Reading:
        return Reading(
            self.ts,
            self.temp_centi / 100,
            self.rh_centi / 100,
            None if self.surface_centi is None else self.surface_centi / 100,
        )


@dataclass(frozen=True, slots=True)
class DataFrame:
    """Readings from one node, oldest first (none: a request for the time only)."""

    device_id: str
    boot: int
    seq: int
    sent: int
    readings: tuple[FrameReading, ...]
    batt_mv: int | None = None
    drops: int = 0


@dataclass(frozen=True, slots=True)
class AckFrame:
    """The relay's answer: the broker holds the data frame ``(boot, seq)``; ``relay_time``
    is the relay's clock (Unix s, 0 when not set), which the node may set its own by."""

    device_id: str
    boot: int
    seq: int
    relay_time: int


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:TAG_BYTES]


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a device key is {KEY_BYTES} bytes, not {len(key)}")


def _prefix(kind: int, device_id: str) -> bytes:
    if not is_valid_device_id(device_id):
        raise FrameError("malformed", f"device id {device_id!r} breaks the contract's rule")
    raw = device_id.encode("ascii")
    return _PREFIX.pack(FRAME_VERSION, kind, len(raw)) + raw


def max_readings(device_id: str, surface: bool) -> int:
    """How many readings fit in one data frame for this device id."""
    fixed = _PREFIX.size + len(device_id) + _DATA_HEAD.size + TAG_BYTES
    per = _READING.size + (_SURFACE.size if surface else 0)
    return min(255, (MAX_FRAME_BYTES - fixed) // per)


def _u32(name: str, value: int) -> int:
    if not 0 <= value <= MAX_COUNTER:
        raise FrameError("malformed", f"{name} {value} is not a 32-bit unsigned value")
    return value


def encode_data(frame: DataFrame, key: bytes) -> bytes:
    """The frame's bytes with its tag. Raises :class:`FrameError` when a field does not
    fit (too many readings, times out of order or more than 65,535 s apart)."""
    _check_key(key)
    surface = any(r.surface_centi is not None for r in frame.readings)
    if len(frame.readings) > max_readings(frame.device_id, surface):
        raise FrameError("too_long", f"{len(frame.readings)} readings do not fit in a frame")
    base = frame.readings[0].ts if frame.readings else 0
    batt = NO_BATTERY if frame.batt_mv is None else frame.batt_mv
    if not 0 <= batt <= NO_BATTERY:
        raise FrameError("malformed", f"batt_mv {batt} does not fit 16 bits")
    head = _DATA_HEAD.pack(
        _u32("boot", frame.boot),
        _u32("seq", frame.seq),
        _u32("sent", frame.sent),
        _u32("base_ts", base),
        batt,
        _u32("drops", frame.drops),
        FLAG_SURFACE if surface else 0,
        len(frame.readings),
    )
    parts = [_prefix(KIND_DATA, frame.device_id), head]
    previous = base
    for r in frame.readings:
        dt = r.ts - previous
        if not 0 <= dt <= _MAX_DT:
            raise FrameError("malformed", f"reading at {r.ts} is {dt} s after the one before")
        parts.append(_READING.pack(dt, r.temp_centi, r.rh_centi))
        if surface:
            s = NO_SURFACE if r.surface_centi is None else r.surface_centi
            parts.append(_SURFACE.pack(s))
        previous = r.ts
    body = b"".join(parts)
    return body + _tag(key, body)


def frame_device_id(raw: bytes) -> tuple[int, str]:
    """``(kind, device_id)`` of a frame, before its tag is checked (to find its key).
    Raises :class:`FrameError` (``malformed``, ``too_long``)."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too_long", f"a frame is at most {MAX_FRAME_BYTES} bytes")
    if len(raw) < _PREFIX.size + TAG_BYTES:
        raise FrameError("malformed", "frame too short")
    version, kind, id_len = _PREFIX.unpack_from(raw)
    if version != FRAME_VERSION:
        raise FrameError("malformed", f"frame version {version}, expected {FRAME_VERSION}")
    if kind not in (KIND_DATA, KIND_ACK):
        raise FrameError("malformed", f"unknown frame kind {kind}")
    end = _PREFIX.size + id_len
    if len(raw) < end + TAG_BYTES:
        raise FrameError("malformed", "frame too short for its device id")
    try:
        device_id = raw[_PREFIX.size : end].decode("ascii")
    except UnicodeDecodeError:
        raise FrameError("malformed", "device id is not ASCII") from None
    if not is_valid_device_id(device_id):
        raise FrameError("malformed", "device id breaks the contract's rule")
    return kind, device_id


def _verified(raw: bytes, key: bytes, kind: int) -> tuple[str, bytes]:
    _check_key(key)
    got_kind, device_id = frame_device_id(raw)
    if got_kind != kind:
        raise FrameError("malformed", f"frame kind {got_kind}, expected {kind}")
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(key, body)):
        raise FrameError("bad_tag", "the frame's tag does not match the device's key")
    return device_id, body[_PREFIX.size + len(device_id) :]


def decode_data(raw: bytes, key: bytes) -> DataFrame:
    """Check the tag with ``key`` and decode. Raises :class:`FrameError`."""
    device_id, rest = _verified(raw, key, KIND_DATA)
    if len(rest) < _DATA_HEAD.size:
        raise FrameError("malformed", "data frame too short for its header")
    boot, seq, sent, base, batt, drops, flags, n = _DATA_HEAD.unpack_from(rest)
    if flags & ~FLAG_SURFACE:
        raise FrameError("malformed", f"unknown flags {flags:#04x}")
    surface = bool(flags & FLAG_SURFACE)
    per = _READING.size + (_SURFACE.size if surface else 0)
    if len(rest) != _DATA_HEAD.size + n * per:
        raise FrameError("malformed", f"{n} readings do not match the frame's length")
    readings = []
    offset = _DATA_HEAD.size
    ts = base
    for _ in range(n):
        dt, temp, rh = _READING.unpack_from(rest, offset)
        offset += _READING.size
        s: int | None = None
        if surface:
            (s,) = _SURFACE.unpack_from(rest, offset)
            offset += _SURFACE.size
            if s == NO_SURFACE:
                s = None
        ts += dt
        if ts > MAX_COUNTER:
            raise FrameError("malformed", "reading time past 32 bits")
        readings.append(FrameReading(ts, temp, rh, s))
    return DataFrame(
        device_id,
        boot,
        seq,
        sent,
        tuple(readings),
        None if batt == NO_BATTERY else batt,
        drops,
    )


def encode_ack(ack: AckFrame, key: bytes) -> bytes:
    _check_key(key)
    body = _prefix(KIND_ACK, ack.device_id) + _ACK_BODY.pack(
        _u32("boot", ack.boot), _u32("seq", ack.seq), _u32("relay_time", ack.relay_time)
    )
    return body + _tag(key, body)


def decode_ack(raw: bytes, key: bytes) -> AckFrame:
    device_id, rest = _verified(raw, key, KIND_ACK)
    if len(rest) != _ACK_BODY.size:
        raise FrameError("malformed", "ack frame has the wrong length")
    boot, seq, relay_time = _ACK_BODY.unpack(rest)
    return AckFrame(device_id, boot, seq, relay_time)


class ReplayVerdict(StrEnum):
    NEW = "new"
    #: the last frame accepted, again (its ack was lost): acknowledge, do not publish
    DUPLICATE = "duplicate"
    REPLAY = "replay"


class ReplayGuard:
    """The last ``(boot, seq)`` accepted per device. A frame is new only above it; the
    same pair again is a duplicate (re-acknowledged, not republished); lower is a
    replay. ``accept`` is called only for a frame whose tag is good."""

    def __init__(self, last: dict[str, tuple[int, int]] | None = None) -> None:
        self.last: dict[str, tuple[int, int]] = dict(last or {})

    def check(self, device_id: str, boot: int, seq: int) -> ReplayVerdict:
        seen = self.last.get(device_id)
        if seen is None or (boot, seq) > seen:
            return ReplayVerdict.NEW
        return ReplayVerdict.DUPLICATE if (boot, seq) == seen else ReplayVerdict.REPLAY

    def accept(self, device_id: str, boot: int, seq: int) -> None:
        self.last[device_id] = (boot, seq)
