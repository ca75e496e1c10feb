"""The firmware's frame codec, on the real MicroPython binary, against the documented
test vector and the core's codec (two implementations, one format)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from fwharness import MICROPYTHON

from dampwatch_core.relay_frame import (
    DataFrame,
    FrameReading,
    decode_ack,
    decode_data,
    encode_ack,
    encode_data,
)

KEY = bytes(range(32))
DEVICE = "esp32-a4cf12fe0b3c"

SCRIPT = """
import json, struct, sys
from binascii import hexlify, unhexlify
import frame, reading
key = bytes(range(32))
import os
args = json.loads(os.getenv("FRAME_ARGS"))
recs = b"".join(reading.pack(*r) for r in args["readings"])
surface = args["surface"]
n = frame.take(recs, args["device"], surface)
raw = frame.encode_data(key, args["device"], 3, 1042, 1764216000, 2980, 2,
                        recs[:n * reading.SIZE], surface)
ack = frame.encode_ack(key, args["device"], 3, 1042, 1764216001)
dec = frame.decode_data(key, unhexlify(args["core"]))
bad = bytearray(raw); bad[5] ^= 1
try:
    frame.decode_data(key, bytes(bad)); altered = "accepted"
except frame.FrameError as e:
    altered = e.args[0]
try:
    frame.decode_data(bytes(32), raw); wrong = "accepted"
except frame.FrameError as e:
    wrong = e.args[0]
print(json.dumps({"raw": hexlify(raw).decode(), "ack": hexlify(ack).decode(), "n": n,
                  "decoded": [dec[0], dec[1], dec[2], dec[3], dec[4], dec[5], dec[6]],
                  "altered": altered, "wrong_key": wrong,
                  "hmac": hexlify(frame.hmac_sha256(
                      b"key", b"The quick brown fox jumps over the lazy dog")).decode()}))
"""


def run_fw(build: Path, args: dict[str, object]) -> dict[str, object]:
    out = subprocess.run([MICROPYTHON, "-c", SCRIPT], check=True,
                         capture_output=True, text=True,
                         env={"MICROPYPATH": str(build), "FRAME_ARGS": json.dumps(args)})
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_firmware_codec_matches_vector_and_core(firmware_build: Path) -> None:
    vector = [(1764201600, 1952, 6480, None), (1764201900, 1947, 6510, None),
              (1764202200, -5, 10000, None)]
    core_frame = DataFrame(DEVICE, 9, 77, 1764216000,
                           (FrameReading(1764201600, 2000, 5000, 1400),
                            FrameReading(1764201900, 2001, 5001, None)), None, 4)
    got = run_fw(firmware_build, {"readings": vector, "surface": False, "device": DEVICE,
                                  "core": encode_data(core_frame, KEY).hex()})
    doc = (Path(__file__).resolve().parents[2] / "docs" / "relay-frame.md").read_text()
    assert got["raw"] in doc and got["ack"] in doc
    want = DataFrame(DEVICE, 3, 1042, 1764216000,
                     tuple(FrameReading(*r) for r in vector), 2980, 2)
    assert decode_data(bytes.fromhex(str(got["raw"])), KEY) == want
    assert decode_ack(bytes.fromhex(str(got["ack"])), KEY) == decode_ack(
        encode_ack(decode_ack(bytes.fromhex(str(got["ack"])), KEY), KEY), KEY)
    assert got["decoded"] == [DEVICE, 9, 77, 1764216000, None, 4,
                              [[1764201600, 2000, 5000, 1400], [1764201900, 2001, 5001, None]]]
    assert got["altered"] == "bad_tag" and got["wrong_key"] == "bad_tag"
    # RFC 2104 HMAC-SHA256, the widely published example
    assert got["hmac"] == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"


def test_frames_split_where_they_must(firmware_build: Path) -> None:
    """40 readings: 31 fit; a 20 h gap (past u16 seconds) ends a frame early."""
    many = [(1764201600 + 300 * i, 2000, 5000, None) for i in range(40)]
    got = run_fw(firmware_build, {"readings": many, "surface": False, "device": DEVICE,
                                  "core": encode_data(DataFrame(DEVICE, 1, 1, 1, ()), KEY).hex()})
    assert got["n"] == 31
    assert len(bytes.fromhex(str(got["raw"]))) == 61 + 31 * 6 <= 250
    gap = [(1764201600, 1, 1, None), (1764201900, 1, 1, None), (1764201900 + 72000, 1, 1, None)]
    got = run_fw(firmware_build, {"readings": gap, "surface": True, "device": DEVICE,
                                  "core": encode_data(DataFrame(DEVICE, 1, 1, 1, ()), KEY).hex()})
    assert got["n"] == 2
    assert len(decode_data(bytes.fromhex(str(got["raw"])), KEY).readings) == 2
