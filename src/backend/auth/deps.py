"""Who is asking, and may they: FastAPI dependencies for every route but health.

- :data:`CurrentUser`: the caller, from ``Authorization: Bearer TOKEN`` (any path) or
  the dashboard's session cookie (pages only, never ``/api/``: an API call cannot ride
  on a browser's cookie, so the API needs no CSRF defence). Neither, or one that is
  not valid: :class:`NotAuthenticated`, answered 401.
- :func:`require_role`: the caller's role must be one of those named, else 403.
- :func:`check_landlord`: a record of another landlord is refused with 403, and so is
  an id that does not exist, with the same words: a scoped user cannot tell the two
  apart. Only an admin (who sees every landlord) is told 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from backend.auth import audit
from backend.auth.sessions import SESSION_COOKIE, SessionPolicy, load_session
from backend.auth.tokens import find_token
from backend.auth.users import SigninPolicy
from dampwatch_core.models import utcnow
from dampwatch_core.models_auth import ROLES, User
from dampwatch_core.settings import Settings

__all__ = [
    "ALL_LANDLORDS_ROLES",
    "ESTATE_ROLES",
    "Admin",
    "CurrentUser",
    "EstateViewer",
    "NotAuthenticated",
    "Principal",
    "RoleCheck",
    "check_landlord",
    "current_user",
    "landlord_filter",
    "require_role",
    "session_policy",
    "signin_policy",
    "template_context",
]

#: roles that see every landlord's records
ALL_LANDLORDS_ROLES = frozenset({"admin"})
#: a token's use is written to the audit trail (and its last-used time) at most this often
TOKEN_USE_RECORDED_EVERY = timedelta(seconds=60)


class NotAuthenticated(Exception):
    """No credentials, or credentials that are not (or no longer) valid: 401."""


@dataclass(frozen=True)
class Principal:
    """The user behind a request."""

    user_id: int
    email: str
    role: str
    landlord: str
    contractor: str | None
    #: ``token`` or ``session``
    via: str
    #: the session's CSRF token (dashboard sessions only)
    csrf_token: str | None = None

    @classmethod
    def of(cls, user: User, via: str, csrf_token: str | None = None) -> Principal:
        return cls(user.id, user.email, user.role, user.landlord, user.contractor, via, csrf_token)

    @property
    def sees_all_landlords(self) -> bool:
        return self.role in ALL_LANDLORDS_ROLES


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        max_age=timedelta(hours=settings.session_max_hours),
    )


def signin_policy(settings: Settings) -> SigninPolicy:
    lockout = timedelta(minutes=settings.signin_lockout_minutes)
    return SigninPolicy(max_failures=settings.signin_max_failures, window=lockout, lockout=lockout)


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from `dampwatch tokens create` (shown once when created).",
)


def _sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def _from_token(request: Request, token: str) -> Principal:
    now = utcnow()
    with _sessions(request).begin() as db:
        found = find_token(db, token, now)
        if found is None:
            raise NotAuthenticated("the API token is not valid (unknown, expired or revoked)")
        row, user = found
        if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RECORDED_EVERY:
            row.last_used_at = now
            audit.record(
                db,
                audit.TOKEN_USED,
                audit.ActorRef(user.id, user.email),
                subject_type="token",
                subject_id=row.public_id,
                landlord=user.landlord,
                detail={"method": request.method, "path": request.url.path},
            )
        return Principal.of(user, "token")


def _from_cookie(request: Request, cookie: str) -> Principal:
    settings: Settings = request.app.state.settings
    with _sessions(request).begin() as db:
        found = load_session(db, cookie, session_policy(settings))
        if found is None:
            raise NotAuthenticated("your session has ended; sign in again")
        row, user = found
        return Principal.of(user, "session", row.csrf_token)


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller; raises :class:`NotAuthenticated` (401) when there is none."""
    if "authorization" in request.headers:
        if credentials is None:
            raise NotAuthenticated("use Authorization: Bearer TOKEN")
        principal = _from_token(request, credentials.credentials)
    elif request.url.path.startswith("/api/"):
        raise NotAuthenticated("an API token is needed: Authorization: Bearer TOKEN")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise NotAuthenticated("sign in to continue")
        principal = _from_cookie(request, cookie)
    request.state.principal = principal
    return principal


def template_context(request: Request) -> dict[str, object]:
    """A Jinja2 context processor: ``current_user`` (the :class:`Principal`, or None)
    for a page's header and its forms' CSRF token."""
    return {"current_user": getattr(request.state, "principal", None)}


CurrentUser = Annotated[Principal, Depends(current_user)]


class RoleCheck:
    """A dependency admitting only ``roles`` (403 for any other signed-in role)."""

    def __init__(self, roles: Iterable[str]) -> None:
        self.roles = frozenset(roles)
        unknown = self.roles - set(ROLES)
        if unknown or not self.roles:
            raise ValueError(f"unknown roles {sorted(unknown)}; roles are {ROLES}")

    def __call__(self, user: CurrentUser) -> Principal:
        if user.role not in self.roles:
            raise HTTPException(403, f"the {user.role} role may not see or do this")
        return user

    def __repr__(self) -> str:
        return f"RoleCheck({sorted(self.roles)})"


def require_role(*roles: str) -> Any:
    """``user: Annotated[Principal, require_role("admin", "officer")]``, or in a
    router's ``dependencies=[...]``."""
    return Depends(RoleCheck(roles))


#: who may see flats, their risk, readings and devices (their landlord's, or all for admin)
ESTATE_ROLES = ("admin", "officer", "analyst")
EstateViewer = Annotated[Principal, require_role(*ESTATE_ROLES)]
Admin = Annotated[Principal, require_role("admin")]


def check_landlord(user: Principal, landlord: str | None, what: str) -> None:
    """Refuse ``what`` (e.g. ``flat 'A-1'``) whose landlord is ``landlord`` (None: no
    such record) unless ``user`` may see it."""
    if user.sees_all_landlords:
        if landlord is None:
            raise HTTPException(404, f"{what} not found")
        return
    if landlord is None or landlord != user.landlord:
        raise HTTPException(403, f"{what} is not among your landlord's records")


def landlord_filter(user: Principal) -> str | None:
    """The landlord to filter lists by; None for a user who sees every landlord."""
    return None if user.sees_all_landlords else user.landlord
