"""API tokens: ``dwt_<public id>_<secret>``, shown once. Only a SHA-256 of the whole
token is stored (the secret has 256 bits, so a slow hash adds nothing); the row is
found by its public id and the hash compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dampwatch_core.errors import NotFoundError, ValidationError
from dampwatch_core.models import utcnow
from dampwatch_core.models_auth import ApiToken, User

__all__ = [
    "MAX_EXPIRY_DAYS",
    "TOKEN_PREFIX",
    "create_token",
    "find_token",
    "list_tokens",
    "revoke_token",
    "token_digest",
]

TOKEN_PREFIX = "dwt_"  # noqa: S105 (not a secret)
MAX_EXPIRY_DAYS = 3650
_TOKEN_RE = re.compile(r"^dwt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def create_token(
    session: Session, user: User, name: str = "", expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row and the token itself (shown once)."""
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise ValidationError(f"--expires must be 1 to {MAX_EXPIRY_DAYS} days")
    if len(name) > 64 or any(not c.isprintable() for c in name):
        raise ValidationError("a token name is at most 64 printable characters")
    public_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{public_id}_{secrets.token_urlsafe(32)}"
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        public_id=public_id,
        token_hash=token_digest(token),
        name=name,
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(row)
    session.flush()
    return row, token


def find_token(session: Session, token: str, now: datetime) -> tuple[ApiToken, User] | None:
    """The live token and its (enabled) user, or None for anything else: malformed,
    unknown, wrong secret, expired, revoked, or a disabled user."""
    match = _TOKEN_RE.match(token)
    if match is None:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.public_id == match.group(1))).first()
    if row is None or not _digests_equal(row.token_hash, token_digest(token)):
        return None
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    return row, user


def list_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


def revoke_token(session: Session, public_id: str) -> ApiToken:
    """Revoke by public id (the part after ``dwt_``, as ``dampwatch tokens list`` shows)."""
    public_id = public_id.removeprefix(TOKEN_PREFIX).split("_", 1)[0]
    row = session.scalars(select(ApiToken).where(ApiToken.public_id == public_id)).first()
    if row is None:
        raise NotFoundError(f"no token {public_id!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
