"""The local stack is closed to other users of the machine: InfluxDB wants credentials
(generated, kept across runs, a service account that cannot administer the server), the
state dir is 0700 and every secrets file 0600, even when an earlier run left them open."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from dampwatch.stack.local import LocalStack, StackPorts
from dampwatch_core.influx import InfluxWriteRejected
from dampwatch_core.settings import load_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_influxdb_wants_credentials_and_secrets_are_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    for name in ("secrets.json", "dampwatch.env"):  # as a careless earlier run left them
        (state / name).write_text("{}" if name.endswith(".json") else "")
        (state / name).chmod(0o644)
    stack = LocalStack(state, StackPorts.free(), with_scheduler=False)
    stack.start()
    try:
        assert mode(state) == 0o700
        for path in (
            state / "secrets.json",
            state / "dampwatch.env",
            stack.mosquitto.password_file,
            stack.mosquitto.service_password_file,
        ):
            assert mode(path) == 0o600, path
        # no credentials, wrong credentials: refused
        url = stack.influx.url
        query = {"q": "SHOW MEASUREMENTS", "db": "dampwatch"}
        assert httpx.post(f"{url}/query", data=query, timeout=5).status_code == 401
        assert (
            httpx.post(f"{url}/query", data=query, auth=("dampwatch", "guess"), timeout=5)
        ).status_code == 401
        write = httpx.post(
            f"{url}/write", params={"db": "dampwatch"}, content=b"climate temp_c=1 1", timeout=5
        )
        assert write.status_code == 401
        # the services' credentials are in the settings the services read, and work
        settings = load_settings(stack.settings_file, environ={})
        assert settings.influx_username == "dampwatch" and settings.influx_password
        from dampwatch_core.influx import InfluxClient

        with InfluxClient.from_settings(settings) as influx:
            influx.write_lines(["probe value=1 1764201600"])
            assert influx.query("SELECT value FROM probe")[0].values == [[1764201600, 1]]
            # ... and administer nothing
            with pytest.raises(InfluxWriteRejected):
                influx.query("CREATE USER intruder WITH PASSWORD 'x' WITH ALL PRIVILEGES")
            with pytest.raises(InfluxWriteRejected):
                influx.query('DROP DATABASE "dampwatch"')
        secrets_before = (state / "secrets.json").read_text()
    finally:
        stack.stop()
    # a second run on the same state dir: same credentials, the data still there
    again = LocalStack(state, StackPorts.free(), with_scheduler=False)
    again.start()
    try:
        assert (state / "secrets.json").read_text() == secrets_before
        with again.influx.client() as influx:
            assert influx.query("SELECT value FROM probe")[0].values == [[1764201600, 1]]
    finally:
        again.stop()
