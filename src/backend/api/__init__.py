"""The HTTP API (FastAPI): one router per resource under ``/api/v1``.

:data:`router` holds them all; the app factory (``backend.app``) mounts it beside the
dashboard, so neither package imports the other.
"""

from fastapi import APIRouter

from backend.api.routes import audit, callbacks, devices, flats, quarantine, tenants

__all__ = ["router"]

router = APIRouter()
router.include_router(flats.router)
router.include_router(devices.router)
router.include_router(quarantine.router)
router.include_router(audit.router)
router.include_router(callbacks.router)
router.include_router(tenants.router)
