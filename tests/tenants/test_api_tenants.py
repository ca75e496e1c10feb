"""The tenants API: officers and admins read a flat's tenants (each read audited) and
record consents; every refusal answers with the one error shape: no token 401, an
analyst or contractor 403, another landlord's flat or tenant 403 (like one that does
not exist), an admin 404 for what does not exist; bad bodies 422, never 500."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.auth.passwords import hash_password
from backend.auth.tokens import create_token
from backend.auth.users import add_user
from backend.tenants import ContactCipher
from backend.tenants.records import record_from_row
from backend.tenants.store import save_tenant
from dampwatch.stack.ports import free_port
from dampwatch_core.models_auth import AuditEvent
from dampwatch_core.settings import Settings

NOW = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
USERS = {
    "admin": ("admin", "north"),
    "officer": ("officer", "north"),
    "analyst": ("analyst", "north"),
    "contractor": ("contractor", "north"),
    "south_officer": ("officer", "south"),
}
_hash_once = functools.lru_cache(maxsize=4)(hash_password)


@pytest.fixture
def api(
    sessions: sessionmaker[Session],
    database_url: str,
    key: str,
    cipher: ContactCipher,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    monkeypatch.setattr("backend.auth.users.hash_password", _hash_once)
    tokens = {}
    with sessions.begin() as session:
        for who, (role, landlord) in USERS.items():
            user = add_user(
                session,
                f"{who}@example.org",
                role,
                "a long test password",
                landlord=landlord,
                contractor="Acme" if role == "contractor" else None,
            )
            tokens[who] = {"Authorization": f"Bearer {create_token(session, user, 't')[1]}"}
        for tid, flat in (("T1", "N1"), ("T9", "S1")):
            save_tenant(
                session,
                record_from_row(
                    {
                        "tenant_id": tid,
                        "flat_id": flat,
                        "name": "Ann Example",
                        "start_date": "2025-01-01",
                        "phone": "07400 123456",
                        "email": "a@example.org",
                        "consents": "damp_monitoring",
                        "consent_given_how": "paper form",
                    },
                    today=NOW.date(),
                ),
                cipher,
                actor="cli:test",
                now=NOW,
            )
    settings = Settings(
        database_url=database_url,
        tenant_data_keys=key,  # type: ignore[arg-type]
        influx_url=f"http://127.0.0.1:{free_port()}",
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client, tokens


def test_officer_reads_a_flats_tenants_and_the_read_is_audited(
    api: tuple[TestClient, dict[str, dict[str, str]]], sessions: sessionmaker[Session]
) -> None:
    client, tokens = api
    response = client.get("/api/v1/flats/N1/tenants", headers=tokens["officer"])
    assert response.status_code == 200, response.text
    [tenant] = response.json()["tenants"]
    assert (tenant["id"], tenant["phone"], tenant["email"]) == (
        "T1",
        "+447400123456",
        "a@example.org",
    )
    assert [c["purpose"] for c in tenant["consents"]] == ["damp_monitoring"]
    with sessions() as session:
        [read] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "personal_data.read")
        ).all()
        assert (read.actor, read.subject_id, read.landlord) == (
            "officer@example.org",
            "T1",
            "north",
        )
    assert client.get("/api/v1/flats/N2/tenants", headers=tokens["officer"]).json()["tenants"] == []


def test_every_refusal(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, tokens = api
    give = {"purpose": "sms_tips", "how": "phone call"}
    routes = [
        ("GET", "/api/v1/flats/N1/tenants", None),
        ("POST", "/api/v1/tenants/T1/consents", give),
        ("POST", "/api/v1/tenants/T1/consents/damp_monitoring/withdrawal", {"how": "letter"}),
    ]
    for method, path, body in routes:

        def call(
            headers: dict[str, str] | None,
            url: str = path,
            method: str = method,
            body: object = body,
        ) -> tuple[int, dict[str, object]]:
            r = client.request(method, url, headers=headers or {}, json=body)
            return r.status_code, r.json()

        code, err = call(None)
        assert code == 401 and set(err) == {"detail", "errors"}, path
        for who in ("analyst", "contractor"):
            code, err = call(tokens[who])
            assert code == 403 and "may not see or do this" in str(err["detail"]), (path, who)
        code, err = call(tokens["south_officer"])
        assert code == 403 and "not among your landlord's records" in str(err["detail"]), path
        missing = path.replace("N1", "ZZ9").replace("T1", "T404")
        code, err_missing = call(tokens["officer"], missing)
        assert (code, err_missing["detail"]) == (
            403,
            str(err["detail"]).replace("'N1'", "'ZZ9'").replace("'T1'", "'T404'"),
        ), path
        assert call(tokens["admin"], missing)[0] == 404, path
    # the south officer cannot reach the north tenant through their own flat either
    assert client.get("/api/v1/flats/S1/tenants", headers=tokens["officer"]).status_code == 403


def test_consent_through_the_api(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, tokens = api
    officer = tokens["officer"]
    url = "/api/v1/tenants/T1/consents"
    r = client.post(url, headers=officer, json={"purpose": "sms_tips", "how": "phone call"})
    assert r.status_code == 201, r.text
    assert r.json()["lawful_basis"] == "consent"
    again = client.post(url, headers=officer, json={"purpose": "sms_tips", "how": "form"})
    assert again.status_code == 422 and "already given" in again.json()["detail"]
    for bad in (
        {"purpose": "gossip", "how": "x"},
        {"purpose": "sms_tips"},
        {"purpose": "sms_tips", "how": "x", "lawful_basis": "whim"},
        {"purpose": "research", "how": "x", "at": "2026-12-01T10:00:00"},
        {"purpose": "research", "how": "x", "at": "0001-01-01T00:00:00+23:59"},
        {"purpose": "research", "how": "x", "at": "9999-12-31T23:59:59-23:59"},
        {"purpose": "research", "how": "pho\u0000ne"},
    ):
        r = client.post(url, headers=officer, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert set(r.json()) == {"detail", "errors"}
    garbled = client.post(
        url, headers={**officer, "content-type": "application/json"}, content=b"\x16\xff"
    )
    assert garbled.status_code == 400 and set(garbled.json()) == {"detail", "errors"}
    w = client.post(
        "/api/v1/tenants/T1/consents/sms_tips/withdrawal", headers=officer, json={"how": "letter"}
    )
    assert (w.status_code, w.json()) == (200, {"withdrawn": True})
    w = client.post(
        "/api/v1/tenants/T1/consents/sms_tips/withdrawal", headers=officer, json={"how": "letter"}
    )
    assert w.json() == {"withdrawn": False}
    assert (
        client.post(
            "/api/v1/tenants/T1/consents/nope/withdrawal", headers=officer, json={"how": "letter"}
        ).status_code
        == 422
    )
