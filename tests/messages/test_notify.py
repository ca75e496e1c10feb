"""Messages to tenants through the real Notify client against the stand-in Notify:
consent, the weekly cap and quiet hours under a burst, STOP, letters, callbacks."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from notifyworld import MORNING, World
from sqlalchemy import select

from alerting.cases.states import CaseKind, CaseState, TriggerSource
from backend.tenants.phones import parse_uk_phone
from dampwatch_core.const import Level
from dampwatch_core.findings import Finding, FindingKind
from dampwatch_core.models_cases import HazardCase
from dampwatch_core.models_tenants import Consent, Purpose

LONDON = ZoneInfo("Europe/London")


def finding(flat: str, kind: FindingKind = FindingKind.COLD, level: Level = Level.HIGH) -> Finding:
    end = MORNING
    return Finding(flat, kind, Level.LOW, level, end - dt.timedelta(days=7), end)


def phone(i: int) -> str:
    """A mobile number phonenumbers accepts (Ofcom's drama range 07700 900xxx is not)."""
    return f"07400 123{i:03d}"


def e164(number: str) -> str:
    return parse_uk_phone(number).e164


def sent_sms(world: World) -> list[tuple[str, str]]:
    """(number in E.164, text) of every text the stand-in accepted."""
    return [
        (e164(r.recipient), r.personalisation["body"])
        for r in world.standin.received
        if r.type == "sms"
    ]


def test_tips_only_to_tenants_who_opted_in(world: World) -> None:
    world.add_tenant("T1", "N-1", phone=phone(1))
    world.add_tenant("T2", "N-2", phone=phone(2), consents=(Purpose.DAMP_MONITORING,))
    world.tips.publish([finding("N-1"), finding("N-2", FindingKind.DAMP)])
    assert world.dispatch() == 1
    assert [to for to, _ in sent_sms(world)] == [e164(phone(1))]
    body = sent_sms(world)[0][1]
    assert "Warm Home Discount" in body and "STOP" in body and "0113 000 0000" in body
    assert "£" not in body
    (message,) = world.messages()
    assert (message.tenant_id, message.status, message.template_key) == (
        "T1",
        "created",
        "tip.cold.warmth",
    )
    # the reference Notify got carries no personal data: ours, random
    assert world.standin.received[0].reference == message.reference
    assert message.reference.startswith("dw-") and "T1" not in message.reference


def test_letter_for_a_tenant_without_a_mobile(world: World) -> None:
    world.add_tenant("T3", "N-3", phone=None, address="Flat 3|Tower House|Leeds|LS1 1AA")
    world.add_tenant("T4", "N-4", phone="0113 496 0000")  # a landline: no text possible
    world.tips.publish([finding("N-3", FindingKind.DAMP), finding("N-4", FindingKind.DAMP)])
    assert world.dispatch() == 2
    letters = [r for r in world.standin.received if r.type == "letter"]
    assert len(letters) == 2 and not sent_sms(world)
    # sent concurrently: found by address, not by order
    (first,) = [r.personalisation for r in letters if r.recipient == "Flat 3"]
    assert (first["address_line_1"], first["address_line_4"]) == ("Flat 3", "LS1 1AA")
    assert "report damp or mould" in first["body"] and "stop" in first["body"]
    assert {m.channel for m in world.messages()} == {"letter"}


def test_written_summary_is_a_letter_or_email_never_a_text(world: World) -> None:
    world.add_tenant("T5", "N-5", phone=phone(5), address="Flat 5|Tower House|Leeds|LS1 1AA")
    world.add_tenant("T6", "N-6", phone=phone(6), email="t6@example.org", address=None, consents=())
    world.cases.after_investigation = lambda s, case, now: world.desk.written_summary(s, case, now)
    with world.sessions.begin() as session:
        for flat in ("N-5", "N-6"):
            case = world.cases.open_case(
                session,
                flat_id=flat,
                kind=CaseKind.REPAIR,
                trigger=TriggerSource.SENSOR,
                aware_at=MORNING,
                actor="tests",
                now=MORNING,
                description="damp",
            )
            for state in (CaseState.ACKNOWLEDGED, CaseState.INVESTIGATING, CaseState.MADE_SAFE):
                world.cases.move(session, case, state, actor="officer@example.org", now=MORNING)
    world.dispatch()
    kinds = sorted((r.type, r.recipient) for r in world.standin.received)
    assert kinds == [("email", "t6@example.org"), ("letter", "Flat 5")]
    assert all(m.purpose == "summary" and m.case_id for m in world.messages())


def test_no_tip_to_a_flat_with_an_open_repair_case(world: World) -> None:
    world.add_tenant("T7", "N-7", phone=phone(7))
    world.tips.publish([finding("N-7", FindingKind.DAMP)])  # queued ...
    with world.sessions.begin() as session:  # ... then a repair case opens
        world.cases.open_case(
            session,
            flat_id="N-7",
            kind=CaseKind.REPAIR,
            trigger=TriggerSource.SENSOR,
            aware_at=MORNING,
            actor="tests",
            now=MORNING,
            description="damp",
        )
    world.dispatch()
    world.tips.publish([finding("N-7", FindingKind.DAMP)])
    world.dispatch()
    assert sent_sms(world) == []
    (message,) = world.messages()
    assert (message.status, message.status_reason) == (
        "cancelled",
        "the flat has an open repair case",
    )


def test_quiet_hours_and_weekly_cap_hold_under_a_burst_of_10000_cold_findings(
    world: World,
) -> None:
    flats = world.flats  # 20 flats, one tenant each
    for i, flat in enumerate(flats):
        world.add_tenant(f"T{i}", flat, phone=phone(100 + i))
    world.clock.now = dt.datetime(2026, 1, 12, 21, 0, tzinfo=dt.UTC)  # a Monday, 21:00
    runs = 250  # × 40 findings (2 per flat) = 10,000, one run each 100 minutes: 17 days
    for _ in range(runs):
        world.tips.publish([finding(flat) for flat in flats for _ in range(2)])
        world.dispatch()
        world.clock.advance(minutes=100)
    world.clock.advance(days=1)
    world.dispatch()
    sent = [m for m in world.messages() if m.sent_at is not None]
    assert len(sent) == len(world.standin.received)
    by_tenant: dict[str, list[dt.datetime]] = {}
    for m in sent:
        local = m.sent_at.astimezone(LONDON)  # type: ignore[union-attr]
        assert dt.time(9) <= local.time() < dt.time(20), f"sent at {local}"
        by_tenant.setdefault(m.tenant_id, []).append(m.sent_at)  # type: ignore[arg-type]
    assert len(by_tenant) == len(flats)
    for times in by_tenant.values():
        times.sort()
        assert all(b - a >= dt.timedelta(days=7) for a, b in itertools.pairwise(times))
        assert len(times) == 3  # 17 days: the first morning, +7, +14
    # the first findings came in the quiet hours: every first tip was held to 09:00
    firsts = [min(m.send_after for m in sent if m.tenant_id == t) for t in by_tenant]
    assert {t.astimezone(LONDON).time() for t in firsts} == {dt.time(9)}


STOPS = ["STOP", "stop all", " Unsubscribe ", "END", "quit", "Cancel.", "STOP texting me"]


def test_stop_variants_stop_at_once_under_a_burst_of_findings(world: World) -> None:
    for i, _ in enumerate(STOPS):
        world.add_tenant(f"S{i}", world.flats[i], phone=phone(200 + i))
    world.tips.publish([finding(f) for f in world.flats[: len(STOPS)]])  # queued, not sent
    for i, text in enumerate(STOPS):
        assert world.inbound(f"+44 7400 123{200 + i:03d}", text)["action"] == "consent_withdrawn"
    for _ in range(300):  # a burst of findings over the next 30 days
        world.tips.publish([finding(f) for f in world.flats[: len(STOPS)]])
        world.dispatch()
        world.clock.advance(hours=2.4)
    got = sent_sms(world)
    assert sorted(to for to, _ in got) == sorted(e164(phone(200 + i)) for i in range(len(STOPS)))
    assert all("no more tips" in body for _, body in got)  # only the one confirmation
    tips = world.messages(purpose="tip")
    assert tips and all(m.status == "cancelled" for m in tips)
    with world.sessions() as session:
        consents = list(session.scalars(select(Consent).where(Consent.purpose == "sms_tips")))
    assert len(consents) == len(STOPS)
    assert all(c.withdrawn_at is not None and "STOP" in (c.withdrawn_how or "") for c in consents)


def test_help_report_and_anything_else(world: World) -> None:
    world.add_tenant("H1", "N-1", phone=phone(11))
    assert world.inbound(phone(11), "help")["action"] == "help_sent"
    reply_at = MORNING - dt.timedelta(hours=3)
    assert world.inbound(phone(11), "There is mould in the bedroom", reply_at)["action"] == (
        "case_opened"
    )
    assert world.inbound(phone(11), "thank you")["action"] == "officer_queue"
    assert world.inbound(phone(11), "the leak is worse")["action"] == "officer_queue"
    assert world.inbound("07400 999999", "STOP")["action"] == "unknown_sender"
    world.dispatch()
    assert [body[:40] for _, body in sent_sms(world)] == [
        "Northtown Council: to report damp, mould"
    ]
    with world.sessions() as session:
        case = session.scalars(select(HazardCase)).one()
        assert (case.trigger_source, case.kind, case.severity, case.state) == (
            "tenant_report",
            "repair",
            "pending",
            "open",
        )
        assert case.aware_at == reply_at  # the landlord is aware from the reply
        assert {h.event for h in case.history} >= {"opened", "tenant_reply"}


def test_a_repeated_callback_is_acted_on_once(world: World) -> None:
    world.add_tenant("R1", "N-1", phone=phone(12))
    payload = {
        "id": "in-1",
        "source_number": phone(12),
        "destination_number": "07700900000",
        "message": "help",
        "date_received": "2026-01-13T10:00:00.000Z",
    }
    headers = {"Authorization": f"Bearer {world.standin.inbound_callback_token}"}
    for _ in range(2):
        assert (
            world.client.post(
                "/api/v1/callbacks/notify/inbound", json=payload, headers=headers
            ).json()["action"]
            == "help_sent"
        )
    assert len(world.messages(purpose="help")) == 1
