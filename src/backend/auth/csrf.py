"""CSRF protection for every form that changes something (POST).

A signed-in user's forms carry the session's synchronizer token (``csrf_token``,
stored with the session). The sign-in form, which comes before any session, uses a
double-submit token: a random value both in a ``SameSite=Strict`` cookie and in the
form. Both are compared in constant time. ``SameSite=Lax`` on the session cookie is a
second line, not the defence."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request

__all__ = [
    "CSRF_FIELD",
    "MAX_FORM_BYTES",
    "SIGNIN_CSRF_COOKIE",
    "new_csrf_token",
    "read_form",
    "tokens_match",
]

CSRF_FIELD = "csrf_token"
SIGNIN_CSRF_COOKIE = "dampwatch_signin_csrf"
MAX_FORM_BYTES = 16 * 1024


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form body (the only kind our pages post), at most 16 KiB."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "form too large")
    if not body:
        return {}  # an empty post: no fields, so no CSRF token either
    if ctype != "application/x-www-form-urlencoded":
        raise HTTPException(415, "forms are posted as application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise HTTPException(400, "the form is not UTF-8") from None
    return dict(pairs)
