"""Device directory: ``device_id`` -> flat, room, landlord, from the registry.

Held in memory and refreshed in the background (and at most every ``min_refresh_s``
on a miss), so the hot path never queries the database per message.
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
        min_refresh_s: float = 2.0,
    ) -> None:
        self._sessions = sessions
        self._refresh_s = refresh_s
        self._min_refresh_s = min_refresh_s
        self._devices: dict[str, DeviceInfo] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def refresh(self) -> int:
        with self._sessions() as session:
            rows = session.execute(
                select(
                    Device.id, Device.flat_id, Device.room, Flat.landlord, Device.decommissioned_at
                ).join(Flat, Flat.id == Device.flat_id)
            ).all()
        devices = {r[0]: DeviceInfo(r[0], r[1], r[2], r[3], r[4] is None) for r in rows}
        with self._lock:
            self._devices = devices
            self._loaded_at = time.monotonic()
        log.debug("device directory holds %d devices", len(devices))
        return len(devices)

    def lookup(self, device_id: str) -> DeviceInfo | None:
        """The device, refreshing first if the cache is old or (rate-limited) on a miss."""
        age = time.monotonic() - self._loaded_at
        info = self._devices.get(device_id)
        if age > self._refresh_s or (info is None and age > self._min_refresh_s):
            try:
                self.refresh()
            except Exception:
                log.exception("device directory refresh failed; using the cached copy")
            info = self._devices.get(device_id)
        return info

    def __len__(self) -> int:
        return len(self._devices)
