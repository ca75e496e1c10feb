"""Device directory: ``device_id`` -> flat, room, landlord, from the registry.

Held in memory and reloaded whole every ``refresh_s``, so the hot path never queries
the database per message. A device the cache does not know is looked up on its own
(one indexed query) unless a lookup made after the message arrived already said it is
unknown: a device registered a moment before its first upload is never quarantined
for a stale cache, and a flood from one unknown device costs one query per batch, not
per message. Moves and decommissioning are seen at the next reload (≤ ``refresh_s``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dampwatch_core.models import Device, Flat

__all__ = ["DeviceDirectory", "DeviceInfo"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device_id: str
    flat_id: str
    room: str
    landlord: str
    active: bool


class DeviceDirectory:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        refresh_s: float = 30.0,
    ) -> None:
        self._sessions = sessions
        self._refresh_s = refresh_s
        self._devices: dict[str, DeviceInfo] = {}
        #: device id -> wall time of the lookup that found it unregistered
        self._unknown: dict[str, float] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def _query(self, device_id: str | None = None) -> dict[str, DeviceInfo]:
        stmt = select(
            Device.id, Device.flat_id, Device.room, Flat.landlord, Device.decommissioned_at
        ).join(Flat, Flat.id == Device.flat_id)
        if device_id is not None:
            stmt = stmt.where(Device.id == device_id)
        with self._sessions() as session:
            rows = session.execute(stmt).all()
        return {r[0]: DeviceInfo(r[0], r[1], r[2], r[3], r[4] is None) for r in rows}

    def refresh(self) -> int:
        devices = self._query()
        with self._lock:
            self._devices = devices
            self._unknown = {}
            self._loaded_at = time.monotonic()
        log.debug("device directory holds %d devices", len(devices))
        return len(devices)

    def lookup(self, device_id: str, received_at: float | None = None) -> DeviceInfo | None:
        """The device as the registry had it when (or after) the message was received."""
        if time.monotonic() - self._loaded_at > self._refresh_s:
            try:
                self.refresh()
            except Exception:
                log.exception("device directory refresh failed; using the cached copy")
        info = self._devices.get(device_id)
        if info is not None:
            return info
        received_at = time.time() if received_at is None else received_at
        if self._unknown.get(device_id, float("-inf")) >= received_at:
            return None  # a lookup made after this message arrived found nothing
        asked_at = time.time()
        found = self._query(device_id)  # a database error propagates: the caller retries
        with self._lock:
            if found:
                self._devices = {**self._devices, **found}
            else:
                self._unknown[device_id] = asked_at
        return found.get(device_id)

    def __len__(self) -> int:
        return len(self._devices)
