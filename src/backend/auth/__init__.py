"""Who may see and do what: users and roles, API tokens, dashboard sessions, CSRF,
the sign-in lockout and the audit trail (see docs/access.md).

:func:`install` puts it on an app: trusted hosts, security headers, the 401 answer
and the sign-in pages. Routes then declare who may call them with
:data:`~backend.auth.deps.CurrentUser` and :func:`~backend.auth.deps.require_role`.
"""

from __future__ import annotations

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
#: and the stylesheet the sign-in page needs
PUBLIC_PATHS = ("/healthz", "/openapi.json", "/signin", "/static")


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
    from backend.auth.personal import app_routes, route_roles

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
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings))
