"""Relational side of ingest: quarantine records and device health, one transaction
per batch.

What can heal is retried by the caller: :func:`is_transient` says which errors those are
(connection lost, database locked, server shutting down). Anything else is about the
data of some message: the batch is then saved message by message, and a message whose
records cannot be stored is quarantined as ``unstorable`` with the error instead, so one
message never stops the stream. If even that record cannot be stored, the store itself
is broken and the error goes to the caller to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import exc as sa_exc
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from dampwatch_core.models import Device
from dampwatch_core.quarantine import (
    MAX_PER_DEVICE,
    QuarantineEntry,
    QuarantineRecord,
    safe_text,
    save_quarantine,
)
from gateway.ingest import HEALTH_FIELDS, HealthUpdate, Outcome

__all__ = ["RegistryStore", "SaveResult", "is_transient"]

log = logging.getLogger(__name__)

#: Health fields whose column has another name.
_COLUMNS = {"reset": "reset_cause"}


def is_transient(exc: BaseException) -> bool:
    """True when retrying can help: the store is unreachable or busy, not the data."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError,
    )


def error_text(exc: BaseException) -> str:
    """The error without SQL or bound parameters (which may hold what broke it)."""
    orig = getattr(exc, "orig", None)
    inner = orig if isinstance(orig, BaseException) else exc
    first = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return safe_text(f"{type(inner).__name__}: {first}", 500)


class SaveResult:
    """What a save did: records shed by the cap, messages turned ``unstorable``."""

    def __init__(self) -> None:
        self.shed = 0
        self.unstorable: list[Outcome] = []


class RegistryStore:
    def __init__(
        self, sessions: sessionmaker[Session], *, quarantine_cap: int = MAX_PER_DEVICE
    ) -> None:
        self._sessions = sessions
        self.quarantine_cap = quarantine_cap

    def save(self, outcomes: Sequence[Outcome]) -> SaveResult:
        """Save every outcome's quarantine records and health. Raises only what
        :func:`is_transient` accepts, or when the store cannot take even an
        ``unstorable`` record."""
        result = SaveResult()
        todo = [o for o in outcomes if o.quarantined or o.health is not None]
        if not todo:
            return result
        try:
            with self._sessions.begin() as session:
                result.shed = self._save(session, todo)
            return result
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("saving a batch failed (%s); saving its messages one by one", exc)
        for outcome in todo:
            try:
                with self._sessions.begin() as session:
                    result.shed += self._save(session, [outcome])
            except Exception as exc:
                if is_transient(exc):
                    raise
                detail = f"the registry refused this message's records: {error_text(exc)}"
                log.error("message on %s is unstorable: %s", outcome.msg.topic, detail)
                unstorable = Outcome(outcome.msg, outcome.device_id)
                unstorable.quarantine("unstorable", detail)
                with self._sessions.begin() as session:  # errors here: the store is broken
                    result.shed += self._save(session, [unstorable])
                result.unstorable.append(outcome)
        return result

    def _save(self, session: Session, outcomes: Sequence[Outcome]) -> int:
        entries = [
            QuarantineEntry(
                topic=o.msg.topic,
                device_id=o.device_id,
                received_at=o.msg.received_at,
                payload=o.msg.payload,
                size=o.msg.size if o.msg.size >= 0 else len(o.msg.payload),
                records=[
                    QuarantineRecord(q.reason, q.detail, q.reading_index) for q in o.quarantined
                ],
            )
            for o in outcomes
            if o.quarantined
        ]
        shed = save_quarantine(session, entries, cap=self.quarantine_cap) if entries else 0
        health: dict[str, HealthUpdate] = {}
        for o in outcomes:
            if o.health is None or o.device_id is None:
                continue
            merged = health.get(o.device_id)
            if merged is None:
                merged = health[o.device_id] = HealthUpdate(o.health.last_seen)
            merged.merge(o.health)
        for device_id, h in health.items():
            values: dict[str, object] = {"last_seen": h.last_seen}
            for name in HEALTH_FIELDS:
                value = getattr(h, name)
                if value is not None:
                    values[_COLUMNS.get(name, name)] = value
            session.execute(update(Device).where(Device.id == device_id).values(**values))
        return shed
