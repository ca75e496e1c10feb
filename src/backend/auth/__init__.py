"""Who may see and do what: users and roles, API tokens, dashboard sessions, CSRF,
the sign-in lockout and the audit trail (see docs/access.md).

:func:`install` puts it on an app: trusted hosts, security headers, the 401 answer
and the sign-in pages. Routes then declare who may call them with
:data:`~backend.auth.deps.CurrentUser` and :func:`~backend.auth.deps.require_role`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from backend.auth.deps import (
    Admin,
    CurrentUser,
    EstateViewer,
    NotAuthenticated,
    Principal,
    RoleCheck,
    check_landlord,
    landlord_filter,
    require_role,
)
from backend.auth.headers import SecurityHeadersMiddleware
from backend.auth.personal import app_routes
from dampwatch_core.settings import Settings

__all__ = [
    "PUBLIC_PATHS",
    "Admin",
    "CurrentUser",
    "EstateViewer",
    "NotAuthenticated",
    "Principal",
    "RoleCheck",
    "allowed_hosts",
    "check_landlord",
    "install",
    "landlord_filter",
    "require_role",
    "unprotected_routes",
]

#: reachable without a user: health for monitoring, the API's description, sign-in,
#: the stylesheets, scripts, fonts and images the sign-in page needs, and GOV.UK
#: Notify's callbacks (which check Notify's own bearer token instead:
#: backend.api.routes.callbacks)
PUBLIC_PATHS = (
    "/healthz",
    "/openapi.json",
    "/signin",
    "/static",
    "/assets",
    "/api/v1/callbacks/notify",
)


def allowed_hosts(settings: Settings) -> list[str]:
    return [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]


async def _not_authenticated(request: Request, exc: Exception) -> Response:
    from backend.auth.pages import signin_page

    if request.url.path.startswith("/api/") or "authorization" in request.headers:
        return JSONResponse(
            {"detail": str(exc), "errors": []},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="dampwatch"'},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return signin_page(request, 401, str(exc).capitalize() + ".", next_path=target)


def unprotected_routes(app: FastAPI) -> list[str]:
    """Paths reachable without a user that are not meant to be (see PUBLIC_PATHS)."""
    from backend.auth.personal import route_roles

    def public(path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS)

    found = []
    for is_api, route in app_routes(app):
        path = str(getattr(route, "path", "") or "")
        if is_api:
            if route_roles(route) == frozenset() and not public(path):
                found.append(path)
        elif not public(path):
            found.append(path)
    return found


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "errors": {"type": "array", "items": {}}},
    "required": ["detail"],
}
#: documented on every route that needs a user
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "No valid credentials (API: `Authorization: Bearer TOKEN`)",
        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
    },
    403: {
        "description": "The user's role may not do this, or the record is not their landlord's",
        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
    },
}


def _document_auth_responses(app: FastAPI) -> None:
    """Add 401 and 403 to every operation of the OpenAPI document that declares the
    bearer scheme (those are the ones that need a user)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and operation.get("security"):
                    responses = operation.setdefault("responses", {})
                    for status, spec in AUTH_RESPONSES.items():
                        responses.setdefault(str(status), spec)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, settings: Settings) -> None:
    """Trusted hosts (outermost), security headers, 401 answers, sign-in pages; then
    refuses an app with a route open to anyone that should not be, or a route open to
    analysts that can return a tenant's personal data. Call it after the routers are
    included."""
    from backend.auth.pages import router
    from backend.auth.personal import check_personal_data_routes

    app.add_exception_handler(NotAuthenticated, _not_authenticated)
    app.include_router(router)
    open_routes = unprotected_routes(app)
    if open_routes:
        raise RuntimeError(f"routes without a user check: {', '.join(open_routes)}")
    check_personal_data_routes(app)
    _document_auth_responses(app)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings))
