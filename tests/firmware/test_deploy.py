"""deploy.sh leaves a board that runs and sleeps: what it copies (through a stand-in
for mpremote that records the copy) is run as the board's filesystem."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from fwharness import BIN, FIRMWARE, Collector, SimDevice, secrets_text

from dampwatch.stack.mosquitto import Mosquitto
from conftest import device_settings

FAKE_MPREMOTE = """#!/bin/sh
# stand-in for mpremote: `connect PORT cp FILES... :/ + ... reset` copies FILES to $BOARD
set -eu
shift 2
[ "$1" = cp ] && shift
while [ "$1" != ":/" ]; do cp "$1" "$BOARD/"; shift; done
echo "reset" > "$BOARD/.reset"
"""


def test_deploy_leaves_a_board_that_samples_and_sleeps(
    tmp_path: Path, broker: Mosquitto, collector: Collector
) -> None:
    src = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, src, ignore=shutil.ignore_patterns("__pycache__", "secrets.py"))
    settings = device_settings(broker.host, broker.port, UPLOAD_EVERY=2)
    (src / "secrets.py").write_text(secrets_text(settings))
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "mpremote").write_text(FAKE_MPREMOTE)
    (tools / "mpremote").chmod(0o755)
    board = tmp_path / "board"
    board.mkdir()
    env = dict(os.environ, BOARD=str(board), PATH=f"{tools}:{BIN}:{os.environ['PATH']}")
    subprocess.run(["sh", str(src / "deploy.sh"), "/dev/null"], env=env, check=True,
                   capture_output=True, timeout=120)
    names = sorted(p.name for p in board.iterdir())
    assert {"boot.py", "main.py", "secrets.py", "node.mpy", "wake.mpy"} <= set(names), names
    assert not {"energy_model.mpy", "manifest.mpy", "_boot.mpy"} & set(names), names
    # the board's filesystem alone (no build directory) runs wake after wake
    dev = SimDevice(tmp_path / "dev", board, settings)
    for _ in range(4):
        wake = dev.wake()
        assert not wake.killed and wake.sleep_ms > 0, wake.output
    assert "node" not in dev.wakes[1].modules, "boot.py's sampling wake ran"
    assert collector.wait_for(lambda: len(collector.of_kind("telemetry")) == 2)
