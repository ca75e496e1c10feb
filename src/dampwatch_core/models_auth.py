"""Who may see and do what: users, API tokens, sign-in sessions, failed sign-ins and
the append-only audit trail. Same declarative ``Base`` (one metadata, one Alembic
history) as :mod:`dampwatch_core.models`; migration ``0005`` creates these tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from dampwatch_core.models import Base, UTCDateTime, utcnow

__all__ = [
    "ROLES",
    "ApiToken",
    "AuditEvent",
    "SigninThrottle",
    "User",
    "WebSession",
]

#: ``admin``: users, contractors, templates, the registry, every landlord.
#: ``officer``: their landlord's estate, flats, cases and tenants' contact details.
#: ``analyst``: their landlord's risk and readings, never a tenant's name or phone.
#: ``contractor``: only the work orders sent to their organisation, through the API.
ROLES = ("admin", "officer", "analyst", "contractor")

#: Audit ids: a 64-bit integer on PostgreSQL, SQLite's rowid alias there.
AuditId = BigInteger().with_variant(Integer(), "sqlite")


class User(Base):
    """A person who signs in to the dashboard or holds API tokens."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'officer', 'analyst', 'contractor')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: stored lower-cased; unique
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    landlord: Mapped[str] = mapped_column(String(64), default="default")
    #: the contractor organisation (role ``contractor`` only)
    contractor: Mapped[str | None] = mapped_column(String(128))
    #: argon2id, in the PHC string format
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_signin_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token: ``dwt_<public id>_<secret>``; only a SHA-256 of the whole token
    is kept, looked up by its public id and compared in constant time."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A dashboard sign-in, kept server-side so sign-out and disabling a user end it.
    The cookie holds a random value; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: synchronizer token for the forms of this session
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: absolute end, whatever the activity
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SigninThrottle(Base):
    """Failed sign-ins per email address (known or not, so a lockout reveals nothing
    about which addresses have accounts)."""

    __tablename__ = "signin_throttle"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """Who did what and when. Append-only: database triggers refuse UPDATE and DELETE
    (migration ``0005``). ``detail`` never holds a password, a token or a tenant's
    contact details, only what identifies the record touched."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(AuditId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: the user's id, if a known user acted
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    #: the email given, ``cli:<os user>``, or ``anonymous``
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(128))
    landlord: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
