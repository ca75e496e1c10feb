"""firmware/relay/deploy.sh leaves a relay that runs: what it copies (through a
stand-in for mpremote) is run as the relay's filesystem, and a node's frame reaches the
broker through it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fwharness import BIN, FIRMWARE, SimDevice, as_centi
from relayharness import (
    FAKE_MPREMOTE,
    RELAY_ID,
    RELAY_PW,
    RelayProcess,
    espnow_node,
    new_key,
    per_device,
    set_acl,
    wait_for,
    wake_all,
)


def test_relay_deploy_copies_a_relay_that_runs(
        tmp_path: Path, make_device: Callable[..., SimDevice], air: Any, collector: Any,
        broker: Any) -> None:
    src = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, src, ignore=shutil.ignore_patterns("__pycache__", "*secrets.py"))
    key = new_key()
    device = "esp32-a4cf12fe0b01"
    set_acl(broker, {RELAY_ID: [device]})
    settings = {"RELAY_ID": RELAY_ID, "MQTT_HOST": broker.host, "MQTT_PORT": broker.port,
                "MQTT_PASSWORD": RELAY_PW, "DEVICES": {device: key}}
    (src / "relay" / "relay_secrets.py").write_text(
        "".join(f"{k} = {v!r}\n" for k, v in settings.items()))
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "mpremote").write_text(FAKE_MPREMOTE)
    (tools / "mpremote").chmod(0o755)
    board = tmp_path / "board"
    board.mkdir()
    env = dict(os.environ, BOARD=str(board), PATH=f"{tools}:{BIN}:{os.environ['PATH']}")
    subprocess.run(["sh", str(src / "relay" / "deploy.sh"), "/dev/null"], env=env,
                   check=True, capture_output=True, timeout=120)
    names = {p.name for p in board.iterdir()}
    assert {"main.py", "relay_main.py", "relay_secrets.py", "relay.mpy", "frame.mpy",
            "mqtt.mpy"} <= names, names
    assert "node.mpy" not in names
    relay = RelayProcess(tmp_path / "relay", board, air, settings)
    relay.flash = board  # run from the board's filesystem alone, as it booted
    try:
        relay.start_as_board()
        dev = espnow_node(make_device, "a4cf12fe0b01", air, key, UPLOAD_EVERY=1)
        wake_all([dev], relay, 2)
        assert wait_for(lambda: len(per_device(collector, dev)[1]) == 2), relay.log()
        assert as_centi(per_device(collector, dev)[1]) == dev.expected_readings()
    finally:
        relay.kill()
