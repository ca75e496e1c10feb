"""The app factory sits above the API and the dashboard: neither imports the other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "src" / "backend"


def imported_modules(package: Path) -> set[str]:
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
    return names


@pytest.mark.parametrize(("package", "other"), [("api", "dashboard"), ("dashboard", "api")])
def test_api_and_dashboard_do_not_import_each_other(package: str, other: str) -> None:
    offending = {
        name
        for name in imported_modules(BACKEND / package)
        if name == f"backend.{other}"
        or name.startswith(f"backend.{other}.")
        or name in ("backend.app",)
    }
    assert not offending, f"backend.{package} imports {sorted(offending)}"


def test_the_factory_mounts_both() -> None:
    from backend.app import create_app
    from dampwatch_core.settings import Settings

    app = create_app(Settings(database_url="sqlite:///unused.db"))
    paths = set(app.openapi()["paths"])
    assert "/api/v1/flats" in paths
    assert "/api/v1/quarantine" in paths
    dashboard_paths = {getattr(r, "path", None) for r in app.router.routes}
    assert "/static" in dashboard_paths
