"""The dashboard's front-end packages (GOV.UK Frontend, MOJ Frontend, uPlot, htmx),
installed by npm from ``package.json`` beside this file and served by the app itself:
no CDN, so the dashboard works on a council network with no internet.

Paths, all public (the sign-in page needs them):

- ``/static/vendor/<name>/...`` the packages' built files (:data:`VENDOR`);
- ``/assets/fonts/...``, ``/assets/images/...`` the fonts and images that GOV.UK and MOJ
  Frontend's precompiled stylesheets name by those absolute paths.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "NODE_MODULES", "VENDOR", "missing_assets", "mount_assets"]

NODE_MODULES = Path(__file__).parent / "node_modules"
ASSETS_PATH = "/assets"

#: URL name -> the package directory whose files are served under it
VENDOR: dict[str, Path] = {
    "govuk": NODE_MODULES / "govuk-frontend" / "dist" / "govuk",
    "moj": NODE_MODULES / "@ministryofjustice" / "frontend" / "moj",
    "uplot": NODE_MODULES / "uplot" / "dist",
    "htmx": NODE_MODULES / "htmx.org" / "dist",
}
#: the files the pages link to (checked by :func:`missing_assets`)
REQUIRED = (
    VENDOR["govuk"] / "govuk-frontend.min.css",
    VENDOR["govuk"] / "govuk-frontend.min.js",
    VENDOR["moj"] / "moj-frontend.min.css",
    VENDOR["uplot"] / "uPlot.iife.min.js",
    VENDOR["uplot"] / "uPlot.min.css",
    VENDOR["htmx"] / "htmx.min.js",
)


class _Layered(StaticFiles):
    """Static files looked up in several directories in turn (GOV.UK's assets, then
    MOJ's), as one URL tree."""

    def __init__(self, directories: list[Path]) -> None:
        super().__init__(directory=directories[0], check_dir=False)
        self.all_directories = [str(d) for d in directories]


def missing_assets() -> list[Path]:
    """The front-end files that are not installed (``npm ci`` in this directory)."""
    return [p for p in REQUIRED if not p.is_file()]


def mount_assets(app: FastAPI) -> None:
    """Mount the vendor packages and their assets; call before mounting ``/static``."""
    for name, directory in VENDOR.items():
        app.mount(
            f"/static/vendor/{name}",
            StaticFiles(directory=directory, check_dir=False),
            name=f"vendor-{name}",
        )
    app.mount(
        ASSETS_PATH,
        _Layered([VENDOR["govuk"] / "assets", VENDOR["moj"] / "assets"]),
        name="assets",
    )
