"""Relational schema shared by the services: flats, devices (the registry), device
health, and quarantined messages (each payload stored once, a count of what the
per-device cap shed).

Integer columns hold every value the wire contract allows: ``seq`` and ``boot`` are
32-bit unsigned counters, so they are ``BigInteger`` (PostgreSQL's ``integer`` stops at
2^31 - 1). Changes go through an Alembic migration
(``dampwatch_core/migrations``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from dampwatch_core.const import LEVELS

__all__ = [
    "RISK_LEVELS",
    "Base",
    "Device",
    "Flat",
    "FlatRisk",
    "QuarantineShed",
    "QuarantinedMessage",
    "QuarantinedPayload",
    "Relay",
    "RiskAssessment",
    "ScoringState",
    "UTCDateTime",
    "utcnow",
]

#: Risk levels in rank order (index = rank).
RISK_LEVELS = LEVELS


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Flat(Base):
    """A home: the unit the landlord is responsible for."""

    __tablename__ = "flats"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    landlord: Mapped[str] = mapped_column(String(64), default="default")
    block: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(256))
    postcode: Mapped[str | None] = mapped_column(String(16))
    floor: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    devices: Mapped[list[Device]] = relationship(back_populates="flat")


class Device(Base):
    """A sensor node: where it is (flat, room), its broker credential, its health."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flat_id: Mapped[str] = mapped_column(ForeignKey("flats.id"), index=True)
    room: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    decommissioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # health, from status messages and telemetry
    state: Mapped[str | None] = mapped_column(String(16))
    fw: Mapped[str | None] = mapped_column(String(32))
    batt_mv: Mapped[int | None] = mapped_column(Integer)
    rssi_dbm: Mapped[int | None] = mapped_column(Integer)
    boot: Mapped[int | None] = mapped_column(BigInteger)
    reset_cause: Mapped[str | None] = mapped_column(String(64))
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the firmware's own counters, from its status: readings its buffer shed (oldest
    # first), readings waiting to be sent, sensor reads that failed
    drops: Mapped[int | None] = mapped_column(BigInteger)
    buffered: Mapped[int | None] = mapped_column(BigInteger)
    sensor_failures: Mapped[int | None] = mapped_column(BigInteger)
    # the device's clock minus true time (s, signed), from its last telemetry's ``sent``
    clock_offset_s: Mapped[int | None] = mapped_column(BigInteger)

    # how it uploads: "wifi" (its own MQTT session) or "espnow" (through relay_id, with
    # espnow_key, 32 bytes hex, which the relay needs to check its frames' tags)
    uplink: Mapped[str] = mapped_column(String(16), default="wifi", server_default="wifi")
    relay_id: Mapped[str | None] = mapped_column(ForeignKey("relays.id"), index=True)
    espnow_key: Mapped[str | None] = mapped_column(String(64))

    flat: Mapped[Flat] = relationship(back_populates="devices")


class Relay(Base):
    """A block relay: ESP-NOW frames from its devices in, their telemetry out on the
    device listener under its own MQTT account."""

    __tablename__ = "relays"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    block: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decommissioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuarantinedPayload(Base):
    """The payload of a quarantined message, stored once however many of its readings
    were rejected. ``size`` is the size as published (``payload`` may be its first
    bytes only)."""

    __tablename__ = "quarantine_payloads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)


class QuarantinedMessage(Base):
    """A message, or one reading of it, that broke the contract: kept with its reason."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    topic: Mapped[str] = mapped_column(String(512))
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text)
    reading_index: Mapped[int | None] = mapped_column(Integer)
    payload_id: Mapped[int] = mapped_column(ForeignKey("quarantine_payloads.id"), index=True)

    payload_row: Mapped[QuarantinedPayload] = relationship(lazy="joined")
    #: the message's payload (shared by the records of its rejected readings); setting it
    #: on a new record gives that record a payload row of its own
    payload: AssociationProxy[bytes] = association_proxy(
        "payload_row", "payload", creator=lambda p: QuarantinedPayload(payload=p, size=len(p))
    )


class QuarantineShed(Base):
    """Quarantine records not stored because a device reached its cap: how many, and
    when. ``device_key`` is the device id, or ``""`` for topics that name none."""

    __tablename__ = "quarantine_shed"

    device_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    shed: Mapped[int] = mapped_column(BigInteger, default=0)
    first_shed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_shed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RiskAssessment(Base):
    """One scoring of a flat: levels, the reasons with their numbers, per-room metrics.
    Kept as history, so a flat's trend and a repair's effect can be shown: one row per
    flat per UTC day of data (its latest assessment that day, updated in place by the
    day's later runs) and a new row whenever a level changes."""

    __tablename__ = "risk_assessments"
    __table_args__ = (Index("ix_risk_assessments_flat_time", "flat_id", "assessed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flat_id: Mapped[str] = mapped_column(ForeignKey("flats.id"))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    damp_level: Mapped[str] = mapped_column(String(8))
    cold_level: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rooms: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    thresholds_version: Mapped[str] = mapped_column(String(32), default="")


class FlatRisk(Base):
    """The latest assessment of each flat, for ranking the whole estate quickly."""

    __tablename__ = "flat_risk"
    __table_args__ = (Index("ix_flat_risk_rank", "rank", "score"),)

    flat_id: Mapped[str] = mapped_column(ForeignKey("flats.id"), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("risk_assessments.id"))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    damp_level: Mapped[str] = mapped_column(String(8))
    cold_level: Mapped[str] = mapped_column(String(8))
    #: max of the two levels' ranks (0 none … 3 high), then ``score`` breaks ties.
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)


class ScoringState(Base):
    """What incremental scoring carries forward per device (e.g. the mould index) and
    how far it has read."""

    __tablename__ = "scoring_state"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flat_id: Mapped[str] = mapped_column(String(64), index=True)
    room: Mapped[str] = mapped_column(String(64))
    last_ts: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: daily metric buckets (float32, days × fields) of the recent window
    buckets: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
