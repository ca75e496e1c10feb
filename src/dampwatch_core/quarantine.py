"""Bounded storage of bad input: quarantine records with their payload stored once per
message, a cap per device (what it sheds is counted), and the retention job.

The gateway writes through :func:`save_quarantine`; the scheduler calls
:func:`purge_quarantine`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from dampwatch_core.contract import CONTROL_CHARS_RE, MAX_PAYLOAD_BYTES
from dampwatch_core.models import QuarantinedMessage, QuarantinedPayload, QuarantineShed, utcnow

__all__ = [
    "MAX_DETAIL_CHARS",
    "MAX_PER_DEVICE",
    "MAX_STORED_PAYLOAD_BYTES",
    "RETENTION",
    "QuarantineEntry",
    "QuarantineRecord",
    "purge_quarantine",
    "safe_text",
    "save_quarantine",
]

log = logging.getLogger(__name__)

#: Records kept per device (the rest are shed and counted) until retention frees room.
MAX_PER_DEVICE: Final = 500
#: Bytes of a payload kept: the contract's limit (an oversize payload keeps its start).
MAX_STORED_PAYLOAD_BYTES: Final = MAX_PAYLOAD_BYTES
#: Quarantine records (and shed counts) older than this are deleted.
RETENTION: Final = timedelta(days=30)
MAX_DETAIL_CHARS: Final = 2000
MAX_TOPIC_CHARS: Final = 512


def safe_text(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` as any store holds it: no control characters, no lone surrogates (both
    shown as escapes), at most ``limit`` characters."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = CONTROL_CHARS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """One reason a message (or one of its readings) was quarantined."""

    reason: str
    detail: str
    reading_index: int | None = None


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A quarantined message: its records share one stored payload."""

    topic: str
    device_id: str | None
    received_at: float
    payload: bytes
    size: int
    records: Sequence[QuarantineRecord]


def _key(device_id: str | None) -> str:
    return device_id or ""


def _stored(session: Session, key: str) -> int:
    column = QuarantinedMessage.device_id
    where = column.is_(None) if key == "" else column == key
    return int(session.scalar(select(func.count()).where(where)) or 0)


def _count_shed(session: Session, key: str, shed: int, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    values = {"device_key": key, "shed": shed, "first_shed_at": now, "last_shed_at": now}
    if dialect == "postgresql":
        stmt = postgresql.insert(QuarantineShed).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["device_key"],
            set_={"shed": QuarantineShed.shed + shed, "last_shed_at": now},
        )
        session.execute(stmt)
    elif dialect == "sqlite":
        lite = sqlite.insert(QuarantineShed).values(**values)
        lite = lite.on_conflict_do_update(
            index_elements=["device_key"],
            set_={"shed": QuarantineShed.shed + shed, "last_shed_at": now},
        )
        session.execute(lite)
    else:  # pragma: no cover - the two stores DampWatch supports are above
        row = session.get(QuarantineShed, key)
        if row is None:
            session.add(QuarantineShed(**values))
        else:
            row.shed += shed
            row.last_shed_at = now


def save_quarantine(
    session: Session, entries: Sequence[QuarantineEntry], *, cap: int = MAX_PER_DEVICE
) -> int:
    """Add ``entries`` in ``session``'s transaction: one payload row per message, the
    records up to ``cap`` per device; the rest are counted in ``quarantine_shed``.
    Returns how many records were shed."""
    room: dict[str, int] = {}
    shed: dict[str, int] = {}
    for entry in entries:
        key = _key(entry.device_id)
        if key not in room:
            room[key] = max(cap - _stored(session, key), 0)
        keep = entry.records[: room[key]]
        room[key] -= len(keep)
        if len(keep) < len(entry.records):
            shed[key] = shed.get(key, 0) + len(entry.records) - len(keep)
        if not keep:
            continue
        payload = QuarantinedPayload(
            payload=entry.payload[:MAX_STORED_PAYLOAD_BYTES], size=max(entry.size, 0)
        )
        received = datetime.fromtimestamp(entry.received_at, UTC)
        topic = safe_text(entry.topic, MAX_TOPIC_CHARS)
        for record in keep:
            session.add(
                QuarantinedMessage(
                    received_at=received,
                    topic=topic,
                    device_id=entry.device_id,
                    reason=record.reason,
                    detail=safe_text(record.detail),
                    reading_index=record.reading_index,
                    payload_row=payload,
                )
            )
    now = utcnow()
    for key, count in shed.items():
        _count_shed(session, key, count, now)
    return sum(shed.values())


def purge_quarantine(
    sessions: sessionmaker[Session], *, older_than: timedelta = RETENTION, chunk: int = 5000
) -> int:
    """Delete quarantine records received before now - ``older_than`` (a chunk per
    transaction), the payloads no record uses any more, and old shed counts. Returns
    the number of records deleted."""
    cutoff = utcnow() - older_than
    deleted = 0
    while True:
        with sessions.begin() as session:
            ids = list(
                session.scalars(
                    select(QuarantinedMessage.id)
                    .where(QuarantinedMessage.received_at < cutoff)
                    .order_by(QuarantinedMessage.id)
                    .limit(chunk)
                )
            )
            if ids:
                session.execute(delete(QuarantinedMessage).where(QuarantinedMessage.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < chunk:
            break
    with sessions.begin() as session:
        used = exists().where(QuarantinedMessage.payload_id == QuarantinedPayload.id)
        session.execute(delete(QuarantinedPayload).where(~used))
        session.execute(delete(QuarantineShed).where(QuarantineShed.last_shed_at < cutoff))
    if deleted:
        log.info("quarantine retention: %d record(s) older than %s deleted", deleted, older_than)
    return deleted
