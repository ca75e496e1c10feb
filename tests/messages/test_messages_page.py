"""The dashboard's Messages page: officers and admins only, each officer their own
landlord's messages, never a phone number."""

from __future__ import annotations

import functools

import pytest
from notifyworld import MORNING, World

from backend.auth.passwords import hash_password
from backend.auth.tokens import create_token
from backend.auth.users import add_user
from dampwatch_core.models import Flat

_hash_once = functools.lru_cache(maxsize=4)(hash_password)


@pytest.fixture(autouse=True)
def _hash_each_password_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("backend.auth.users.hash_password", _hash_once)


def _tokens(world: World) -> dict[str, dict[str, str]]:
    people = {
        "admin": ("admin", "north", None),
        "officer": ("officer", "north", None),
        "south_officer": ("officer", "south", None),
        "analyst": ("analyst", "north", None),
        "contractor": ("contractor", "north", "Acme Damp Ltd"),
    }
    tokens = {}
    with world.sessions.begin() as session:
        for who, (role, landlord, contractor) in people.items():
            user = add_user(
                session,
                f"{who}@example.org",
                role,
                "a long test password",
                landlord=landlord,
                contractor=contractor,
            )
            tokens[who] = {"Authorization": f"Bearer {create_token(session, user, 't')[1]}"}
    return tokens


def test_who_may_see_the_messages_page(world: World) -> None:
    with world.sessions.begin() as session:
        session.add(Flat(id="S-1", address="1 South Row", postcode="LS2 2BB", landlord="south"))
    world.add_tenant("P1", "N-1", phone="07400 123456")
    world.add_tenant("P2", "S-1", phone="07400 123457")
    with world.sessions.begin() as session:
        for tenant, flat in (("P1", "N-1"), ("P2", "S-1")):
            world.desk.queue(
                session,
                tenant_id=tenant,
                flat_id=flat,
                purpose="help",
                template_key="reply.help",
                now=MORNING,
            )
    tokens = _tokens(world)
    page = world.client.get("/messages", headers=tokens["officer"])
    assert page.status_code == 200
    assert "N-1" in page.text and "S-1" not in page.text
    assert "reply.help v0" in page.text and "07400" not in page.text
    south = world.client.get("/messages", headers=tokens["south_officer"])
    assert "S-1" in south.text and ">N-1<" not in south.text
    admin = world.client.get("/messages", headers=tokens["admin"])
    assert "N-1" in admin.text and "S-1" in admin.text
    for who in ("analyst", "contractor"):
        assert world.client.get("/messages", headers=tokens[who]).status_code == 403, who
    assert world.client.get("/messages", follow_redirects=False).status_code == 401
