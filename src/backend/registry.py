"""The flat and device registry: flats (CSV import), devices and their broker
credentials. The broker's password file is kept in step with the registry."""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dampwatch_core.contract import is_valid_device_id
from dampwatch_core.errors import NotFoundError, ValidationError
from dampwatch_core.models import Device, Flat, Relay, utcnow
from dampwatch_core.mqtt_auth import (
    device_acl_text,
    hash_password,
    new_password,
    write_password_file,
)
from dampwatch_core.parsing import csv_rows

__all__ = [
    "FLAT_CSV_COLUMNS",
    "ROOM_RE",
    "UPLINKS",
    "FlatImportReport",
    "add_device",
    "add_flat",
    "add_relay",
    "decommission_device",
    "import_flats_csv",
    "list_devices",
    "list_relays",
    "relay_devices",
    "sync_broker_credentials",
    "write_device_acl",
]

log = logging.getLogger(__name__)

FLAT_CSV_COLUMNS = ("flat_id", "address", "block", "postcode", "floor", "landlord")
FLAT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ROOM_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
RESERVED_PREFIX = "dampwatch-"
UPLINKS = ("wifi", "espnow")


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


def _check_account_id(account_id: str, what: str) -> None:
    if not is_valid_device_id(account_id):
        raise ValidationError(
            f"{what} id {account_id!r} must be 3–64 lowercase letters, digits or '-', "
            "starting with a letter or digit"
        )
    if account_id.startswith(RESERVED_PREFIX):
        raise ValidationError(f"ids starting {RESERVED_PREFIX!r} are reserved for services")


def add_relay(session: Session, relay_id: str, block: str) -> tuple[Relay, str]:
    """Register a block relay and create its broker credential (password shown once).
    Relay ids and device ids are one namespace: both are MQTT usernames on the device
    listener, and the ACL's per-device patterns must never match a relay."""
    _check_account_id(relay_id, "relay")
    block = _check_tag_text("block", block.strip())
    if not block:
        raise ValidationError("block is required")
    if session.get(Device, relay_id) is not None:
        raise ValidationError(f"{relay_id!r} is a device's id")
    if session.get(Relay, relay_id) is not None:
        raise ValidationError(f"relay {relay_id!r} is already registered")
    password = new_password()
    relay = Relay(id=relay_id, block=block, password_hash=hash_password(password))
    session.add(relay)
    return relay, password


def list_relays(session: Session) -> list[Relay]:
    return list(session.scalars(select(Relay).order_by(Relay.id)))


def relay_devices(session: Session) -> dict[str, list[str]]:
    """Relay id -> the commissioned devices registered to it (every active relay)."""
    out: dict[str, list[str]] = {
        r.id: [] for r in session.scalars(select(Relay).where(Relay.decommissioned_at.is_(None)))
    }
    query = select(Device).where(Device.decommissioned_at.is_(None), Device.relay_id.is_not(None))
    for device in session.scalars(query.order_by(Device.id)):
        if device.relay_id in out:
            out[device.relay_id].append(device.id)
    return out


def write_device_acl(session: Session, acl_file: Path) -> None:
    """Regenerate the device listener's ACL from the registry (relays and their devices)."""
    acl_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = acl_file.with_suffix(".tmp")
    tmp.write_text(device_acl_text(relay_devices(session)))
    tmp.replace(acl_file)


def add_device(
    session: Session,
    device_id: str,
    flat_id: str,
    room: str,
    *,
    uplink: str = "wifi",
    relay_id: str | None = None,
) -> tuple[Device, str]:
    """Register a device in a flat's room and create its credential: for ``wifi`` its
    MQTT password, for ``espnow`` its frame key (hex) and its relay.

    Returns the device and the secret (shown once; a password is stored hashed, a frame
    key as it is, since the relay needs it).
    """
    if uplink not in UPLINKS:
        raise ValidationError(f"uplink {uplink!r} must be one of {', '.join(UPLINKS)}")
    if (uplink == "espnow") != (relay_id is not None):
        raise ValidationError("an espnow device needs --relay, and only an espnow device")
    if relay_id is not None:
        relay = session.get(Relay, relay_id)
        if relay is None or relay.decommissioned_at is not None:
            raise NotFoundError(f"relay {relay_id!r} does not exist (dampwatch relays add)")
    if session.get(Relay, device_id) is not None:
        raise ValidationError(f"{device_id!r} is a relay's id")
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
    device.uplink = uplink
    device.relay_id = relay_id
    device.espnow_key = None
    if uplink == "espnow":
        # no MQTT login of its own: the password is never shown and matches nothing
        device.password_hash = "!espnow"  # noqa: S105 (no hash matches it)
        password = device.espnow_key = secrets.token_hex(32)
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
    session: Session,
    password_file: Path,
    pid_file: Path | None = None,
    acl_file: Path | None = None,
) -> int:
    """Rewrite the broker's password file from the registry (service accounts, named
    ``dampwatch-*``, are kept; relays are added), the device listener's ACL when
    ``acl_file`` is given, and SIGHUP the broker. Returns the device count."""
    if acl_file is not None:
        write_device_acl(session, acl_file)
    hashes = {u: h for u, h in _read_password_file(password_file) if u.startswith(RESERVED_PREFIX)}
    active = session.scalars(select(Device).where(Device.decommissioned_at.is_(None)))
    count = 0
    for device in active:
        if device.uplink != "espnow":
            hashes[device.id] = device.password_hash
        count += 1
    for relay in session.scalars(select(Relay).where(Relay.decommissioned_at.is_(None))):
        hashes[relay.id] = relay.password_hash
    write_password_file(password_file, hashes)
    if pid_file is not None and pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
        except (ValueError, ProcessLookupError, PermissionError) as exc:
            log.warning("could not signal the broker (pid file %s): %s", pid_file, exc)
    return count
