"""``dampwatch up`` as a person runs it: starts, reports ports in use, writes
stack.json, gets simulated readings flowing, stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.auth.bootstrap import FIRST_ADMIN_EMAIL, FIRST_ADMIN_SECRET
from backend.auth.tokens import create_token
from backend.auth.users import find_user
from dampwatch.stack.ports import free_port
from dampwatch_core.db import make_engine, make_sessionmaker


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
