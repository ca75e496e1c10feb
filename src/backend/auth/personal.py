"""Tenants' personal data in responses: marked where it is declared, and kept from
the roles that must never receive it.

A response schema declares a field holding a tenant's personal data with
:func:`personal_field` (``phone: str = personal_field()``). Fields with the usual
names of such data (``name``, ``phone``, ...) count as personal whether marked or not.
:func:`check_personal_data_routes`, run when the app is built, refuses to start an app
in which a route that an analyst may call declares any personal field anywhere in its
response: the analyst's responses are structurally unable to carry a name or phone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args, get_origin

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

__all__ = [
    "NO_PERSONAL_DATA_ROLES",
    "PERSONAL_FIELD_NAMES",
    "app_routes",
    "check_personal_data_routes",
    "personal_field",
    "personal_fields",
    "route_roles",
]

#: roles that never receive a tenant's personal data
NO_PERSONAL_DATA_ROLES = frozenset({"analyst"})
#: field names that hold personal data wherever they appear
PERSONAL_FIELD_NAMES = frozenset(
    {
        "name",
        "full_name",
        "first_name",
        "last_name",
        "surname",
        "tenant",
        "tenant_name",
        "phone",
        "phone_number",
        "mobile",
        "tenant_phone",
        "contact_phone",
        "email",
        "tenant_email",
        "date_of_birth",
    }
)
_MARK = "x-personal-data"


def personal_field(default: Any = ..., **kwargs: Any) -> Any:
    """A schema field holding a tenant's personal data."""
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[_MARK] = True
    return Field(default, json_schema_extra=extra, **kwargs)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    if get_origin(annotation) is not None or get_args(annotation):
        for arg in get_args(annotation):
            found.extend(_models_in(arg))
    return found


def personal_fields(annotation: Any, _seen: set[type[BaseModel]] | None = None) -> list[str]:
    """Dotted paths of the personal fields anywhere in ``annotation`` (a model, or a
    list, dict or union of models)."""
    seen = _seen if _seen is not None else set()
    out: list[str] = []
    for model in _models_in(annotation):
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra
            marked = isinstance(extra, dict) and bool(extra.get(_MARK))
            keys = {name, field.alias or name}
            if marked or keys & PERSONAL_FIELD_NAMES:
                out.append(f"{model.__name__}.{name}")
            out.extend(f"{model.__name__}.{p}" for p in personal_fields(field.annotation, seen))
    return out


def app_routes(app: FastAPI) -> Iterator[tuple[bool, Any]]:
    """Every route of ``app`` as (is an API route, route): routers that FastAPI
    includes lazily are walked too, with the dependencies they add."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers
        for route in app.routes:
            yield isinstance(route, APIRoute), route
        return
    for context in iter_route_contexts(app.routes):
        yield isinstance(context.original_route, APIRoute), context


def route_roles(route: Any) -> frozenset[str] | None:
    """The roles a route admits (None: any signed-in user; empty: no user needed)."""
    from backend.auth.deps import RoleCheck, current_user

    roles: frozenset[str] | None = frozenset()
    signed_in = False
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RoleCheck):
            roles = dep.call.roles if not roles else roles & dep.call.roles
            signed_in = True
        elif dep.call is current_user:
            signed_in = True
        stack.extend(dep.dependencies)
    if signed_in and not roles:
        return None
    return roles


def check_personal_data_routes(app: FastAPI) -> None:
    """Raise if a route that an analyst may call can return personal data."""
    problems = []
    for is_api, route in app_routes(app):
        if not is_api:
            continue
        roles = route_roles(route)
        if roles and not roles & NO_PERSONAL_DATA_ROLES:  # public routes are checked too
            continue
        annotation = route.response_model
        fields = personal_fields(annotation) if annotation is not None else []
        if fields:
            problems.append(f"{route.path}: {', '.join(fields)}")
    if problems:
        raise RuntimeError(
            "routes open to analysts declare a tenant's personal data: " + "; ".join(problems)
        )
