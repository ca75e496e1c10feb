"""Relational side of ingest: quarantine records and device health, one transaction
per batch."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from dampwatch_core.models import Device, QuarantinedMessage
from gateway.ingest import HealthUpdate, Quarantined

__all__ = ["RegistryStore"]

log = logging.getLogger(__name__)


class RegistryStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def save(self, quarantined: Sequence[Quarantined], health: Mapping[str, HealthUpdate]) -> None:
        if not quarantined and not health:
            return
        with self._sessions.begin() as session:
            for q in quarantined:
                session.add(
                    QuarantinedMessage(
                        received_at=datetime.fromtimestamp(q.received_at, UTC),
                        topic=q.topic[:512],
                        device_id=q.device_id,
                        reason=q.reason,
                        detail=q.detail,
                        reading_index=q.reading_index,
                        payload=q.payload,
                    )
                )
            for device_id, h in health.items():
                values: dict[str, object] = {"last_seen": h.last_seen}
                for column, value in (
                    ("state", h.state),
                    ("fw", h.fw),
                    ("batt_mv", h.batt_mv),
                    ("rssi_dbm", h.rssi_dbm),
                    ("boot", h.boot),
                    ("reset_cause", h.reset),
                    ("last_seq", h.last_seq),
                ):
                    if value is not None:
                        values[column] = value
                session.execute(update(Device).where(Device.id == device_id).values(**values))
