"""Users: add, list, disable; signing in with the lockout after repeated failures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.auth import audit
from backend.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from dampwatch_core.errors import NotFoundError, ValidationError
from dampwatch_core.models import utcnow
from dampwatch_core.models_auth import ROLES, SigninThrottle, User, WebSession

__all__ = [
    "SigninOutcome",
    "SigninPolicy",
    "SigninResult",
    "add_user",
    "disable_user",
    "find_user",
    "list_users",
    "normalise_email",
    "sign_in",
]

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
_LANDLORD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._&'-]{0,63}$")


def normalise_email(email: str) -> str:
    """Lower-cased and trimmed; refuses anything that is not one address."""
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL_RE.match(value) or not value.isprintable():
        raise ValidationError(f"{email!r} is not an email address")
    return value


def find_user(session: Session, email: str) -> User | None:
    try:
        address = normalise_email(email)
    except ValidationError:
        return None
    return session.scalars(select(User).where(User.email == address)).first()


def add_user(
    session: Session,
    email: str,
    role: str,
    password: str,
    *,
    landlord: str = "default",
    contractor: str | None = None,
    actor: audit.Actor | str | None = None,
) -> User:
    address = normalise_email(email)
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "contractor" and not contractor:
        raise ValidationError("a contractor user needs --contractor NAME (their organisation)")
    if role != "contractor" and contractor:
        raise ValidationError("--contractor is only for the contractor role")
    if contractor is not None and (len(contractor) > 128 or not contractor.isprintable()):
        raise ValidationError("a contractor name is at most 128 printable characters")
    if not _LANDLORD_RE.match(landlord):
        raise ValidationError(f"landlord {landlord!r}: letters, digits, space and ._&'- only")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if find_user(session, address) is not None:
        raise ValidationError(f"a user {address} already exists")
    user = User(
        email=address,
        role=role,
        landlord=landlord,
        contractor=contractor,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        audit.USER_CREATED,
        actor or audit.cli_actor(),
        subject_type="user",
        subject_id=str(user.id),
        landlord=landlord,
        detail={"role": role, "contractor": contractor},
    )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.landlord, User.email)))


def disable_user(session: Session, email: str, *, actor: audit.Actor | str | None = None) -> User:
    """The user can no longer sign in; their sessions end and their tokens stop working."""
    user = find_user(session, email)
    if user is None:
        raise NotFoundError(f"no user {email!r}")
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        audit.record(
            session,
            audit.USER_DISABLED,
            actor or audit.cli_actor(),
            subject_type="user",
            subject_id=str(user.id),
            landlord=user.landlord,
        )
    return user


@dataclass(frozen=True)
class SigninPolicy:
    """``max_failures`` failed sign-ins for one email within ``window`` lock it for
    ``lockout`` (whether or not the address has an account)."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


class SigninOutcome(Enum):
    OK = "ok"
    FAILED = "failed"
    LOCKED = "locked"


@dataclass(frozen=True)
class SigninResult:
    outcome: SigninOutcome
    user: User | None = None
    #: when a lockout ends
    retry_at: datetime | None = None


def sign_in(
    session: Session,
    email: str,
    password: str,
    policy: SigninPolicy,
    *,
    now: datetime | None = None,
) -> SigninResult:
    """Check ``email`` and ``password``, record the attempt (throttle and audit) in
    ``session``; the caller commits whatever the outcome."""
    now = now or utcnow()
    try:
        address = normalise_email(email)
    except ValidationError:
        address = email.strip().lower()[:254] or "(empty)"
    throttle = session.get(SigninThrottle, address)
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        audit.record(session, audit.SIGNIN_LOCKED, address, subject_type="user")
        return SigninResult(SigninOutcome.LOCKED, retry_at=throttle.locked_until)
    user = session.scalars(select(User).where(User.email == address)).first()
    ok = verify_password(user.password_hash if user is not None else None, password)
    if user is not None and ok and user.disabled_at is None:
        if throttle is not None:
            session.delete(throttle)
        user.last_signin_at = now
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        audit.record(
            session,
            audit.SIGNIN_OK,
            audit.ActorRef(user.id, address),
            subject_type="user",
            subject_id=str(user.id),
            landlord=user.landlord,
        )
        return SigninResult(SigninOutcome.OK, user=user)
    if throttle is None:
        throttle = SigninThrottle(email=address, failures=0, first_failure_at=now)
        session.add(throttle)
    elif throttle.first_failure_at <= now - policy.window or throttle.locked_until is not None:
        # an old run of failures, or a lockout that has ended: count afresh
        throttle.failures = 0
        throttle.first_failure_at = now
        throttle.locked_until = None
    throttle.failures += 1
    if throttle.failures >= policy.max_failures:
        throttle.locked_until = now + policy.lockout
    audit.record(
        session,
        audit.SIGNIN_FAILED,
        address,
        subject_type="user",
        subject_id=str(user.id) if user is not None else None,
        detail={"failures": throttle.failures, "disabled": bool(user and user.disabled_at)},
    )
    return SigninResult(SigninOutcome.FAILED)
