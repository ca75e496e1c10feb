"""The whole local stack: Mosquitto, InfluxDB, gateway, API and scheduler, each on its
own port with its config and state under one directory.

``dampwatch up`` runs it; the end-to-end tests start it on free ports in a temp dir.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from backend.tenants.cipher import new_key
from dampwatch.stack.influxdb import SERVICE_USER as SERVICE_INFLUX_USER
from dampwatch.stack.influxdb import InfluxCredentials, InfluxDB
from dampwatch.stack.mosquitto import Mosquitto
from dampwatch.stack.notify_standin import api_key_for, default_templates
from dampwatch.stack.ports import free_port, require_free
from dampwatch.stack.process import ManagedProcess, wait_until
from dampwatch_core.const import SETTINGS_FILENAME
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.mqtt_auth import BACKEND_USER, GATEWAY_USER, new_password

__all__ = ["DEFAULT_PORTS", "LocalStack", "StackPorts"]

log = logging.getLogger(__name__)

#: keys in secrets.json (names of passwords, not passwords)
INFLUX_ADMIN_KEY = "influxdb-admin"
INFLUX_SERVICE_KEY = "influxdb-service"
#: the Fernet key of tenants' contact details (DAMPWATCH_TENANT_DATA_KEYS)
TENANT_DATA_KEY = "tenant-data-key"
#: the stand-in Notify's service id, API secret, template ids and callback tokens
NOTIFY_KEYS = (
    "notify-service-id",
    "notify-secret",
    "notify-sms-template",
    "notify-letter-template",
    "notify-email-template",
    "notify-status-token",
    "notify-inbound-token",
)


def _write_private(path: Path, text: str) -> None:
    """Write a secrets file readable by its owner only (0600), whatever it was before."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(text)


@dataclass(frozen=True)
class StackPorts:
    #: the broker's device listener
    mqtt: int
    influx: int
    api: int
    gateway_metrics: int
    #: the broker's service listener (127.0.0.1); 0: a free port
    mqtt_service: int = 0
    #: the stand-in GOV.UK Notify API (127.0.0.1); 0: a free port
    notify: int = 0

    @classmethod
    def free(cls) -> StackPorts:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port(), free_port())


DEFAULT_PORTS = StackPorts(
    mqtt=18883,
    influx=18086,
    api=18080,
    gateway_metrics=19108,
    mqtt_service=18884,
    notify=18090,
)


class LocalStack:
    def __init__(
        self,
        state_dir: Path,
        ports: StackPorts = DEFAULT_PORTS,
        *,
        database_url: str | None = None,
        host: str = "127.0.0.1",
        with_scheduler: bool = True,
        score_every_s: int = 3600,
    ) -> None:
        self.state_dir = state_dir.resolve()
        self.ports = ports
        self.host = host
        self.database_url = database_url or f"sqlite:///{self.state_dir / 'dampwatch.db'}"
        self.settings_file = self.state_dir / SETTINGS_FILENAME
        self.stack_file = self.state_dir / "stack.json"
        self.mosquitto = Mosquitto(
            self.state_dir / "mosquitto",
            port=ports.mqtt,
            host=host,
            service_port=ports.mqtt_service or None,
        )
        self.influx = InfluxDB(self.state_dir / "influxdb", port=ports.influx, host=host)
        self.with_scheduler = with_scheduler
        self.score_every_s = score_every_s
        self.services: list[ManagedProcess] = []
        self._notify_port = ports.notify or free_port(host)
        self._secrets: dict[str, str] = {}
        #: (email, password) of the admin this start created, when the store had no user
        self.first_admin: tuple[str, str] | None = None

    # ------------------------------------------------------------------ config
    def _load_secrets(self) -> dict[str, str]:
        """The stack's generated passwords (kept across runs in ``secrets.json``)."""
        path = self.state_dir / "secrets.json"
        secrets: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        for user in (GATEWAY_USER, BACKEND_USER, INFLUX_ADMIN_KEY, INFLUX_SERVICE_KEY):
            secrets.setdefault(user, new_password())
        for key in NOTIFY_KEYS:  # Notify's ids and secrets are UUIDs
            secrets.setdefault(key, str(uuid.uuid4()))
        secrets.setdefault(TENANT_DATA_KEY, new_key())
        _write_private(path, json.dumps(secrets))
        return secrets

    def _write_settings(self) -> None:
        values = {
            "DATABASE_URL": self.database_url,
            "MQTT_HOST": self.mosquitto.service_host,
            "MQTT_PORT": self.mosquitto.service_port,
            "DEVICE_MQTT_HOST": self.host,
            "DEVICE_MQTT_PORT": self.ports.mqtt,
            "MQTT_USERNAME": GATEWAY_USER,
            "MQTT_PASSWORD": self._secrets[GATEWAY_USER],
            "MQTT_CLIENT_ID": "dampwatch-gateway-1",
            "INFLUX_URL": self.influx.url,
            "INFLUX_DATABASE": self.influx.database,
            "INFLUX_USERNAME": SERVICE_INFLUX_USER,
            "INFLUX_PASSWORD": self._secrets[INFLUX_SERVICE_KEY],
            "API_HOST": self.host,
            "API_PORT": self.ports.api,
            "GATEWAY_METRICS_PORT": self.ports.gateway_metrics,
            "BROKER_PASSWORD_FILE": self.mosquitto.password_file,
            "BROKER_PID_FILE": self.mosquitto.pid_file,
            "SCORE_EVERY_S": self.score_every_s,
            "NOTIFY_API_KEY": api_key_for(
                "dampwatch_local",
                self._secrets["notify-service-id"],
                self._secrets["notify-secret"],
            ),
            "NOTIFY_BASE_URL": self.notify_url,
            "NOTIFY_SMS_TEMPLATE_ID": self._secrets["notify-sms-template"],
            "NOTIFY_LETTER_TEMPLATE_ID": self._secrets["notify-letter-template"],
            "NOTIFY_EMAIL_TEMPLATE_ID": self._secrets["notify-email-template"],
            "NOTIFY_STATUS_TOKEN": self._secrets["notify-status-token"],
            "NOTIFY_INBOUND_TOKEN": self._secrets["notify-inbound-token"],
            "TENANT_DATA_KEYS": self._secrets[TENANT_DATA_KEY],
        }
        text = "".join(f"DAMPWATCH_{k}={v}\n" for k, v in values.items())
        _write_private(self.settings_file, text)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.ports.api}"

    @property
    def notify_url(self) -> str:
        return f"http://{self.host}:{self._notify_port}"

    def _write_notify_config(self) -> Path:
        """The stand-in Notify's config: our service, its templates, our callbacks."""
        path = self.state_dir / "notify-standin.json"
        config = {
            "service_id": self._secrets["notify-service-id"],
            "secret": self._secrets["notify-secret"],
            "templates": default_templates(
                [self._secrets[f"notify-{k}-template"] for k in ("sms", "letter", "email")]
            ),
            "status_callback_url": f"{self.api_url}/api/v1/callbacks/notify/status",
            "status_callback_token": self._secrets["notify-status-token"],
            "inbound_callback_url": f"{self.api_url}/api/v1/callbacks/notify/inbound",
            "inbound_callback_token": self._secrets["notify-inbound-token"],
            "auto_deliver": True,
        }
        _write_private(path, json.dumps(config, indent=2))
        return path

    @property
    def metrics_url(self) -> str:
        return f"http://{self.host}:{self.ports.gateway_metrics}/metrics"

    def endpoints(self) -> dict[str, object]:
        return {
            "mqtt": {"host": self.host, "port": self.ports.mqtt},
            "mqtt_service": {
                "host": self.mosquitto.service_host,
                "port": self.mosquitto.service_port,
            },
            "influxdb": {"url": self.influx.url, "database": self.influx.database},
            "api": {"url": self.api_url},
            "notify_standin": {"url": self.notify_url},
            "gateway_metrics": {"url": self.metrics_url},
            "settings_file": str(self.settings_file),
            "database_url": self.database_url
            if self.database_url.startswith("sqlite")
            else "(set)",
            "ports": asdict(self.ports),
        }

    # --------------------------------------------------------------- lifecycle
    def check_ports(self) -> None:
        for port, what in (
            (self.ports.mqtt, "Mosquitto"),
            (self.mosquitto.service_port, "Mosquitto's service listener"),
            (self.ports.influx, "InfluxDB"),
            (self.ports.api, "the API"),
            (self.ports.gateway_metrics, "gateway metrics"),
            (self._notify_port, "the stand-in Notify API"),
        ):
            require_free(port, what, self.host)

    def _service(self, name: str, *argv: str) -> ManagedProcess:
        proc = ManagedProcess(
            name,
            [sys.executable, "-m", "dampwatch.cli", *argv, "--settings", str(self.settings_file)],
            self.state_dir / "logs" / f"{name}.log",
        )
        proc.start()
        self.services.append(proc)
        return proc

    def start(self) -> None:
        """Start everything and wait until each part is healthy; on failure stop what
        was started and raise."""
        # closed to other users of the machine: databases, logs, secrets all live here
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.state_dir.chmod(0o700)
        self.check_ports()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        from backend.auth.bootstrap import ensure_first_admin
        from backend.registry import sync_broker_credentials

        self._secrets = self._load_secrets()
        self.influx.credentials = InfluxCredentials(
            admin_password=self._secrets[INFLUX_ADMIN_KEY],
            service_password=self._secrets[INFLUX_SERVICE_KEY],
        )
        self._write_settings()
        migrate(self.database_url)
        self.first_admin = ensure_first_admin(self.database_url, self.state_dir / "secrets.json")
        self.mosquitto.service_hashes.clear()
        for user in (GATEWAY_USER, BACKEND_USER):
            self.mosquitto.add_user(user, self._secrets[user])
        self.mosquitto.start()
        sessions = make_sessionmaker(make_engine(self.database_url))
        with sessions.begin() as session:
            sync_broker_credentials(session, self.mosquitto.password_file, self.mosquitto.pid_file)
        self.influx.start()

        gateway = self._service("gateway", "gateway")

        def gateway_connected() -> bool:
            gateway.check_alive()
            text = httpx.get(self.metrics_url, timeout=1).text
            return "dampwatch_gateway_broker_connected 1.0" in text

        wait_until(gateway_connected, 30, "the gateway")
        api = self._service("api", "api")

        def api_healthy() -> bool:
            api.check_alive()
            return httpx.get(f"{self.api_url}/healthz", timeout=1).status_code == 200

        wait_until(api_healthy, 30, f"the API on {self.api_url}")
        self._start_notify()
        if self.with_scheduler:
            self._service("scheduler", "scheduler")
        self.stack_file.write_text(json.dumps(self.endpoints(), indent=2) + "\n")

    def _start_notify(self) -> None:
        """The stand-in Notify API (what would have been sent: the dashboard's
        Messages page), and the dispatcher that sends tenants' messages to it."""
        config = self._write_notify_config()
        standin = ManagedProcess(
            "notify-standin",
            [
                sys.executable,
                "-m",
                "dampwatch.stack.notify_standin",
                str(config),
                "--host",
                self.host,
                "--port",
                str(self._notify_port),
            ],
            self.state_dir / "logs" / "notify-standin.log",
        )
        standin.start()
        self.services.append(standin)

        def standin_up() -> bool:
            standin.check_alive()
            # no token: the stand-in answers 401, which means it is listening
            return httpx.get(f"{self.notify_url}/v2/notifications", timeout=1).status_code == 401

        wait_until(standin_up, 30, f"the stand-in Notify API on {self.notify_url}")
        self._service("notify-dispatcher", "outbox", "dispatch", "--channel", "notify")

    def check_alive(self) -> None:
        """Raise if any part of the stack has exited."""
        self.mosquitto.process.check_alive()
        self.influx.process.check_alive()
        for service in self.services:
            service.check_alive()

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        self.influx.stop()
        self.mosquitto.stop()
        self.stack_file.unlink(missing_ok=True)
