"""Every firmware file compiles with mpy-cross, and the driver, buffer, config and
MQTT packet code pass their checks on the real MicroPython unix port."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fwharness import FIRMWARE, MICROPYTHON, MPY_CROSS, SHIMS

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


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_on_micropython(name: str, tmp_path: Path, firmware_build: Path) -> None:
    env = dict(os.environ, DW_SIM=str(tmp_path), MICROPYPATH=f"{SHIMS}:{firmware_build}")
    proc = subprocess.run([MICROPYTHON, str(CHECKS), name], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("PASS " + name), (
        proc.stdout + proc.stderr
    )
