"""Sign-in and sign-out pages: server-rendered forms that work without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from backend.auth import audit
from backend.auth.audit import audit_csv, query_events
from backend.auth.csrf import (
    CSRF_FIELD,
    SIGNIN_CSRF_COOKIE,
    new_csrf_token,
    read_form,
    tokens_match,
)
from backend.auth.deps import Admin, CurrentUser, session_policy, signin_policy
from backend.auth.sessions import SESSION_COOKIE, end_session, start_session
from backend.auth.users import SigninOutcome, sign_in
from dampwatch_core.settings import Settings

__all__ = ["TEMPLATES_DIR", "router", "safe_next", "signin_page"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(not c.isprintable() for c in value)
        or len(value) > 2000
    ):
        return "/"
    return value


def _secure(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    if settings.session_cookie_secure is not None:
        return settings.session_cookie_secure
    return request.url.scheme == "https"


def signin_page(
    request: Request, status: int = 200, message: str = "", email: str = "", next_path: str = "/"
) -> HTMLResponse:
    """The sign-in form, with a fresh double-submit CSRF token in cookie and field."""
    token = new_csrf_token()
    response = templates.TemplateResponse(
        request,
        "signin.html",
        {"csrf_token": token, "next": safe_next(next_path), "message": message, "email": email},
        status_code=status,
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/signin",
    )
    return response


def _db(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "/") -> HTMLResponse:
    return signin_page(request, next_path=next)


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request) -> Response:
    form = await read_form(request)
    next_path = safe_next(form.get("next"))
    email = form.get("email", "")[:254]
    if not tokens_match(request.cookies.get(SIGNIN_CSRF_COOKIE), form.get(CSRF_FIELD)):
        return signin_page(
            request, 403, "The form had expired. Please sign in again.", email, next_path
        )
    settings: Settings = request.app.state.settings
    with _db(request).begin() as db:
        result = sign_in(db, email, form.get("password", "")[:1024], signin_policy(settings))
        cookie = None
        if result.outcome is SigninOutcome.OK and result.user is not None:
            _row, cookie = start_session(db, result.user, session_policy(settings))
    if result.outcome is SigninOutcome.LOCKED:
        minutes = settings.signin_lockout_minutes
        return signin_page(
            request,
            429,
            f"Too many failed sign-ins for this email. Try again in {minutes} minutes.",
            email,
            next_path,
        )
    if cookie is None:
        return signin_page(request, 401, "That email and password do not match.", email, next_path)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/signin")
    return response


async def session_form(request: Request, user: CurrentUser) -> dict[str, str]:
    """A signed-in user's posted form, refused (403) without the session's CSRF token."""
    form = await read_form(request)
    if user.via != "session" or not tokens_match(user.csrf_token, form.get(CSRF_FIELD)):
        raise HTTPException(403, "the form's security token is missing or wrong; reload the page")
    return form


SessionForm = Annotated[dict[str, str], Depends(session_form)]


@router.post("/signout")
def signout(request: Request, user: CurrentUser, _form: SessionForm) -> Response:
    with _db(request).begin() as db:
        end_session(db, request.cookies.get(SESSION_COOKIE, ""))
        audit.record(db, audit.SIGNOUT, user, subject_type="user", subject_id=str(user.user_id))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


AUDIT_PAGE_ROWS = 500
AUDIT_CSV_ROWS = 100_000


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, user: Admin) -> HTMLResponse:
    """The audit trail for admins, newest first."""
    with _db(request)() as db:
        events = query_events(db, limit=AUDIT_PAGE_ROWS)
    return templates.TemplateResponse(
        request,
        "audit.html",
        {"events": events, "current_user": user, "csv_limit": AUDIT_CSV_ROWS},
    )


@router.get("/audit.csv")
def audit_page_csv(request: Request, _user: Admin) -> StreamingResponse:
    with _db(request)() as db:
        events = query_events(db, limit=AUDIT_CSV_ROWS)
    return StreamingResponse(
        audit_csv(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="dampwatch-audit.csv"'},
    )
