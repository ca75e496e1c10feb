"""Mosquitto as the local stack runs it: persistence on, queue limits raised, and two
listeners with their own accounts (``per_listener_settings true``):

- ``port``: the device listener, where only device accounts log in, each confined to its
  own topics, with the client id forced to the username;
- ``service_port``: the service listener on 127.0.0.1, where only the services'
  accounts (``dampwatch-*``) log in.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from collections.abc import Mapping
from pathlib import Path

from dampwatch.stack.ports import free_port, require_free
from dampwatch.stack.process import ManagedProcess, wait_until
from dampwatch_core.errors import ConfigError
from dampwatch_core.mqtt_auth import (
    device_acl_text,
    hash_password,
    is_service_account,
    service_acl_text,
    write_password_file,
)

__all__ = ["Mosquitto"]

#: Messages a disconnected persistent session may queue (Mosquitto's default is 1000,
#: far too few for a gateway that stops acknowledging while InfluxDB is down).
MAX_QUEUED_MESSAGES = 1_000_000
#: QoS 1 messages in flight per MQTT 3.1.1 client (default 20); more keeps a subscriber's
#: pipe full. MQTT 5 clients (the gateway) set their own with Receive Maximum.
MAX_INFLIGHT_MESSAGES = 1000
#: Largest publish payload the broker accepts (default: MQTT's 256 MiB). The contract's
#: limit is 8 KiB and the gateway quarantines oversize payloads it receives (8–16 KiB);
#: this outer fence keeps a hostile client from pushing larger ones through the broker,
#: which drops them (an MQTT 5 publisher gets a PUBACK with an error reason code). In
#: Mosquitto 2.0 the limit is global, so it holds on the device listener and the service
#: listener alike (no service publishes more than a config message).
MESSAGE_SIZE_LIMIT = 16 * 1024


class Mosquitto:
    """A Mosquitto broker process under ``state_dir``.

    ``add_user`` adds an account with a clear password (a service's, ``dampwatch-*``,
    to the service listener's file; any other to the device listener's) and, when
    running, makes the broker reread its files (SIGHUP). ``password_file`` is the device
    listener's, which the registry keeps in step with the devices.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        password_file: Path | None = None,
        service_port: int | None = None,
    ) -> None:
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(self.binary).exists():
            raise ConfigError("mosquitto is not installed (apt-get install mosquitto)")
        self.state_dir = state_dir
        self.host = host
        self.port = port or free_port(host)
        #: the services' listener: localhost only, whatever ``host`` devices use
        self.service_host = "127.0.0.1"
        self.service_port = service_port or free_port(self.service_host)
        self.password_file = password_file or state_dir / "passwd"
        self.acl_file = state_dir / "acl"
        self.service_password_file = state_dir / "service-passwd"
        self.service_acl_file = state_dir / "service-acl"
        self.conf_file = state_dir / "mosquitto.conf"
        self.data_dir = state_dir / "data"
        self.pid_file = state_dir / "mosquitto.pid"
        self.hashes: dict[str, str] = {}
        #: relay id -> the devices registered to it (their telemetry topics in the ACL);
        #: None: not known here, so an ACL the registry wrote (with relays) is kept
        self.relays: dict[str, list[str]] | None = None
        self.service_hashes: dict[str, str] = {}
        self.process = ManagedProcess(
            "mosquitto", [self.binary, "-c", str(self.conf_file)], state_dir / "mosquitto.log"
        )

    # ----------------------------------------------------------------- accounts
    def add_user(self, username: str, password: str) -> None:
        hashed = hash_password(password)
        if is_service_account(username):
            self.service_hashes[username] = hashed
        else:
            self.hashes[username] = hashed
        if self.password_file.exists() or self.process.alive():
            self._write_auth()
        self.reload()

    def set_hashes(self, hashes: Mapping[str, str]) -> None:
        for username, hashed in hashes.items():
            target = self.service_hashes if is_service_account(username) else self.hashes
            target[username] = hashed
        self._write_auth()
        self.reload()

    @staticmethod
    def _merge(path: Path, hashes: Mapping[str, str]) -> None:
        existing: dict[str, str] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if ":" in line:
                    user, hashed = line.split(":", 1)
                    existing[user] = hashed
        existing.update(hashes)
        write_password_file(path, existing)

    def _write_auth(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._merge(self.password_file, self.hashes)
        self._merge(self.service_password_file, self.service_hashes)
        if self.relays is not None or not self.acl_file.exists():
            self.acl_file.write_text(device_acl_text(self.relays))
        self.service_acl_file.write_text(service_acl_text())

    def set_relays(self, relays: Mapping[str, list[str]]) -> None:
        """Replace the relays' device lists and regenerate the device listener's ACL."""
        self.relays = {r: list(d) for r, d in relays.items()}
        self._write_auth()
        self.reload()

    def reload(self) -> None:
        """Make the broker reread its password and ACL files."""
        self.process.signal(signal.SIGHUP)

    # ---------------------------------------------------------------- lifecycle
    def device_listener_settings(self) -> list[str]:
        """The security settings every listener devices reach must carry (with
        ``per_listener_settings true`` each listener has its own): e.g. a TLS listener
        added after the plain one."""
        return [
            "allow_anonymous false",
            f"password_file {self.password_file}",
            f"acl_file {self.acl_file}",
            "use_username_as_clientid true",
        ]

    def config_text(self) -> str:
        lines = [
            "# DampWatch local broker (generated by the project)",
            "per_listener_settings true",
            "persistence true",
            f"persistence_location {self.data_dir}/",
            "autosave_interval 30",
            f"max_queued_messages {MAX_QUEUED_MESSAGES}",
            "max_queued_bytes 0",
            f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
            f"message_size_limit {MESSAGE_SIZE_LIMIT}",
            "set_tcp_nodelay true",
            f"pid_file {self.pid_file}",
            f"log_dest file {self.state_dir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "",
            "# devices: device accounts only, each confined to its own topics, and the",
            "# client id forced to the username (= device id): no device can use a",
            "# service's client id to kick it off or take its persistent session",
            f"listener {self.port} {self.host}",
            *self.device_listener_settings(),
            "",
            "# services (gateway, backend): localhost only, their own accounts",
            f"listener {self.service_port} {self.service_host}",
            "allow_anonymous false",
            f"password_file {self.service_password_file}",
            f"acl_file {self.service_acl_file}",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        return "\n".join(lines) + "\n"

    def start(self, timeout_s: float = 10.0) -> None:
        require_free(self.port, "Mosquitto", self.host)
        require_free(self.service_port, "Mosquitto's service listener", self.service_host)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_auth()
        self.conf_file.write_text(self.config_text())
        self.process.start()

        def listening() -> bool:
            self.process.check_alive()
            with socket.create_connection((self.host, self.port), timeout=0.5):
                pass
            with socket.create_connection((self.service_host, self.service_port), timeout=0.5):
                return True

        wait_until(listening, timeout_s, f"Mosquitto on {self.host}:{self.port}")

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def url(self) -> str:
        """The device listener."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def service_url(self) -> str:
        return f"mqtt://{self.service_host}:{self.service_port}"

    def wait_accepts(self, username: str, password: str, timeout_s: float = 10.0) -> None:
        """Poll until the broker accepts ``username``'s login (on the listener its
        account belongs to): after :meth:`reload` the broker rereads its files in its own
        time, and a test that logs in at once may race it. On the device listener the
        probe's client id is the username: it would take over a live connection of that
        device, so probe before the device connects."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        service = is_service_account(username)
        host, port = (self.service_host, self.service_port) if service else (self.host, self.port)

        def accepted() -> bool:
            answer: list[bool] = []
            client = mqtt.Client(CallbackAPIVersion.VERSION2, f"{username}-probe")
            client.username_pw_set(username, password)
            client.on_connect = lambda _c, _u, _f, rc, _p: answer.append(not rc.is_failure)
            client.connect(host, port, keepalive=5)
            try:
                deadline = time.monotonic() + 2
                while not answer and time.monotonic() < deadline:
                    client.loop(timeout=0.1)
            finally:
                client.disconnect()
            return answer == [True]

        wait_until(accepted, timeout_s, f"the broker accepting {username}")
