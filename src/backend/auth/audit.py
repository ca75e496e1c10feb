"""The audit trail: who did what and when, append-only (the database refuses UPDATE
and DELETE on ``audit_log``).

Call :func:`record` in the same transaction as the change it describes, so the two
are kept or lost together. Reads of a tenant's personal data go through
:func:`record_personal_data_read`. ``detail`` names what was touched (ids, field
names), never a password, a token or a person's contact details.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from dampwatch_core.models import utcnow
from dampwatch_core.models_auth import AuditEvent

__all__ = [
    "CSV_COLUMNS",
    "Actor",
    "ActorRef",
    "audit_csv",
    "cli_actor",
    "query_events",
    "record",
    "record_personal_data_read",
]

# actions, spelled once
SIGNIN_OK = "signin.ok"
SIGNIN_FAILED = "signin.failed"
SIGNIN_LOCKED = "signin.locked"
SIGNOUT = "signout"
TOKEN_CREATED = "token.created"  # noqa: S105 (an action name)
TOKEN_USED = "token.used"  # noqa: S105 (an action name)
TOKEN_REVOKED = "token.revoked"  # noqa: S105 (an action name)
USER_CREATED = "user.created"
USER_DISABLED = "user.disabled"
DEVICE_ADDED = "device.added"
DEVICE_DECOMMISSIONED = "device.decommissioned"
PERSONAL_DATA_READ = "personal_data.read"

CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "actor_user_id",
    "action",
    "subject_type",
    "subject_id",
    "landlord",
    "detail",
)


@dataclass(frozen=True)
class ActorRef:
    """An actor known by id and email (e.g. a user who has just signed in)."""

    user_id: int
    email: str


class Actor(Protocol):
    """Who acted: a signed-in user or token holder (:class:`backend.auth.deps.Principal`)."""

    @property
    def user_id(self) -> int: ...
    @property
    def email(self) -> str: ...


def cli_actor() -> str:
    """The actor name for a change made with the ``dampwatch`` command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def record(
    session: Session,
    action: str,
    actor: Actor | str,
    *,
    subject_type: str | None = None,
    subject_id: str | None = None,
    landlord: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one event to ``session`` (the caller's transaction commits it)."""
    event = AuditEvent(
        at=at or utcnow(),
        actor_user_id=None if isinstance(actor, str) else actor.user_id,
        actor=actor if isinstance(actor, str) else actor.email,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        landlord=landlord,
        detail=detail or {},
    )
    session.add(event)
    return event


def record_personal_data_read(
    session: Session,
    actor: Actor | str,
    *,
    tenant_id: str,
    fields: Sequence[str],
    purpose: str,
    landlord: str | None = None,
) -> AuditEvent:
    """Every read of a tenant's personal data: whose record, which fields (names, not
    values) and why (e.g. ``case page``, ``API /tenants``)."""
    return record(
        session,
        PERSONAL_DATA_READ,
        actor,
        subject_type="tenant",
        subject_id=tenant_id,
        landlord=landlord,
        detail={"fields": sorted(fields), "purpose": purpose},
    )


def query_events(
    session: Session,
    *,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
    before_id: int | None = None,
) -> list[AuditEvent]:
    """Newest first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query))


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # a spreadsheet must not run a cell as a formula
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(events: Sequence[AuditEvent]) -> Iterator[str]:
    """The events as CSV lines (header first), safe to open in a spreadsheet."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                _csv_cell(v)
                for v in (
                    e.id,
                    e.at.isoformat(),
                    e.actor,
                    e.actor_user_id,
                    e.action,
                    e.subject_type,
                    e.subject_id,
                    e.landlord,
                    _json(e.detail),
                )
            ]
        )
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue()


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
