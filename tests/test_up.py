"""``dampwatch up`` as a person runs it: starts, reports ports in use, writes
stack.json, gets simulated readings flowing, stops cleanly on SIGTERM and on Ctrl-C,
and keeps every reading when its gateway is killed mid-stream (the supervisor restarts
it)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.auth.bootstrap import FIRST_ADMIN_EMAIL, FIRST_ADMIN_SECRET
from backend.auth.tokens import create_token
from backend.auth.users import find_user
from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.mosquitto import Mosquitto
from dampwatch.stack.ports import free_port
from dampwatch.stack.process import wait_until
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.settings import load_settings
from simulators.publisher import DeviceCredential, DeviceSeries, FleetPublisher


def _admin_token(database_url: str) -> str:
    engine = make_engine(database_url)
    with make_sessionmaker(engine).begin() as session:
        admin = find_user(session, FIRST_ADMIN_EMAIL)
        assert admin is not None
        token = create_token(session, admin, "test")[1]
    engine.dispose()
    return token


def test_up_with_simulated_devices_then_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dampwatch.cli",
            "up",
            "--state-dir",
            str(state),
            "--free-ports",
            "--simulate",
            "4",
            "--sim-interval",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        stack_file = state / "stack.json"
        while not stack_file.exists():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "stack did not come up within 60 s"
            time.sleep(0.2)
        endpoints = json.loads(stack_file.read_text())
        assert set(endpoints) >= {"mqtt", "influxdb", "api"}
        api = endpoints["api"]["url"]
        # the first admin `up` made, with a token, as a person would with `dampwatch tokens`
        secrets = json.loads((state / "secrets.json").read_text())
        assert (state / "secrets.json").stat().st_mode & 0o777 == 0o600
        assert len(secrets[FIRST_ADMIN_SECRET]) >= 20
        auth = {"Authorization": f"Bearer {_admin_token(endpoints['database_url'])}"}
        assert httpx.get(f"{api}/api/v1/flats", timeout=5).status_code == 401
        count = 0
        while time.monotonic() < deadline and count == 0:
            r = httpx.get(f"{api}/api/v1/flats/SIM-0001/readings", headers=auth, timeout=5)
            if r.status_code == 200:
                count = r.json()["count"]
            time.sleep(0.5)
        assert count > 0, "no simulated readings within 60 s"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "DampWatch is up" in out and "stopping" in out
    assert out.count(secrets[FIRST_ADMIN_SECRET]) == 1  # printed once
    assert not (state / "stack.json").exists()
    # nothing left listening on the stack's ports
    for port in (endpoints["mqtt"]["port"],):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0


def test_up_reports_a_port_in_use(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "dampwatch.cli",
                "up",
                "--state-dir",
                str(tmp_path),
                "--mqtt-port",
                str(port),
                "--influx-port",
                str(free_port()),
                "--api-port",
                str(free_port()),
                "--metrics-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 for Mosquitto is already in use" in result.stderr


def pids_of(needle: str) -> dict[int, str]:
    """Processes whose command line contains ``needle`` (pid -> command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        line = " ".join(a.decode(errors="replace") for a in argv if a)
        if needle in line:
            found[int(entry.name)] = line
    return found


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, list[str]]]:
    """``dampwatch up`` on free ports, until it has written stack.json; its output is
    collected line by line."""
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dampwatch.cli", "up", "--state-dir", str(state), "--free-ports"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        wait_until(
            lambda: (state / "stack.json").exists() or proc.poll() is not None, 90, "the stack"
        )
        assert proc.poll() is None, "".join(lines)
        yield proc, state, lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        for pid in pids_of(str(state)):  # anything the killed supervisor left behind
            subprocess.run(["kill", "-9", str(pid)], check=False)


def test_kill_9_of_the_gateway_mid_stream_loses_nothing_and_ctrl_c_stops_all(
    up: tuple[subprocess.Popen[str], Path, list[str]],
) -> None:
    proc, state, lines = up
    endpoints = json.loads((state / "stack.json").read_text())
    settings = load_settings(state / "dampwatch.env", environ={})
    sessions = make_sessionmaker(make_engine(settings.database_url))
    creds = []
    with sessions.begin() as s:
        add_flat(s, "KILL-1", "1 Supervisor Court")
        s.flush()
        for i in range(4):
            _, pw = add_device(s, f"esp32-k1000000000{i}", "KILL-1", f"room{i}")
            creds.append(DeviceCredential(f"esp32-k1000000000{i}", pw))
        s.flush()
        assert settings.broker_password_file and settings.broker_pid_file
        sync_broker_credentials(s, settings.broker_password_file, settings.broker_pid_file)
    broker = Mosquitto(state / "mosquitto", port=endpoints["mqtt"]["port"])
    for c in creds:
        broker.wait_accepts(c.device_id, c.password)
    # 4 devices x 40 messages x 3 readings, paced over ~12 s of wall time
    n = 120
    end = int(time.time()) // 60 * 60
    ts = [end - 60 * (n - 1 - k) for k in range(n)]
    fleet = FleetPublisher(
        endpoints["mqtt"]["host"],
        endpoints["mqtt"]["port"],
        [
            DeviceSeries(c, ts, [20.0 + k / 100 for k in range(n)], [55.0] * n, upload_every=3)
            for c in creds
        ],
        workers=4,
    )
    expected = 4 * n
    api = endpoints["api"]["url"]
    auth = {"Authorization": f"Bearer {_admin_token(endpoints['database_url'])}"}

    def stored() -> int:
        r = httpx.get(
            f"{api}/api/v1/flats/KILL-1/readings",
            params={"from": ts[0] - 1, "to": ts[-1] + 1},
            headers=auth,
            timeout=10,
        )
        return int(r.json()["count"]) if r.status_code == 200 else -1

    killed: list[int] = []

    def publish() -> None:
        for step in range(1, 41):
            fleet.publish_until(ts[3 * step - 1])
            if step == 14:  # a third in: kill -9 the gateway while devices keep sending
                wait_until(lambda: stored() > 0, 30, "the first readings stored")
                gateway = [
                    pid
                    for pid, line in pids_of(f"{state}/dampwatch.env").items()
                    if " gateway " in f" {line} "
                ]
                assert len(gateway) == 1, gateway
                subprocess.run(["kill", "-9", str(gateway[0])], check=True)
                killed.append(gateway[0])
            time.sleep(0.3)  # pacing of the stream, not a wait for a condition

    publisher = threading.Thread(target=publish)
    publisher.start()
    publisher.join(120)
    assert not publisher.is_alive() and killed, "".join(lines)
    assert fleet.remaining() == 0 and fleet.progress.failed_uploads == 0
    wait_until(lambda: stored() == expected, 60, f"all {expected} readings stored")
    assert stored() == expected
    out = "".join(lines)
    assert "gateway was killed by signal 9" in out and "restarting gateway" in out
    assert proc.poll() is None, out
    new = [p for p, line in pids_of(f"{state}/dampwatch.env").items() if " gateway " in line]
    assert new and killed[0] not in new
    # the outbox dispatcher runs under the same supervisor: killed, it is started again
    dispatchers = [
        p for p, line in pids_of(f"{state}/dampwatch.env").items() if " outbox dispatch " in line
    ]
    assert len(dispatchers) == 1, pids_of(f"{state}/dampwatch.env")
    subprocess.run(["kill", "-9", str(dispatchers[0])], check=True)
    wait_until(lambda: "restarting outbox" in "".join(lines), 30, "the dispatcher restarted")
    wait_until(
        lambda: any(
            " outbox dispatch " in line and p != dispatchers[0]
            for p, line in pids_of(f"{state}/dampwatch.env").items()
        ),
        30,
        "a new dispatcher process",
    )
    # Ctrl-C stops everything
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0, "".join(lines)
    assert "stopping" in "".join(lines)
    wait_until(lambda: not pids_of(str(state)), 30, "every process of the stack gone")
    assert not (state / "stack.json").exists()
