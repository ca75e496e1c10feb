"""A partner that takes referrals by email gets them through GOV.UK Notify: the outbox's
``email`` row goes by the real Notify client to the stand-in, as plain text with the
referral's fields, Notify's reference carrying no personal data; an address Notify
refuses fails the row with the reason (replayable), and nothing else is sent."""

from __future__ import annotations

import json

from notifyworld import World
from sqlalchemy import select

from alerting.channels import PARTNER_EMAIL, ChannelRouter
from alerting.channels.partner_email import referral_email
from alerting.outbox import Dispatcher, RetryPolicy, enqueue
from dampwatch.messaging import partner_email_channel
from dampwatch_core.models_cases import OutboxMessage

REFERRAL = {
    "schema": "dampwatch-referral/1",
    "referral_reference": "RF-000001",
    "case_reference": "OR-000001",
    "partner": "Leeds Affordable Warmth",
    "referred_at": "2026-01-13T10:00:00+00:00",
    "reason": "under-heating: the living room below 16 C most evenings",
    "consent": {"purpose": "partner_referral"},
    "household": {
        "name": "Ann Example",
        "preferred_language": "en",
        "preferred_channel": "sms",
        "phone": "+447400123456",
        "address": "Flat 1, Tower House, Leeds",
        "postcode": "LS1 1AA",
    },
    "landlord": {"name": "north", "contact": "0113 000 0001"},
}


def _queue(world: World, to: str) -> str:
    with world.sessions.begin() as session:
        row = enqueue(
            session,
            event_type="referral.created",
            payload={"to": to, "referral": REFERRAL},
            contractor_id=None,
            case_id=None,
            now=world.clock(),
            channel=PARTNER_EMAIL,
        )
        session.flush()
        return row.message_id


def _dispatch(world: World) -> None:
    router = ChannelRouter({PARTNER_EMAIL: partner_email_channel(world.settings)})
    with Dispatcher(
        world.sessions, router, clock=world.clock, policy=RetryPolicy(), concurrency=1
    ) as dispatcher:
        while dispatcher.run_once():
            pass


def _row(world: World, message_id: str) -> OutboxMessage:
    with world.sessions() as session:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        ).one()


def test_a_referral_by_email_goes_through_notify(world: World) -> None:
    message_id = _queue(world, "referrals@warmth.example")
    _dispatch(world)
    [sent] = world.standin.received
    assert (sent.type, sent.recipient, sent.reference) == (
        "email",
        "referrals@warmth.example",
        message_id,
    )
    subject, body = referral_email(REFERRAL)
    assert sent.personalisation == {"subject": subject, "body": body}
    assert "RF-000001" in subject and "OR-000001" in body
    assert "- Name: Ann Example" in body and "- Phone: +447400123456" in body
    assert _row(world, message_id).status == "delivered"


def test_an_address_notify_refuses_fails_with_its_reason(world: World) -> None:
    message_id = _queue(world, "not an email address")
    _dispatch(world)
    assert world.standin.received == []
    row = _row(world, message_id)
    assert row.status == "failed" and row.last_error
    assert "not an email address" not in row.last_error  # the address is not echoed
    assert json.loads(row.body)["referral"]["referral_reference"] == "RF-000001"
