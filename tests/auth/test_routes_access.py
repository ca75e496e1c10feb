"""Every route: no credentials 401, the wrong role 403, another landlord's records
refused (and indistinguishable from ones that do not exist); lists filtered to the
caller's landlord. Routes are found from the app, so a new route is covered (and a new
route without a user check stops the app from starting)."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from backend.auth import PUBLIC_PATHS, install, require_role, unprotected_routes
from backend.auth.personal import (
    NO_PERSONAL_DATA_ROLES,
    PERSONAL_FIELD_NAMES,
    app_routes,
    check_personal_data_routes,
    personal_field,
    route_roles,
)
from dampwatch_core.settings import Settings

from .conftest import USERS, Estate

#: a value for each path parameter: a record of landlord "north"
NORTH = {"flat_id": "N-1", "device_id": "esp32-north0000001", "reference": "DM-000001"}
SOUTH = {"flat_id": "S-1", "device_id": "esp32-south0000001", "reference": "DM-000002"}
MISSING = {"flat_id": "ZZ-9", "device_id": "esp32-none00000009", "reference": "DM-999999"}


def _public(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS)


def get_routes(client: TestClient) -> list[tuple[str, frozenset[str] | None]]:
    """(path template, roles) of every GET route that needs a user."""
    app = client.app
    assert isinstance(app, FastAPI)
    found = []
    for is_api, route in app_routes(app):
        path = str(route.path)
        if is_api and "GET" in (route.methods or ()) and not _public(path):
            found.append((path, route_roles(route)))
    return found


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_routes_are_found(client: TestClient) -> None:
    paths = {p for p, _ in get_routes(client)}
    assert {"/api/v1/flats", "/api/v1/flats/{flat_id}", "/", "/flats/{flat_id}"} <= paths
    assert "/healthz" not in paths


def test_no_credentials_401_on_every_route(client: TestClient) -> None:
    for path, _ in get_routes(client):
        url = fill(path, NORTH)
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 401, url
        if url.startswith("/api/"):
            assert response.headers["www-authenticate"].startswith("Bearer")
        else:  # a page: the sign-in form, coming back here afterwards
            assert 'id="signin"' in response.text and f'value="{url}"' in response.text


@pytest.mark.parametrize(
    "header",
    [
        "Bearer dwt_000000000000_" + "A" * 43,
        "Bearer nonsense",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
    ],
)
def test_bad_credentials_401(client: TestClient, header: str) -> None:
    for path, _ in get_routes(client):
        url = fill(path, NORTH)
        assert client.get(url, headers={"Authorization": header}).status_code == 401, url


def test_api_refuses_a_session_cookie(client: TestClient, estate: Estate) -> None:
    from .conftest import sign_in

    assert sign_in(client, estate.email("admin")) == 303
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/flats").status_code == 401  # the cookie is not a token


def test_wrong_role_403_on_every_route(client: TestClient, estate: Estate) -> None:
    checked = 0
    for path, roles in get_routes(client):
        assert roles is None or roles, path
        for who in ("admin", "officer", "analyst", "contractor"):
            role = who
            response = client.get(fill(path, NORTH), headers=estate.bearer(who))
            if roles is not None and role not in roles:
                assert response.status_code == 403, (path, who)
                checked += 1
            else:
                assert response.status_code not in (401, 403), (path, who, response.text)
    assert checked >= 10


def test_contractor_sees_nothing_of_the_estate(client: TestClient, estate: Estate) -> None:
    for path, roles in get_routes(client):
        if roles is not None and "contractor" in roles:
            continue  # its own work orders (tests/alerting/test_workorder_api.py)
        response = client.get(fill(path, NORTH), headers=estate.bearer("contractor"))
        assert response.status_code == 403, path


@pytest.mark.parametrize("who", ["south_officer", "south_analyst"])
def test_another_landlords_record_is_refused_like_a_missing_one(
    client: TestClient, estate: Estate, who: str
) -> None:
    checked = 0
    for path, roles in get_routes(client):
        role = USERS[who][0]  # a route closed to this role is checked by the 403 test
        if "{" not in path or (roles is not None and role not in roles):
            continue
        other = client.get(fill(path, NORTH), headers=estate.bearer(who))
        missing = client.get(fill(path, MISSING), headers=estate.bearer(who))
        assert other.status_code == missing.status_code == 403, path
        name = next(iter(re.findall(r"\{(\w+)\}", path)))
        assert other.text.replace(NORTH[name], "X") == missing.text.replace(MISSING[name], "X")
        own = client.get(fill(path, SOUTH), headers=estate.bearer(who))
        assert own.status_code not in (401, 403), (path, own.text)
        checked += 1
    assert checked >= 5


def test_admin_is_told_404_for_what_does_not_exist(client: TestClient, estate: Estate) -> None:
    response = client.get("/api/v1/flats/ZZ-9", headers=estate.bearer("admin"))
    assert response.status_code == 404


def test_lists_hold_only_the_callers_landlords_records(client: TestClient, estate: Estate) -> None:
    def ids(who: str, url: str) -> set[str]:
        response = client.get(url, headers=estate.bearer(who))
        assert response.status_code == 200, response.text
        return {row["id"] for row in response.json()}

    assert ids("officer", "/api/v1/flats") == {"N-1"}
    assert ids("south_analyst", "/api/v1/flats?sort=risk") == {"S-1"}
    assert ids("admin", "/api/v1/flats") == {"N-1", "S-1"}
    assert ids("south_officer", "/api/v1/devices") == {"esp32-south0000001"}
    assert ids("south_officer", "/api/v1/devices?flat=N-1") == set()
    assert ids("admin", "/api/v1/devices") == {"esp32-north0000001", "esp32-south0000001"}


def test_pages_hold_only_the_callers_landlords_records(client: TestClient, estate: Estate) -> None:
    from .conftest import sign_in

    assert sign_in(client, estate.email("south_officer")) == 303
    estate_page = client.get("/").text
    assert "S-1" in estate_page and "N-1" not in estate_page and "North Block" not in estate_page
    devices_page = client.get("/devices").text
    assert "esp32-south0000001" in devices_page and "esp32-north" not in devices_page
    assert client.get("/flats/N-1").status_code == 403
    assert client.get("/quarantine").status_code == 403


def test_health_needs_no_user(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_an_unprotected_route_stops_the_app() -> None:
    # Swagger UI and Redoc load from a CDN: refused too
    assert set(unprotected_routes(FastAPI())) >= {"/docs", "/redoc"}
    app = FastAPI(docs_url=None, redoc_url=None)
    router = APIRouter()

    @router.get("/api/v1/secret")
    def secret() -> dict[str, str]:
        return {"a": "b"}

    app.include_router(router)
    assert unprotected_routes(app) == ["/api/v1/secret"]
    with pytest.raises(RuntimeError, match="/api/v1/secret"):
        install(app, Settings())


def test_analysts_never_receive_a_tenants_name_or_phone(client: TestClient, estate: Estate) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    check_personal_data_routes(app)  # as the app did when it was built
    for path, roles in get_routes(client):
        if roles is not None and not roles & NO_PERSONAL_DATA_ROLES:
            continue
        response = client.get(fill(path, NORTH), headers=estate.bearer("analyst"))
        if response.headers.get("content-type", "").startswith("application/json"):
            assert not _keys(response.json()) & PERSONAL_FIELD_NAMES, path


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


class _Tenant(BaseModel):
    id: str
    contact: str = personal_field()


class _Case(BaseModel):
    id: str
    tenants: list[_Tenant]


class _Named(BaseModel):
    id: str
    phone: str


@pytest.mark.parametrize("model", [_Case, _Named, list[_Named]])
def test_a_route_open_to_analysts_cannot_declare_personal_data(model: object) -> None:
    for roles in (("officer", "analyst"), None):
        app = FastAPI()
        dependencies = [require_role(*roles)] if roles else []

        @app.get("/api/v1/cases", response_model=model, dependencies=dependencies)
        def cases() -> object:
            return []

        if roles is None:  # no user at all: refused as unprotected first
            with pytest.raises(RuntimeError):
                install(app, Settings())
        else:
            with pytest.raises(RuntimeError, match="personal data"):
                check_personal_data_routes(app)
    officers_only = FastAPI()

    @officers_only.get(
        "/api/v1/cases", response_model=model, dependencies=[require_role("officer")]
    )
    def officer_cases() -> object:
        return []

    check_personal_data_routes(officers_only)
