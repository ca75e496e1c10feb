"""Dashboard sessions, kept server-side: the cookie holds 256 random bits, the table
their SHA-256, the user and the session's CSRF token. A session ends on sign-out,
after ``idle`` without a request, at ``max_age`` whatever the activity, and when its
user is disabled."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from dampwatch_core.models import utcnow
from dampwatch_core.models_auth import User, WebSession

__all__ = [
    "SESSION_COOKIE",
    "SessionPolicy",
    "end_session",
    "load_session",
    "purge_expired",
    "start_session",
]

SESSION_COOKIE = "dampwatch_session"
#: last_seen_at is written at most this often (a page view is not a write each time)
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)


def _digest(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


def start_session(
    session: Session, user: User, policy: SessionPolicy, now: datetime | None = None
) -> tuple[WebSession, str]:
    """A new session for ``user``: the row and the cookie value (never stored)."""
    now = now or utcnow()
    value = secrets.token_urlsafe(32)
    row = WebSession(
        id_hash=_digest(value),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.max_age,
    )
    session.add(row)
    return row, value


def load_session(
    session: Session, cookie_value: str, policy: SessionPolicy, now: datetime | None = None
) -> tuple[WebSession, User] | None:
    """The live session and its user, touching its idle clock; None (and the row
    removed) when it has expired or its user is disabled."""
    if not cookie_value or len(cookie_value) > 128:
        return None
    now = now or utcnow()
    row = session.get(WebSession, _digest(cookie_value))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if (
        user is None
        or user.disabled_at is not None
        or row.expires_at <= now
        or row.last_seen_at + policy.idle <= now
    ):
        session.delete(row)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row, user


def end_session(session: Session, cookie_value: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == _digest(cookie_value)))


def purge_expired(session: Session, policy: SessionPolicy, now: datetime | None = None) -> int:
    """Delete sessions past either limit; returns how many."""
    now = now or utcnow()
    result = session.execute(
        delete(WebSession).where(
            (WebSession.expires_at <= now) | (WebSession.last_seen_at <= now - policy.idle)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
