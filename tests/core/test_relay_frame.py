"""The relay frame codec in the core: the documented test vector, round trips, and each
way a frame is refused."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dampwatch_core.relay_frame import (
    MAX_FRAME_BYTES,
    AckFrame,
    DataFrame,
    FrameError,
    FrameReading,
    ReplayGuard,
    ReplayVerdict,
    decode_ack,
    decode_data,
    encode_ack,
    encode_data,
    max_readings,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "relay-frame.md"
KEY = bytes(range(32))
DEVICE = "esp32-a4cf12fe0b3c"
VECTOR_FRAME = DataFrame(
    DEVICE, 3, 1042, 1764216000,
    (FrameReading(1764201600, 1952, 6480), FrameReading(1764201900, 1947, 6510),
     FrameReading(1764202200, -5, 10000)),
    2980, 2,
)


def doc_hex_blocks() -> list[bytes]:
    return [bytes.fromhex(b) for b in re.findall(r"```\n([0-9a-f]+)\n```", DOC.read_text())]


def test_documented_vector_decodes_and_encodes() -> None:
    data, ack = doc_hex_blocks()
    assert len(data) == 79 and len(ack) == 49
    assert decode_data(data, KEY) == VECTOR_FRAME
    assert encode_data(VECTOR_FRAME, KEY) == data
    # the tag is HMAC-SHA256 of everything before it, first 16 bytes (independent check)
    assert data[-16:] == hmac.new(KEY, data[:-16], hashlib.sha256).digest()[:16]
    assert decode_ack(ack, KEY) == AckFrame(DEVICE, 3, 1042, 1764216001)


def test_every_altered_byte_or_wrong_key_is_refused() -> None:
    data = encode_data(VECTOR_FRAME, KEY)
    for i in range(len(data)):
        altered = bytearray(data)
        altered[i] ^= 0x01
        with pytest.raises(FrameError) as err:
            decode_data(bytes(altered), KEY)
        assert err.value.reason in ("bad_tag", "malformed")
    with pytest.raises(FrameError) as err:
        decode_data(data, bytes(32))
    assert err.value.reason == "bad_tag"
    with pytest.raises(FrameError) as err:  # an ack is not data, even with a good tag
        decode_data(encode_ack(AckFrame(DEVICE, 3, 1042, 0), KEY), KEY)
    assert err.value.reason == "malformed"


def test_limits() -> None:
    assert max_readings(DEVICE, False) == 31 and max_readings(DEVICE, True) == 23
    full = DataFrame(DEVICE, 1, 1, 1764216000,
                     tuple(FrameReading(1764201600 + 300 * i, 2000, 5000, 1500)
                           for i in range(23)))
    assert len(encode_data(full, KEY)) <= MAX_FRAME_BYTES
    with pytest.raises(FrameError) as err:
        encode_data(DataFrame(DEVICE, 1, 1, 0, (*full.readings, FrameReading(
            1764201600 + 300 * 23, 1, 1, 1))), KEY)
    assert err.value.reason == "too_long"
    with pytest.raises(FrameError):  # out of order
        encode_data(DataFrame(DEVICE, 1, 1, 0, (FrameReading(10, 1, 1),
                                                FrameReading(9, 1, 1))), KEY)
    with pytest.raises(FrameError) as err:
        decode_data(b"\x01" * 251, KEY)
    assert err.value.reason == "too_long"


readings_st = st.lists(
    st.tuples(st.integers(0, 65535), st.integers(-4000, 8500), st.integers(0, 10000),
              st.one_of(st.none(), st.integers(-4000, 8500))),
    min_size=0, max_size=23)


@given(readings_st, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
       st.one_of(st.none(), st.integers(0, 5000)))
def test_round_trip(rows: list[tuple[int, int, int, int | None]], boot: int, seq: int,
                    batt: int | None) -> None:
    ts = 1764201600
    readings = []
    for dt, t, rh, s in rows:
        ts += dt
        readings.append(FrameReading(ts, t, rh, s))
    frame = DataFrame(DEVICE, boot, seq, 1764216000, tuple(readings), batt, 7)
    raw = encode_data(frame, KEY)
    assert len(raw) <= MAX_FRAME_BYTES
    assert decode_data(raw, KEY) == frame


def test_replay_guard() -> None:
    guard = ReplayGuard()
    assert guard.check(DEVICE, 1, 5) is ReplayVerdict.NEW
    guard.accept(DEVICE, 1, 5)
    assert guard.check(DEVICE, 1, 5) is ReplayVerdict.DUPLICATE
    assert guard.check(DEVICE, 1, 4) is ReplayVerdict.REPLAY
    assert guard.check(DEVICE, 1, 6) is ReplayVerdict.NEW
    # a power loss restarts seq; the cold-boot count in flash moves on
    assert guard.check(DEVICE, 2, 0) is ReplayVerdict.NEW
    assert guard.check(DEVICE, 0, 99) is ReplayVerdict.REPLAY
