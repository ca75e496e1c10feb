"""Settings every DampWatch service reads: environment variables ``DAMPWATCH_*`` or a
settings file (``KEY=value`` lines) named by ``DAMPWATCH_SETTINGS_FILE``.

Secrets (MQTT passwords) have no default. ``dampwatch up`` writes a settings file for
the stack it starts, so each service can also be run on its own against it.

A ``DAMPWATCH_`` variable or a settings-file key that names no setting is an error
naming it (with the nearest real name), never silently ignored: a misspelt
``DAMPWATCH_DATABSE_URL`` would otherwise run against the default database.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from dampwatch_core.contract import DEFAULT_MAX_AGE_S
from dampwatch_core.errors import ConfigError

__all__ = [
    "ENV_PREFIX",
    "OTHER_ENV_NAMES",
    "Settings",
    "check_environment",
    "default_state_dir",
    "device_broker",
    "load_settings",
]

ENV_PREFIX = "DAMPWATCH_"

#: ``DAMPWATCH_`` variables that are read elsewhere than :class:`Settings`.
OTHER_ENV_NAMES = frozenset(
    {
        "DAMPWATCH_SETTINGS_FILE",  # names the settings file (this module)
        "DAMPWATCH_GATEWAY_SUBSCRIPTION",  # shared or exclusive (gateway.service)
        "DAMPWATCH_TEST_PG_URL",  # the tests' PostgreSQL (tests/conftest.py)
    }
)


def default_state_dir() -> Path:
    """Where the local stack keeps its state unless told otherwise."""
    return Path(user_data_dir("dampwatch", appauthor=False))


class Settings(BaseSettings):
    """Validated configuration; construct with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{default_state_dir() / 'dampwatch.db'}",
        description="SQLAlchemy URL of the relational store (SQLite file or PostgreSQL)",
    )
    #: The broker as services (gateway, backend) reach it: its service listener.
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    #: The broker as devices reach it (its device listener), for provisioning and the
    #: simulators; default: ``mqtt_host`` and ``mqtt_port``.
    device_mqtt_host: str | None = None
    device_mqtt_port: int | None = Field(default=None, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_tls_ca: Path | None = None
    mqtt_client_id: str = "dampwatch-gateway-1"
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "dampwatch"
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)
    gateway_metrics_port: int = Field(default=9108, ge=0, le=65535)
    #: Readings older than this (seconds) are quarantined as stale.
    max_reading_age_s: int = Field(default=DEFAULT_MAX_AGE_S, gt=0)
    #: Mosquitto password file the registry keeps in step with device credentials.
    broker_password_file: Path | None = None
    #: The device listener's ACL, regenerated when relays or their devices change.
    broker_acl_file: Path | None = None
    #: PID file of the broker to SIGHUP after credentials change.
    broker_pid_file: Path | None = None
    landlord: str = "default"
    #: How often the scheduler scores every flat (seconds).
    score_every_s: int = Field(default=3600, ge=10)
    # --- access (docs/access.md)
    #: Host names the API and dashboard answer to, comma-separated (TrustedHost).
    allowed_hosts: str = "127.0.0.1,localhost"
    #: A dashboard session ends after this long without a request (minutes) ...
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    #: ... and this long after sign-in, whatever the activity (hours).
    session_max_hours: int = Field(default=12, ge=1, le=24 * 7)
    #: Session cookie ``Secure``: None = when the request came over HTTPS.
    session_cookie_secure: bool | None = None
    #: Failed sign-ins for one email within the lockout time that lock it ...
    signin_max_failures: int = Field(default=5, ge=1, le=100)
    #: ... for this long (minutes).
    signin_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # --- cases (docs/cases.md)
    #: A Teams/Slack-style incoming webhook for officers' notices (new high-risk cases,
    #: deadlines due within 24 h); unset: no notices are queued. It holds a token.
    officer_webhook_url: SecretStr | None = None
    # --- tenants (docs/tenants.md)
    #: Fernet keys for tenants' phone numbers, emails and postal addresses, comma-
    #: separated: the first encrypts, every one decrypts (rotation: put a new key first,
    #: run ``dampwatch tenants rotate-keys``, then drop the old one). No default.
    tenant_data_keys: SecretStr | None = None
    # --- messages to tenants through GOV.UK Notify (docs/messages.md)
    #: Notify's API key (``name-serviceid-secret``); none: nothing is sent.
    notify_api_key: SecretStr | None = None
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    #: Notify template ids of the ``((body))`` templates texts, letters, emails go through.
    notify_sms_template_id: str | None = None
    notify_letter_template_id: str | None = None
    notify_email_template_id: str | None = None
    #: Bearer tokens Notify sends with delivery receipts and with received texts.
    notify_status_token: SecretStr | None = None
    notify_inbound_token: SecretStr | None = None
    #: The landlord's own details the templates give tenants.
    landlord_name: str = "Your landlord"
    tenant_report_phone: str = "(set DAMPWATCH_TENANT_REPORT_PHONE)"
    tenant_report_web: str = "(set DAMPWATCH_TENANT_REPORT_WEB)"
    tenant_advice_line: str = "(set DAMPWATCH_TENANT_ADVICE_LINE)"


def device_broker(settings: Settings) -> tuple[str, int]:
    """(host, port) of the broker's device listener."""
    return (
        settings.device_mqtt_host or settings.mqtt_host,
        settings.device_mqtt_port or settings.mqtt_port,
    )


def setting_names() -> frozenset[str]:
    """Every ``DAMPWATCH_*`` name a setting answers to."""
    return frozenset(ENV_PREFIX + name.upper() for name in Settings.model_fields)


def _unknown(name: str, where: str) -> ConfigError:
    known = sorted(setting_names() | OTHER_ENV_NAMES)
    # compared without the prefix every name shares
    tails = {k.removeprefix(ENV_PREFIX): k for k in known}
    close = difflib.get_close_matches(name.upper().removeprefix(ENV_PREFIX), tails, 1, 0.7)
    hint = f" (did you mean {tails[close[0]]}?)" if close else f" (settings: {', '.join(known)})"
    return ConfigError(f"{where} {name} is not a DampWatch setting{hint}")


def _read_settings_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines (``#`` comments, blank lines, optional quotes); every key
    must name a setting."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"settings file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"settings file {path} cannot be read: {exc.strerror}") from None
    values: dict[str, str] = {}
    names = setting_names()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            raise ConfigError(f"settings file {path}:{number}: expected KEY=value")
        if key.upper() not in names:
            raise _unknown(key, f"settings file {path}:{number}:")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.upper()] = value
    return values


def check_environment(environ: Mapping[str, str]) -> None:
    """Raise :class:`ConfigError` for a ``DAMPWATCH_*`` variable that names nothing."""
    names = setting_names() | OTHER_ENV_NAMES
    for key in sorted(environ):
        if key.upper().startswith(ENV_PREFIX) and key.upper() not in names:
            raise _unknown(key, "environment variable")


def load_settings(
    settings_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read settings from the environment and an optional ``KEY=value`` file.

    The file is ``settings_file`` or ``$DAMPWATCH_SETTINGS_FILE``; environment
    variables win over it. An unknown ``DAMPWATCH_*`` name or file key, or an invalid
    value, raises :class:`ConfigError` naming it.
    """
    env = os.environ if environ is None else environ
    check_environment(env)
    path = settings_file or env.get("DAMPWATCH_SETTINGS_FILE")
    values = _read_settings_file(Path(path)) if path is not None else {}
    for key in setting_names():
        if key in env:
            values[key] = env[key]
    fields: dict[str, Any] = {
        key.removeprefix(ENV_PREFIX).lower(): value for key, value in values.items()
    }
    try:
        # the environment's values are among ``fields`` already; no dotenv file is read
        return Settings(_env_file=None, **fields)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        name = ENV_PREFIX + ".".join(str(p) for p in first["loc"]).upper()
        value = values.get(name)
        secret = "PASSWORD" in name or "KEY" in name
        shown = "" if value is None or secret else f" {value!r}"
        raise ConfigError(f"setting {name}{shown}: {first['msg']}") from None
