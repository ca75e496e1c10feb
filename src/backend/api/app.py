"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from backend import auth
from backend.api.routes import audit, devices, flats, quarantine
from backend.dashboard import routes as dashboard
from backend.readings import ReadingStore
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.errors import DampWatchError, NotFoundError, ServiceUnavailable, ValidationError
from dampwatch_core.influx import InfluxClient
from dampwatch_core.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings) -> FastAPI:
    """Build the app for ``settings``; nothing connects at import time."""

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

    @app.exception_handler(DampWatchError)
    async def domain_error(_request: Request, exc: DampWatchError) -> JSONResponse:
        if isinstance(exc, NotFoundError):
            status = 404
        elif isinstance(exc, ValidationError):
            status = 422
        elif isinstance(exc, ServiceUnavailable):
            status = 503
        else:
            status = 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(flats.router)
    app.include_router(devices.router)
    app.include_router(quarantine.router)
    app.include_router(audit.router)
    app.include_router(dashboard.router)
    app.mount(
        "/static",
        StaticFiles(directory=str(Path(dashboard.__file__).parent / "static")),
        name="static",
    )
    auth.install(app, settings)
    return app
