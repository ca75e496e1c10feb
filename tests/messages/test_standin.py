"""The stand-in Notify checks what Notify checks: the client's JWT (HS256 with the key's
secret, iss the service id, iat fresh) and the request bodies."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from notifications_python_client.notifications import NotificationsAPIClient
from notifyworld import World

from alerting.channels.notify import NotifyClientNotifier, NotifyError
from dampwatch.stack.notify_standin import api_key_for, is_uk_mobile, is_uk_postcode


def _ids(world: World) -> tuple[str, str, str]:
    s = world.settings
    return (
        str(s.notify_sms_template_id),
        str(s.notify_letter_template_id),
        str(s.notify_email_template_id),
    )


def test_the_real_client_is_accepted_and_records_what_it_sent(world: World) -> None:
    sms, letter, _ = _ids(world)
    notifier = NotifyClientNotifier(
        world.settings.notify_api_key.get_secret_value(),  # type: ignore[union-attr]
        world.settings.notify_base_url,
    )
    first = notifier.send_sms("07400 123456", sms, {"body": "hello"}, "ref-1")
    second = notifier.send_letter(
        letter,
        {
            "address_line_1": "Flat 1",
            "address_line_2": "Tower House",
            "address_line_3": "LS1 1AA",
            "subject": "s",
            "body": "b",
        },
        "ref-2",
    )
    assert [r.id for r in world.standin.received] == [first, second]
    assert world.standin.received[0].reference == "ref-1"
    listed = NotificationsAPIClient(
        world.settings.notify_api_key.get_secret_value(),  # type: ignore[union-attr]
        base_url=world.settings.notify_base_url,
    ).get_all_notifications(reference="ref-2")
    assert [n["id"] for n in listed["notifications"]] == [second]


def test_a_wrong_secret_or_service_is_refused(world: World) -> None:
    sms, _, _ = _ids(world)
    service = world.standin.service_id
    for key in (
        api_key_for("x", service, str(uuid.uuid4())),  # wrong secret
        api_key_for("x", str(uuid.uuid4()), world.standin.secret),  # unknown service
    ):
        notifier = NotifyClientNotifier(key, world.settings.notify_base_url)
        with pytest.raises(NotifyError) as refused:
            notifier.send_sms("07400 123456", sms, {"body": "x"}, "r")
        assert (refused.value.status_code, refused.value.retryable) == (403, False)
    assert world.standin.received == []


def test_a_stale_or_unsigned_token_is_refused(world: World) -> None:
    import httpx

    url = f"{world.settings.notify_base_url}/v2/notifications/sms"
    body = {
        "phone_number": "07400 123456",
        "template_id": _ids(world)[0],
        "personalisation": {"body": "x"},
    }
    stale = jwt.encode(
        {"iss": world.standin.service_id, "iat": int(time.time()) - 120},
        world.standin.secret,
        algorithm="HS256",
    )
    no_iat = jwt.encode({"iss": world.standin.service_id}, world.standin.secret, algorithm="HS256")
    other_alg = jwt.encode(
        {"iss": world.standin.service_id, "iat": int(time.time())},
        world.standin.secret,
        algorithm="HS512",
    )
    for token in (stale, no_iat, other_alg):
        answer = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403, token
        assert answer.json()["errors"][0]["error"] == "AuthError"
    assert httpx.post(url, json=body).status_code == 401
    assert world.standin.received == []


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        (
            "sms",
            {"phone_number": "07400 12345", "personalisation": {"body": "x"}},
            "phone_number Not a UK mobile number",
        ),
        (
            "sms",
            {"phone_number": "0113 496 0000", "personalisation": {"body": "x"}},
            "phone_number Not a UK mobile number",
        ),
        ("sms", {"phone_number": "07400 123456"}, "Missing personalisation: body"),
        (
            "sms",
            {
                "phone_number": "07400 123456",
                "template_id": "not-a-uuid",
                "personalisation": {"body": "x"},
            },
            "template_id is not a valid UUID",
        ),
        (
            "sms",
            {
                "phone_number": "07400 123456",
                "template_id": str(uuid.uuid4()),
                "personalisation": {"body": "x"},
            },
            "Template not found",
        ),
        (
            "letter",
            {
                "personalisation": {
                    "address_line_1": "Flat 1",
                    "address_line_2": "LS1 1AA",
                    "subject": "s",
                    "body": "b",
                }
            },
            "Address must be at least 3 lines",
        ),
        (
            "letter",
            {
                "personalisation": {
                    "address_line_1": "Flat 1",
                    "address_line_2": "Leeds",
                    "address_line_3": "Nowhere",
                    "subject": "s",
                    "body": "b",
                }
            },
            "Last line of address must be a real UK postcode",
        ),
        (
            "email",
            {"email_address": "not an address", "personalisation": {"subject": "s", "body": "b"}},
            "email_address Not a valid email address",
        ),
    ],
)
def test_bodies_are_validated_like_notify(
    world: World, kind: str, body: dict[str, object], message: str
) -> None:
    sms, letter, email = _ids(world)
    template = {"sms": sms, "letter": letter, "email": email}[kind]
    client = NotificationsAPIClient(
        world.settings.notify_api_key.get_secret_value(),  # type: ignore[union-attr]
        base_url=world.settings.notify_base_url,
    )
    payload = {"template_id": template, **body}
    from notifications_python_client.errors import HTTPError

    with pytest.raises(HTTPError) as refused:
        client.post(f"/v2/notifications/{kind}", data=payload)
    assert refused.value.status_code == 400
    assert refused.value.message[0]["message"] == message  # type: ignore[index]
    assert "07400" not in str(refused.value.message)  # never echoes a number
    assert world.standin.received == []


def test_phone_and_postcode_rules() -> None:
    for good in ("07400 123456", "+44 7400 123456", "0044 7400 123456", "(07400) 123-456"):
        assert is_uk_mobile(good), good
    for bad in ("07400 12345", "0113 496 0000", "+1 415 555 0100", "7400123456"):
        assert not is_uk_mobile(bad), bad
    assert is_uk_postcode("LS1 1AA") and is_uk_postcode("sw1a2aa")
    assert not is_uk_postcode("Leeds") and not is_uk_postcode("LS1")
