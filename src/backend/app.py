"""The app factory: the API (``backend.api``) and the officers' dashboard
(``backend.dashboard``) in one FastAPI application, with the resources they share
(``backend.deps``). Neither package imports the other; only this module sees both.

Errors are answered here, once for both: a bad parameter is a 422 with a message, an
unknown flat or device a 404, a store that cannot be reached a 503 with a generic
message (never the store's address or its own error text, in the response or the log).
API paths get JSON (:class:`~backend.api.schemas.ErrorPublic`), pages get HTML.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import CaseDesk
from backend import api, auth, dashboard
from backend.api.schemas import ErrorPublic, FieldErrorPublic
from backend.readings import ReadingStore
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.errors import DampWatchError, NotFoundError, ValidationError
from dampwatch_core.influx import InfluxClient
from dampwatch_core.notify_callbacks import NotifyCallbacks
from dampwatch_core.settings import Settings

__all__ = ["STORE_UNAVAILABLE", "create_app"]

log = logging.getLogger(__name__)

STORE_UNAVAILABLE = "the service is temporarily unavailable; try again in a minute"
#: Errors meaning the relational store cannot be reached or used now (not a bad query).
STORE_DOWN_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def _field_errors(errors: Sequence[Any]) -> list[FieldErrorPublic]:
    return [
        FieldErrorPublic(
            loc=[p for p in e.get("loc", ()) if isinstance(p, str | int)],
            msg=str(e.get("msg", "")),
            type=str(e.get("type", "")),
        )
        for e in errors
    ]


def _message(fields: list[FieldErrorPublic]) -> str:
    """One line for a person: ``offset: Input should be less than or equal to 10000000``."""
    parts = []
    for f in fields:
        name = str(f.loc[-1]) if f.loc else "request"
        parts.append(f"{name}: {f.msg.removeprefix('Value error, ')}")
    return "; ".join(parts) or "invalid request"


def _error(
    request: Request, status: int, detail: str, fields: list[FieldErrorPublic] | None = None
) -> Response:
    if request.url.path.startswith(("/api/", "/healthz", "/openapi", "/docs")):
        body = ErrorPublic(detail=detail, errors=fields or [])
        return JSONResponse(body.model_dump(mode="json"), status_code=status)
    return dashboard.error_page(request, status, detail)


def create_app(
    settings: Settings,
    *,
    notify_callbacks: NotifyCallbacks | None = None,
    case_desk: CaseDesk | None = None,
) -> FastAPI:
    """Build the app for ``settings``; nothing connects at import time.
    ``notify_callbacks`` acts on GOV.UK Notify's callbacks (none: they answer 503);
    ``case_desk`` is what officers' case actions go through (the composition root's,
    which queues the tenant's written summary; by default a plain desk)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        influx = InfluxClient.from_settings(settings)
        app.state.settings = settings
        app.state.sessions = make_sessionmaker(engine)
        app.state.readings = ReadingStore(influx)
        yield
        influx.close()
        engine.dispose()

    # /docs and /redoc would load Swagger UI and Redoc from a third-party CDN, with inline
    # script: off; the OpenAPI document at /openapi.json goes into any OpenAPI viewer
    app = FastAPI(
        title="DampWatch", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        fields = _field_errors(exc.errors())
        return _error(request, 422, _message(fields), fields)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(DampWatchError)
    async def domain_error(request: Request, exc: DampWatchError) -> Response:
        if isinstance(exc, NotFoundError):
            return _error(request, 404, str(exc))
        if isinstance(exc, ValidationError):
            return _error(request, 422, str(exc))
        # ServiceUnavailable, or a store refusing a query: its own words can hold its
        # address or internals, so only the kind is logged and nothing is passed on
        log.warning("%s on %s %s", type(exc).__name__, request.method, request.url.path)
        return _error(request, 503, STORE_UNAVAILABLE)

    for error in STORE_DOWN_ERRORS:

        @app.exception_handler(error)
        async def store_down(request: Request, exc: Exception) -> Response:
            orig = getattr(exc, "orig", None)
            log.warning(
                "relational store unavailable (%s) on %s %s",
                type(orig or exc).__name__,
                request.method,
                request.url.path,
            )
            return _error(request, 503, STORE_UNAVAILABLE)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.state.notify_callbacks = notify_callbacks
    app.state.case_desk = case_desk or CaseDesk(WorkingCalendar.england_and_wales())
    app.include_router(api.router)
    app.include_router(dashboard.router)
    dashboard.mount_assets(app)
    app.mount("/static", StaticFiles(directory=str(dashboard.STATIC_DIR)), name="static")
    auth.install(app, settings)
    return app
