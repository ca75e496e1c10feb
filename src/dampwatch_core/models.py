"""Relational schema shared by the services: flats, devices (the registry), device
health, and quarantined messages. Changes go through an Alembic migration
(``dampwatch_core/migrations``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Base", "Device", "Flat", "QuarantinedMessage", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    devices: Mapped[list[Device]] = relationship(back_populates="flat")


class Device(Base):
    """A sensor node: where it is (flat, room), its broker credential, its health."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flat_id: Mapped[str] = mapped_column(ForeignKey("flats.id"), index=True)
    room: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    decommissioned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # health, from status messages and telemetry
    state: Mapped[str | None] = mapped_column(String(16))
    fw: Mapped[str | None] = mapped_column(String(32))
    batt_mv: Mapped[int | None] = mapped_column(Integer)
    rssi_dbm: Mapped[int | None] = mapped_column(Integer)
    boot: Mapped[int | None] = mapped_column(Integer)
    reset_cause: Mapped[str | None] = mapped_column(String(64))
    last_seq: Mapped[int | None] = mapped_column(Integer)
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    flat: Mapped[Flat] = relationship(back_populates="devices")


class QuarantinedMessage(Base):
    """A message, or one reading of it, that broke the contract: kept with its reason."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    topic: Mapped[str] = mapped_column(String(512))
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text)
    reading_index: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
