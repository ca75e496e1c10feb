"""Sign-in and sign-out, the session cookie, CSRF, the lockout, headers and hosts."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.auth.csrf import SIGNIN_CSRF_COOKIE
from backend.auth.headers import CONTENT_SECURITY_POLICY
from backend.auth.sessions import SESSION_COOKIE
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models_auth import ApiToken, AuditEvent

from .conftest import PASSWORD, Estate, create_app, csrf_of, make_settings, sign_in


def _actions(estate: Estate) -> list[str]:
    engine = make_engine(estate.settings.database_url)
    with make_sessionmaker(engine)() as s:
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    engine.dispose()
    return actions


def test_sign_in_sets_a_strict_session_cookie_and_sign_out_ends_it(
    client: TestClient, estate: Estate
) -> None:
    page = client.get("/signin")
    assert page.status_code == 200
    response = client.post(
        "/signin",
        data={
            "email": estate.email("officer"),
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "/devices",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/devices"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "path"} <= attrs and "samesite=lax" in cookie.lower()
    assert "secure" not in attrs  # plain HTTP here; see the TLS test
    assert "max-age" not in attrs and "expires" not in attrs  # ends with the browser
    home = client.get("/")
    assert home.status_code == 200 and estate.email("officer") in home.text
    # sign out: the form carries the session's CSRF token
    out = client.post("/signout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert client.get("/").status_code == 401
    # the old cookie is dead server-side, not only deleted in the browser
    client.cookies.set(SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1])
    assert client.get("/").status_code == 401
    assert _actions(estate)[-2:] == ["signin.ok", "signout"]


def test_session_cookie_is_secure_over_tls(estate: Estate) -> None:
    with TestClient(create_app(estate.settings), base_url="https://127.0.0.1") as client:
        page = client.get("/signin")
        assert "secure" in page.headers["set-cookie"].lower()
        response = client.post(
            "/signin",
            data={
                "email": estate.email("admin"),
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        session_cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
        )
        assert "; secure" in session_cookie.lower()


def test_sign_in_without_its_csrf_token_is_refused(client: TestClient, estate: Estate) -> None:
    page = client.get("/signin")
    good = csrf_of(page.text)
    for token in ("", "x" * len(good), good[:-1]):
        response = client.post(
            "/signin",
            data={"email": estate.email("admin"), "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 403, token
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    # the cookie half missing (a cross-site form brings no SameSite=Strict cookie)
    client.cookies.delete(SIGNIN_CSRF_COOKIE)
    response = client.post(
        "/signin",
        data={"email": estate.email("admin"), "password": PASSWORD, "csrf_token": good},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert client.get("/").status_code == 401


def test_sign_out_without_its_csrf_token_is_refused(client: TestClient, estate: Estate) -> None:
    assert sign_in(client, estate.email("admin")) == 303
    for data in ({}, {"csrf_token": "forged"}):
        assert client.post("/signout", data=data).status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_wrong_password_and_unknown_email_look_the_same(client: TestClient, estate: Estate) -> None:
    texts = []
    for email in (estate.email("admin"), "nobody@example.org"):
        assert sign_in(client, email, "wrong password!") == 401
        page = client.get("/signin")  # a fresh form; the message is on the post's answer
        assert page.status_code == 200
        response = client.post(
            "/signin",
            data={"email": email, "password": "wrong", "csrf_token": csrf_of(page.text)},
        )
        texts.append(response.text.replace(email, "EMAIL"))
    assert csrf_of(texts[0]) != csrf_of(texts[1])
    assert texts[0].replace(csrf_of(texts[0]), "T") == texts[1].replace(csrf_of(texts[1]), "T")


def test_lockout_after_five_failures(client: TestClient, estate: Estate) -> None:
    email = estate.email("officer")
    for _ in range(5):
        assert sign_in(client, email, "wrong password!") == 401
    assert sign_in(client, email) == 429  # the right password, locked out
    assert sign_in(client, "OFFICER@example.org") == 429  # same address, other case
    assert sign_in(client, estate.email("analyst")) == 303  # others unaffected
    actions = _actions(estate)
    assert actions.count("signin.failed") == 5 and actions.count("signin.locked") == 2


def test_disabled_user_cannot_sign_in(client: TestClient, estate: Estate) -> None:
    from backend.auth.users import disable_user

    engine = make_engine(estate.settings.database_url)
    with make_sessionmaker(engine).begin() as s:
        disable_user(s, estate.email("officer"))
    engine.dispose()
    assert sign_in(client, estate.email("officer")) == 401
    response = client.get("/api/v1/flats", headers=estate.bearer("officer"))
    assert response.status_code == 401


def test_next_is_only_a_local_path(client: TestClient, estate: Estate) -> None:
    for target, expected in [
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/flats/N-1?days=3", "/flats/N-1?days=3"),
    ]:
        client.cookies.clear()
        page = client.get("/signin")
        response = client.post(
            "/signin",
            data={
                "email": estate.email("admin"),
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected, target


def test_security_headers_on_pages_api_and_errors(client: TestClient, estate: Estate) -> None:
    responses = [
        client.get("/signin"),
        client.get("/"),  # 401 page
        client.get("/api/v1/flats"),  # 401 JSON
        client.get("/api/v1/flats", headers=estate.bearer("officer")),
        client.get("/healthz"),
    ]
    for r in responses:
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "unsafe-inline" not in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store"
    assert "<script" not in responses[0].text and " style=" not in responses[0].text
    static = client.get("/static/style.css")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


def test_only_allowed_hosts_are_answered(client: TestClient) -> None:
    assert client.get("/healthz", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/healthz", headers={"host": "localhost:8080"}).status_code == 200


def test_hosts_come_from_settings(estate: Estate) -> None:
    settings = make_settings(estate.settings.database_url, allowed_hosts="damp.council.example")
    with TestClient(create_app(settings), base_url="http://damp.council.example") as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz", headers={"host": "127.0.0.1"}).status_code == 400


def test_openapi_documents_bearer_and_docs_need_no_cdn(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["token"]["description"],
    }
    assert {"token": []} in spec["paths"]["/api/v1/flats"]["get"]["security"]
    secured = [op for ops in spec["paths"].values() for op in ops.values() if op.get("security")]
    assert len(secured) >= 8
    for op in secured:
        assert {"401", "403"} <= set(op["responses"]), op["operationId"]
    csv = spec["paths"]["/api/v1/audit/export.csv"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in csv
    assert "security" not in spec["paths"]["/healthz"]["get"]
    assert client.get("/docs").status_code in (401, 404)
    assert client.get("/redoc").status_code in (401, 404)


def test_token_use_is_recorded_at_most_once_a_minute(client: TestClient, estate: Estate) -> None:
    for _ in range(3):
        assert client.get("/api/v1/flats", headers=estate.bearer("analyst")).status_code == 200
    assert _actions(estate).count("token.used") == 1
    engine = make_engine(estate.settings.database_url)
    with make_sessionmaker(engine)() as s:
        used = [t.last_used_at for t in s.scalars(select(ApiToken))]
    engine.dispose()
    assert sum(u is not None for u in used) == 1


def test_audit_trail_for_admins_as_json_and_csv(client: TestClient, estate: Estate) -> None:
    assert sign_in(client, "nobody@example.org", "wrong password!") == 401
    events = client.get("/api/v1/audit", headers=estate.bearer("admin")).json()
    assert events[0]["action"] in ("token.used", "signin.failed")
    assert {"signin.failed", "user.created", "token.used"} <= {e["action"] for e in events}
    assert all("password" not in str(e["detail"]).lower() for e in events)
    csv = client.get("/api/v1/audit/export.csv", headers=estate.bearer("admin"))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("id,at,actor")
    assert "signin.failed" in csv.text
    for who in ("officer", "analyst", "contractor"):
        r = client.get("/api/v1/audit/export.csv", headers=estate.bearer(who))
        assert r.status_code == 403


def test_audit_page_and_csv_for_admins_signed_in(client: TestClient, estate: Estate) -> None:
    assert client.get("/audit").status_code == 401
    assert sign_in(client, estate.email("officer")) == 303
    assert client.get("/audit").status_code == 403
    assert client.get("/audit.csv").status_code == 403
    client.cookies.clear()
    assert sign_in(client, estate.email("admin")) == 303
    page = client.get("/audit")
    assert page.status_code == 200 and "signin.ok" in page.text and 'href="/audit"' in page.text
    csv = client.get("/audit.csv")
    assert csv.headers["content-type"].startswith("text/csv") and "signin.ok" in csv.text
