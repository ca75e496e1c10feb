"""Broker authentication and authorisation files, in Mosquitto's formats.

The broker has two listeners, each with its own files (``per_listener_settings``):

- the **device listener**, which devices reach: a password file of device accounts only
  (the registry writes it) and an ACL in which every device may write only its own
  topics (``pattern write dampwatch/v1/dev/%u/telemetry``); its client id is forced to
  its username (``use_username_as_clientid``), so no device can use a service's client
  id to kick a service off or take over its persistent session;
- the **service listener**, on localhost only: the service accounts (``dampwatch-*``:
  gateway, backend) in their own password file, with their own ACL.

Passwords are PBKDF2-SHA512 hashes (Mosquitto 2's ``$7$`` format, as ``mosquitto_passwd``
writes it). After a file changes the broker is sent SIGHUP and rereads them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from dampwatch_core.contract import TOPIC_ROOT

__all__ = [
    "BACKEND_USER",
    "GATEWAY_USER",
    "RELAY_TOPIC_ROOT",
    "SERVICE_PREFIX",
    "device_acl_text",
    "hash_password",
    "is_service_account",
    "new_password",
    "relay_status_topic",
    "service_acl_text",
    "verify_password",
    "write_password_file",
]

#: Usernames of service accounts start with this; no device id may (the registry refuses).
SERVICE_PREFIX: Final = "dampwatch-"
GATEWAY_USER: Final = "dampwatch-gateway"
BACKEND_USER: Final = "dampwatch-backend"
#: Relays' own topics (their status); telemetry they relay goes on the device's topic.
RELAY_TOPIC_ROOT: Final = "dampwatch/v1/relay"
_ITERATIONS: Final = 101  # mosquitto_passwd's default
_SALT_BYTES: Final = 12


def new_password() -> str:
    """A fresh random password (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def hash_password(
    password: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS
) -> str:
    """Hash ``password`` as Mosquitto 2 does: ``$7$iterations$salt_b64$hash_b64``."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    """True when ``password`` matches a ``$7$`` hash."""
    try:
        _, kind, iterations, salt_b64, digest_b64 = hashed.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    salt = base64.b64decode(salt_b64)
    expected = hash_password(password, salt=salt, iterations=int(iterations))
    return hmac.compare_digest(expected.split("$")[-1], digest_b64)


def write_password_file(path: Path, hashes: Mapping[str, str]) -> None:
    """Atomically write ``username:hash`` lines (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    lines = "".join(f"{user}:{hashed}\n" for user, hashed in sorted(hashes.items()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(lines)
    tmp.replace(path)


def is_service_account(username: str) -> bool:
    """True for a service's account (gateway, backend), which belongs on the service
    listener and never on the device listener."""
    return username.startswith(SERVICE_PREFIX)


def service_acl_text() -> str:
    """The service listener's ACL: each service reads what it consumes."""
    return (
        "# DampWatch broker ACL, service listener (generated; contract v1)\n"
        f"user {GATEWAY_USER}\n"
        f"topic read {TOPIC_ROOT}/+/telemetry\n"
        f"topic read {TOPIC_ROOT}/+/status\n"
        f"\nuser {BACKEND_USER}\n"
        f"topic read {TOPIC_ROOT}/+/status\n"
        f"topic read {RELAY_TOPIC_ROOT}/+/status\n"
        f"topic readwrite {TOPIC_ROOT}/+/config\n"
    )


def relay_status_topic(relay_id: str) -> str:
    """Where a relay publishes its own retained status."""
    return f"{RELAY_TOPIC_ROOT}/{relay_id}/status"


def device_acl_text(relays: Mapping[str, Iterable[str]] | None = None) -> str:
    """The device listener's ACL: a device writes only its own telemetry and status and
    reads only its own config; a relay (``relays``: relay id -> the ids of the devices
    registered to it) writes only those devices' telemetry and its own status.

    Relay ids and device ids share one namespace in the registry, so the per-user
    section never widens what the ``pattern`` lines give a device."""
    lines = [
        "# DampWatch broker ACL, device listener (generated; contract v1)",
        "# every device: only its own topics (%u is the MQTT username = device_id)",
        f"pattern write {TOPIC_ROOT}/%u/telemetry",
        f"pattern readwrite {TOPIC_ROOT}/%u/status",
        f"pattern read {TOPIC_ROOT}/%u/config",
    ]
    for relay_id, devices in sorted((relays or {}).items()):
        lines += ["", f"# relay {relay_id}: its own status, its devices' telemetry"]
        lines.append(f"user {relay_id}")
        lines.append(f"topic readwrite {relay_status_topic(relay_id)}")
        lines += [f"topic write {TOPIC_ROOT}/{d}/telemetry" for d in sorted(set(devices))]
    return "\n".join(lines) + "\n"
