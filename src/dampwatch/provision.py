"""Registering simulated devices (a quick fleet, or a simulated estate) in the registry
with broker credentials that survive restarts.

Passwords are shown once when a device is added (only their hash is stored), so the
simulator keeps them in a credential file (mode 0600) and reuses them on later runs; a
device registered before whose password is lost is decommissioned and added again
with a new one. Lives in the CLI layer because it joins the registry (backend) and the
simulators.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.orm import Session

from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch_core.const import OUTDOOR_ROOM
from dampwatch_core.models import Device, utcnow
from simulators.estate import EstateData

__all__ = [
    "issue_credentials",
    "outdoor_device_id",
    "provision_estate",
    "read_credentials",
    "site_id",
    "write_credentials",
]


def site_id(block_code: str) -> str:
    """The registry entry that stands for a block's site (its outdoor sensor)."""
    return f"{block_code}-SITE"


def outdoor_device_id(block_code: str) -> str:
    return "esp32-0d" + hashlib.sha256(block_code.encode()).hexdigest()[:10]


def read_credentials(cred_file: Path) -> dict[str, str]:
    """Device id -> password, as kept by :func:`write_credentials` (empty if none)."""
    return json.loads(cred_file.read_text()) if cred_file.exists() else {}


def write_credentials(cred_file: Path, creds: dict[str, str]) -> None:
    cred_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(cred_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh)


def issue_credentials(
    session: Session, wanted: Iterable[tuple[str, str, str]], known: dict[str, str]
) -> tuple[dict[str, str], bool]:
    """A password for each ``(device, flat, room)`` of ``wanted`` (the flats exist):
    the ``known`` one for a commissioned device, else a new registration. Returns
    device -> password and whether any device was (re-)registered."""
    creds: dict[str, str] = {}
    changed = False
    for device_id, flat_id, room in wanted:
        existing = session.get(Device, device_id)
        commissioned = existing is not None and existing.decommissioned_at is None
        if commissioned and device_id in known:
            creds[device_id] = known[device_id]
            continue
        if existing is not None and commissioned:
            existing.decommissioned_at = utcnow()  # password lost: issue a new one
            session.flush()
        _, creds[device_id] = add_device(session, device_id, flat_id, room)
        changed = True
    session.flush()
    return creds, changed


def provision_estate(
    session: Session,
    estate: EstateData,
    cred_file: Path,
    *,
    password_file: Path | None,
    pid_file: Path | None,
) -> dict[str, str]:
    """Flats, one site per block with an outdoor sensor, and every device; returns
    device id -> password (kept in ``cred_file``, mode 0600, reused on later runs)."""
    known = read_credentials(cred_file)
    landlord = estate.spec.landlord
    for flat in estate.flats:
        add_flat(
            session,
            flat.flat_id,
            flat.address,
            block=flat.block,
            floor=flat.floor,
            landlord=landlord,
        )
    for block in estate.spec.blocks:
        add_flat(
            session,
            site_id(block.code),
            f"{block.name} (site)",
            block=block.name,
            landlord=landlord,
        )
    session.flush()
    wanted = [(d.device_id, d.flat_id, d.room) for d in estate.devices]
    wanted += [
        (outdoor_device_id(b.code), site_id(b.code), OUTDOOR_ROOM) for b in estate.spec.blocks
    ]
    creds, _ = issue_credentials(session, wanted, known)
    if password_file is not None:
        sync_broker_credentials(session, password_file, pid_file)
    write_credentials(cred_file, {**known, **creds})
    return creds
