"""Settings every DampWatch service reads: environment variables ``DAMPWATCH_*`` or a
settings file (``KEY=value`` lines) named by ``DAMPWATCH_SETTINGS_FILE``.

Secrets (MQTT passwords) have no default. ``dampwatch up`` writes a settings file for
the stack it starts, so each service can also be run on its own against it.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from dampwatch_core.contract import DEFAULT_MAX_AGE_S

__all__ = ["Settings", "default_state_dir", "load_settings"]


def default_state_dir() -> Path:
    """Where the local stack keeps its state unless told otherwise."""
    return Path(user_data_dir("dampwatch", appauthor=False))


class Settings(BaseSettings):
    """Validated configuration; construct with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="DAMPWATCH_", extra="ignore")

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{default_state_dir() / 'dampwatch.db'}",
        description="SQLAlchemy URL of the relational store (SQLite file or PostgreSQL)",
    )
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
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


def load_settings(settings_file: str | Path | None = None) -> Settings:
    """Read settings from the environment and an optional ``KEY=value`` file.

    The file is ``settings_file`` or ``$DAMPWATCH_SETTINGS_FILE``; environment
    variables win over it.
    """
    path = settings_file or os.environ.get("DAMPWATCH_SETTINGS_FILE")
    if path is not None:
        return Settings(_env_file=str(path))
    return Settings()
