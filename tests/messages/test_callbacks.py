"""Notify's delivery-status callback: it updates the message and the case's trail, and
is refused without the right bearer token."""

from __future__ import annotations

from notifyworld import MORNING, World
from sqlalchemy import select

from alerting.cases.states import CaseKind, TriggerSource
from dampwatch_core.models_cases import CaseStatusChange
from dampwatch_core.models_tenants import Purpose

STATUS = "/api/v1/callbacks/notify/status"
INBOUND = "/api/v1/callbacks/notify/inbound"


def _sent_one(world: World) -> str:
    world.add_tenant("C1", "N-1", phone="07400 123456", consents=(Purpose.SMS_TIPS,))
    with world.sessions.begin() as session:
        case = world.cases.open_case(
            session,
            flat_id="N-1",
            kind=CaseKind.OUTREACH,
            trigger=TriggerSource.STAFF,
            aware_at=MORNING,
            actor="tests",
            now=MORNING,
            description="cold",
        )
        world.desk.queue(
            session,
            tenant_id="C1",
            flat_id="N-1",
            purpose="help",
            template_key="reply.help",
            now=MORNING,
            case_id=case.id,
        )
    assert world.dispatch() == 1
    (received,) = world.standin.received
    return received.id


def test_a_status_callback_updates_the_message_and_its_case(world: World) -> None:
    notification = _sent_one(world)
    response = world.standin.fire_status(notification, "delivered")
    assert response.status_code == 200, response.text
    (message,) = world.messages()
    assert (message.status, message.notify_id) == ("delivered", notification)
    # a late "sending" does not undo "delivered"
    assert world.standin.fire_status(notification, "sending").status_code == 200
    assert world.messages()[0].status == "delivered"
    with world.sessions() as session:
        trail = list(
            session.scalars(select(CaseStatusChange).where(CaseStatusChange.event == "message"))
        )
    assert [t.detail["status"] for t in trail] == ["delivered"]
    assert "reply.help v0" in trail[0].reason


def test_a_status_callback_with_a_wrong_token_is_refused(world: World) -> None:
    notification = _sent_one(world)
    wrong = world.standin.fire_status(notification, "permanent-failure", token="not-the-token")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "detail": "the callback's bearer token is missing or wrong",
        "errors": [],
    }
    assert world.messages()[0].status == "created"
    body = world.standin.status_payload(world.standin.received[0], "delivered")
    assert world.client.post(STATUS, json=body).status_code == 401  # no token at all
    prefix = world.client.post(
        STATUS,
        json=body,
        headers={"Authorization": f"Bearer {world.standin.status_callback_token}x"},
    )
    assert prefix.status_code == 401
    # the inbound token is not the status token
    crossed = world.client.post(
        STATUS,
        json=body,
        headers={"Authorization": f"Bearer {world.standin.inbound_callback_token}"},
    )
    assert crossed.status_code == 401
    assert world.messages()[0].status == "created"


def test_an_inbound_callback_with_a_wrong_token_is_refused(world: World) -> None:
    world.add_tenant("C2", "N-2", phone="07400 123457")
    wrong = world.standin.fire_inbound("07400 123457", "STOP", token="nope")
    assert wrong.status_code == 401
    assert world.messages() == []
    with world.sessions() as session:
        from dampwatch_core.models_tenants import Consent

        consent = session.scalars(select(Consent)).one()
        assert consent.withdrawn_at is None


def test_bad_bodies_and_unknown_ids(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.standin.status_callback_token}"}
    unknown = world.client.post(
        STATUS, json={"id": "no-such", "status": "delivered"}, headers=headers
    )
    assert unknown.status_code == 404 and unknown.json()["errors"] == []
    bad = world.client.post(STATUS, json={"id": "x", "status": "Delivered!"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "status"
    inbound = {"Authorization": f"Bearer {world.standin.inbound_callback_token}"}
    no_date = world.client.post(
        INBOUND,
        json={"id": "1", "source_number": "07400 123456", "message": "hi"},
        headers=inbound,
    )
    assert no_date.status_code == 422
    assert "07400" not in no_date.text  # the number is not answered back


def test_callbacks_are_refused_when_no_token_is_configured(world: World) -> None:
    from fastapi.testclient import TestClient

    from backend.app import create_app

    settings = world.settings.model_copy(update={"notify_status_token": None})
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            STATUS,
            json={"id": "x", "status": "delivered"},
            headers={"Authorization": "Bearer anything"},
        )
    assert answer.status_code == 401
