"""The flat and device registry: flats (CSV import), devices and their broker
credentials. The broker's password file is kept in step with the registry."""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dampwatch_core.contract import is_valid_device_id
from dampwatch_core.errors import NotFoundError, ValidationError
from dampwatch_core.models import Device, Flat, utcnow
from dampwatch_core.mqtt_auth import hash_password, new_password, write_password_file
from dampwatch_core.parsing import csv_rows

__all__ = [
    "FLAT_CSV_COLUMNS",
    "ROOM_RE",
    "FlatImportReport",
    "add_device",
    "add_flat",
    "decommission_device",
    "import_flats_csv",
    "list_devices",
    "sync_broker_credentials",
]

log = logging.getLogger(__name__)

FLAT_CSV_COLUMNS = ("flat_id", "address", "block", "postcode", "floor", "landlord")
FLAT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ROOM_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
RESERVED_PREFIX = "dampwatch-"


def _check_flat_id(flat_id: str) -> str:
    if not FLAT_ID_RE.fullmatch(flat_id):
        raise ValidationError(f"flat id {flat_id!r} must be 1–64 letters, digits, '.', '_' or '-'")
    return flat_id


#: Characters no tag value may hold (line protocol has no escape for a line break; the
#: rest of C0 and DEL are refused with them so a free-text tag stays plain text).
_TAG_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _check_tag_text(name: str, value: str) -> str:
    """``value`` for a free-text field that becomes an InfluxDB tag (the landlord)."""
    bad = _TAG_CONTROL_RE.search(value)
    if bad is not None:
        what = (
            "a line break"
            if bad.group() in "\r\n"
            else f"control character U+{ord(bad.group()):04X}"
        )
        raise ValidationError(f"{name} {value!r} contains {what}; it is an InfluxDB tag")
    return value


def add_flat(
    session: Session,
    flat_id: str,
    address: str,
    *,
    block: str | None = None,
    postcode: str | None = None,
    floor: int | None = None,
    landlord: str = "default",
) -> Flat:
    """Create or update a flat."""
    _check_flat_id(flat_id)
    if not address.strip():
        raise ValidationError("address is required")
    landlord = _check_tag_text("landlord", landlord or "default")
    flat = session.get(Flat, flat_id)
    if flat is None:
        flat = Flat(id=flat_id)
        session.add(flat)
    flat.address = address.strip()
    flat.block = block or None
    flat.postcode = postcode or None
    flat.floor = floor
    flat.landlord = landlord
    return flat


@dataclass
class FlatImportReport:
    added: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def import_flats_csv(
    session: Session, path: Path, *, landlord: str = "default"
) -> FlatImportReport:
    """Import flats from a CSV with a header row (``flat_id,address`` required;
    ``block,postcode,floor,landlord`` optional). A bad row is reported with the line
    number it starts on (a quoted field may span lines) and the rest are imported."""
    report = FlatImportReport()
    seen: set[str] = set()
    for line, row in csv_rows(path, ("flat_id", "address")):
        try:
            flat_id = (row.get("flat_id") or "").strip()
            if not flat_id:
                raise ValidationError("flat_id is empty")
            if flat_id in seen:
                raise ValidationError(f"flat_id {flat_id!r} appears twice in the file")
            if None in row:
                raise ValidationError("row has more fields than the header")
            floor_text = (row.get("floor") or "").strip()
            try:
                floor = int(floor_text) if floor_text else None
            except ValueError:
                raise ValidationError(f"floor {floor_text!r} is not a whole number") from None
            existed = session.get(Flat, flat_id) is not None
            add_flat(
                session,
                flat_id,
                row.get("address") or "",
                block=(row.get("block") or "").strip() or None,
                postcode=(row.get("postcode") or "").strip() or None,
                floor=floor,
                landlord=(row.get("landlord") or "").strip() or landlord,
            )
            seen.add(flat_id)
            if existed:
                report.updated += 1
            else:
                report.added += 1
        except ValidationError as exc:
            report.errors.append((line, str(exc)))
    return report


def add_device(session: Session, device_id: str, flat_id: str, room: str) -> tuple[Device, str]:
    """Register a device in a flat's room and create its broker credential.

    Returns the device and its password (shown once; only its hash is stored).
    """
    if not is_valid_device_id(device_id):
        raise ValidationError(
            f"device id {device_id!r} must be 3–64 lowercase letters, digits or '-', "
            "starting with a letter or digit"
        )
    if device_id.startswith(RESERVED_PREFIX):
        raise ValidationError(f"device ids starting {RESERVED_PREFIX!r} are reserved for services")
    if not ROOM_RE.fullmatch(room):
        raise ValidationError(f"room {room!r} must be lowercase, e.g. 'bedroom' or 'living_room'")
    flat = session.get(Flat, flat_id)
    if flat is None:
        raise NotFoundError(
            f"flat {flat_id!r} does not exist (import it with 'dampwatch flats import')"
        )
    device = session.get(Device, device_id)
    if device is not None and device.decommissioned_at is None:
        raise ValidationError(f"device {device_id!r} is already registered (flat {device.flat_id})")
    password = new_password()
    if device is None:
        device = Device(id=device_id)
        session.add(device)
    device.flat_id = flat_id
    device.room = room
    device.password_hash = hash_password(password)
    device.decommissioned_at = None
    return device, password


def decommission_device(session: Session, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFoundError(f"device {device_id!r} does not exist")
    device.decommissioned_at = utcnow()
    return device


def list_devices(
    session: Session, flat_id: str | None = None, landlord: str | None = None
) -> list[Device]:
    query = select(Device).order_by(Device.flat_id, Device.room, Device.id)
    if flat_id is not None:
        query = query.where(Device.flat_id == flat_id)
    if landlord is not None:
        query = query.join(Flat, Flat.id == Device.flat_id).where(Flat.landlord == landlord)
    return list(session.scalars(query))


def _read_password_file(path: Path) -> Iterator[tuple[str, str]]:
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        if ":" in line:
            user, hashed = line.split(":", 1)
            yield user, hashed


def sync_broker_credentials(
    session: Session, password_file: Path, pid_file: Path | None = None
) -> int:
    """Rewrite the broker's password file from the registry (service accounts, named
    ``dampwatch-*``, are kept) and SIGHUP the broker. Returns the device count."""
    hashes = {u: h for u, h in _read_password_file(password_file) if u.startswith(RESERVED_PREFIX)}
    active = session.scalars(select(Device).where(Device.decommissioned_at.is_(None)))
    count = 0
    for device in active:
        hashes[device.id] = device.password_hash
        count += 1
    write_password_file(password_file, hashes)
    if pid_file is not None and pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
        except (ValueError, ProcessLookupError, PermissionError) as exc:
            log.warning("could not signal the broker (pid file %s): %s", pid_file, exc)
    return count
