"""Registering a simulated estate in the registry, so its devices can publish."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from sqlalchemy.orm import Session

from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch_core.models import Device, utcnow
from simulators.estate import EstateData

__all__ = ["OUTDOOR_ROOM", "provision_estate", "site_id"]

OUTDOOR_ROOM = "outdoor"


def site_id(block_code: str) -> str:
    """The registry entry that stands for a block's site (its outdoor sensor)."""
    return f"{block_code}-SITE"


def outdoor_device_id(block_code: str) -> str:
    return "esp32-0d" + hashlib.sha256(block_code.encode()).hexdigest()[:10]


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
    known: dict[str, str] = json.loads(cred_file.read_text()) if cred_file.exists() else {}
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
    creds: dict[str, str] = {}
    for device_id, flat_id, room in wanted:
        existing = session.get(Device, device_id)
        if existing is not None and existing.decommissioned_at is None and device_id in known:
            creds[device_id] = known[device_id]
            continue
        if existing is not None and existing.decommissioned_at is None:
            existing.decommissioned_at = utcnow()  # password lost: issue a new one
            session.flush()
        _, password = add_device(session, device_id, flat_id, room)
        creds[device_id] = password
    session.flush()
    if password_file is not None:
        sync_broker_credentials(session, password_file, pid_file)
    cred_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(cred_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({**known, **creds}, fh)
    return creds
