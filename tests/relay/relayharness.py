"""Sensor nodes and a block relay as real MicroPython processes, talking through the
`espnow` shim (UDP on localhost with ESP-NOW's limits) to a real Mosquitto.

An `Air` is one test's radio medium: a directory with a file per MAC holding the UDP
port that radio listens on. A `RelayProcess` runs `firmware/relay` in its own
MicroPython process for as long as the test wants (it can be killed and started
again); nodes are `SimDevice`s of the firmware harness, one process per wake. The
relay's clock is the simulated true time, moved on by the test before each wake.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fwharness import FIRMWARE, MICROPYTHON, MPY_CROSS, SHIMS, START_TS, SimDevice, delivered

RELAY_SOURCES = FIRMWARE / "relay"
RELAY_MAC = "0c0ffee00001"
RELAY_ID = "relay-block-a"
RELAY_PW = "relay-secret"


def build_relay(out: Path) -> Path:
    """The relay's image: the shared firmware modules and firmware/relay, compiled."""
    out.mkdir(parents=True, exist_ok=True)
    shared = ["frame.py", "mqtt.py", "payloads.py", "reading.py", "deadline.py"]
    sources = [FIRMWARE / n for n in shared] + sorted(RELAY_SOURCES.glob("*.py"))
    for src in sources:
        if src.name == "relay_main.py":
            shutil.copy(src, out / src.name)
            continue
        subprocess.run([MPY_CROSS, "-o", str(out / (src.stem + ".mpy")), str(src)],
                       check=True, capture_output=True, cwd=src.parent)
    return out


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Air:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def radio(self, mac: str) -> None:
        (self.root / mac).write_text(str(free_udp_port()))


def write_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj))
    tmp.replace(path)


@dataclass
class RelayProcess:
    root: Path
    build: Path
    air: Air
    settings: dict[str, Any]
    sim: dict[str, Any] = field(default_factory=dict)
    proc: subprocess.Popen[str] | None = None
    runs: int = 0

    def __post_init__(self) -> None:
        self.flash = self.root / "flash"
        self.simdir = self.root / "sim"
        self.flash.mkdir(parents=True, exist_ok=True)
        self.simdir.mkdir(parents=True, exist_ok=True)
        self.sim = {"mac": RELAY_MAC, "espnow_dir": str(self.air.root), "live_clock": True,
                    **self.sim}
        self.air.radio(RELAY_MAC)
        self.set_time(START_TS)

    def set_time(self, now: float) -> None:
        write_atomic(self.simdir / "clock.json",
                     {"now": int(now), "offset": 0, "wake": 0, "reset": "poweron"})

    def start(self) -> None:
        (self.flash / "relay_secrets.py").write_text(
            "".join(f"{k} = {v!r}\n" for k, v in self.settings.items()))
        (self.simdir / "sim.json").write_text(json.dumps(self.sim))
        self.runs += 1
        log = (self.root / f"relay{self.runs}.log").open("w")
        env = dict(os.environ, DW_SIM=str(self.simdir),
                   MICROPYPATH=f"{SHIMS}:{self.flash}:{self.build}:.frozen")
        self.proc = subprocess.Popen([MICROPYTHON, "-c", "import relay_main"],
                                     cwd=self.flash, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, text=True)

    def start_as_board(self) -> None:
        """Run `main.py` from the flash directory alone (a deployed board boots it)."""
        (self.simdir / "sim.json").write_text(json.dumps(self.sim))
        self.runs += 1
        log = (self.root / f"relay{self.runs}.log").open("w")
        env = dict(os.environ, DW_SIM=str(self.simdir), MICROPYPATH=f"{SHIMS}:{self.flash}")
        self.proc = subprocess.Popen([MICROPYTHON, "-c", "import main"], cwd=self.flash,
                                     env=env, stdout=log, stderr=subprocess.STDOUT, text=True)

    def log(self) -> str:
        return "".join(p.read_text() for p in sorted(self.root.glob("relay*.log")))

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def espnow_node(make_device: Any, mac: str, air: Air, key: str, *,
                sim: dict[str, Any] | None = None, **settings: Any) -> SimDevice:
    """A node that uploads through the relay (and no Wi-Fi unless `settings` give one)."""
    air.radio(mac)
    conf = {"MQTT_HOST": "127.0.0.1", "MQTT_PORT": 1, "WIFI_SSID": "", **settings}
    host, port = conf.pop("MQTT_HOST"), conf.pop("MQTT_PORT")
    dev: SimDevice = make_device(
        host, port, sim={"mac": mac, "espnow_dir": str(air.root), **(sim or {})},
        RELAY_MAC=RELAY_MAC, ESPNOW_KEY=key, **conf)
    return dev


def wake_all(devices: list[SimDevice], relay: RelayProcess | None, rounds: int) -> None:
    """`rounds` wakes of every device in turn, the relay's clock at each one's time."""
    for _ in range(rounds):
        for dev in devices:
            if relay is not None:
                relay.set_time(dev.now)
            w = dev.wake()
            assert not w.killed, w.output


def wait_for(predicate: Any, timeout_s: float = 10.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def inject(air: Air, src_mac: str, msg: bytes, dst_mac: str = RELAY_MAC) -> None:
    """Put a frame on the air as a radio `src_mac` would (a forger, a replayer)."""
    port = int((air.root / dst_mac).read_text())
    ident = os.urandom(4)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"D" + bytes.fromhex(src_mac) + ident + msg, ("127.0.0.1", port))


def relay_status(collector: Any) -> dict[str, Any] | None:
    topic = f"dampwatch/v1/relay/{RELAY_ID}/status"
    found = [p for t, p, _ in list(collector.messages) if t == topic]
    return json.loads(found[-1]) if found else None


def new_key() -> str:
    """A device's frame key, as provisioning makes it (32 random bytes, hex)."""
    return secrets.token_hex(32)


def per_device(collector: Any, dev: SimDevice) -> tuple[list[int], list[Any]]:
    """(seqs, readings) the broker delivered on `dev`'s telemetry topic, contract-checked."""
    topic = f"dampwatch/v1/dev/{dev.device_id}/telemetry"

    class One:
        def of_kind(self, kind: str) -> list[bytes]:
            return [p for t, p, _ in list(collector.messages) if t == topic]

    return delivered(One(), dev.now)  # type: ignore[arg-type]


#: stand-in for mpremote: `connect PORT cp FILES... :/ + ... reset` copies FILES to $BOARD
FAKE_MPREMOTE = """#!/bin/sh
set -eu
shift 2
[ "$1" = cp ] && shift
while [ "$1" != ":/" ]; do cp "$1" "$BOARD/"; shift; done
echo "reset" > "$BOARD/.reset"
"""


def set_acl(broker: Any, relays: dict[str, list[str]]) -> None:
    """Regenerate the broker's ACL and wait until it has reread it (it logs each SIGHUP
    reload; a relay publishing before then would meet the old ACL)."""
    log = broker.state_dir / "mosquitto.log"

    def reloads() -> int:
        return log.read_text().count("Reloading config") if log.exists() else 0

    before = reloads()
    broker.set_relays(relays)
    if broker.process.alive() and not wait_for(lambda: reloads() > before, 10):
        raise TimeoutError("the broker did not reload its ACL")
