"""The dashboard's Jinja2 templates and the filters they use, shared by its pages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader

from backend.auth.deps import template_context

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "templates", "when"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

#: the dashboard's templates, and GOV.UK Frontend's component macros (the
#: ``govuk-frontend-jinja`` port) under ``govuk_frontend_jinja/``
_env = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(TEMPLATES_DIR),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    ),
    autoescape=True,
)
templates = Jinja2Templates(env=_env, context_processors=[template_context])


def when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%d %b %Y %H:%M UTC")


def label(value: str | None) -> str:
    """``works_scheduled`` -> ``works scheduled``."""
    return (value or "").replace("_", " ")


templates.env.filters["when"] = when
templates.env.filters["label"] = label
