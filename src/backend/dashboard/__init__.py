"""The housing officers' dashboard: server-rendered pages (work without JavaScript,
on any council PC), from the same queries as the API.

:data:`router` serves the pages and :data:`STATIC_DIR` their assets; the app factory
(``backend.app``) mounts both.
"""

from pathlib import Path

from backend.dashboard import messages
from backend.dashboard.routes import error_page, router

router.include_router(messages.router)

__all__ = ["STATIC_DIR", "error_page", "router"]

STATIC_DIR = Path(__file__).parent / "static"
