"""The housing officers' dashboard: server-rendered pages (work without JavaScript,
on any council PC), from the same queries as the API.

:data:`router` serves the pages and :data:`STATIC_DIR` their assets; the app factory
(``backend.app``) mounts both.
"""

from backend.dashboard import messages
from backend.dashboard.assets import mount_assets
from backend.dashboard.routes import error_page, router
from backend.dashboard.templating import STATIC_DIR

router.include_router(messages.router)

__all__ = ["STATIC_DIR", "error_page", "mount_assets", "router"]
