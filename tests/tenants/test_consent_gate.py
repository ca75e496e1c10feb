"""A purpose without consent is not used: a cold flat whose household agreed only to
damp monitoring gets no outreach case, and the reason is kept where the officer sees
it; consent given later opens the case (aware from when the signal began); damp
(repair, the landlord's duty) opens regardless. Through the real finding sink."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.cases.rules import CaseFindingSink
from backend.tenants import ContactCipher
from backend.tenants.consent import HouseholdConsent
from backend.tenants.records import record_from_row
from backend.tenants.store import give_consent, holds_for_flat, save_tenant
from dampwatch_core.const import Level
from dampwatch_core.findings import Finding, FindingKind, Reason, ReasonCode, ReasonKind
from dampwatch_core.models_cases import HazardCase
from dampwatch_core.models_tenants import ConsentGate, LawfulBasis, Purpose

T0 = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def finding(flat: str, kind: FindingKind, at: dt.datetime) -> Finding:
    code = ReasonCode.BELOW_18C if kind is FindingKind.COLD else ReasonCode.SURFACE_RH_OVER_80
    rkind = ReasonKind.COLD if kind is FindingKind.COLD else ReasonKind.DAMP
    return Finding(
        flat_id=flat,
        kind=kind,
        level_before=Level("low"),
        level_after=Level("high"),
        period_start=at - dt.timedelta(days=7),
        period_end=at,
        reasons=(
            Reason(kind=rkind, code=code, message="cold living room", room="living_room", hours=60),
        ),
    )


def tenant(
    sessions: sessionmaker[Session], cipher: ContactCipher, flat: str, tid: str, consents: str
) -> None:
    with sessions.begin() as session:
        save_tenant(
            session,
            record_from_row(
                {
                    "tenant_id": tid,
                    "flat_id": flat,
                    "name": "A Tenant",
                    "start_date": "2025-01-01",
                    "consents": consents,
                    "consent_given_how": "paper form",
                    "channel": "letter",
                },
                today=T0.date(),
            ),
            cipher,
            actor="cli:test",
            now=T0,
        )


def open_cases(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        return [
            (c.flat_id, c.kind)
            for c in session.scalars(
                select(HazardCase).order_by(HazardCase.flat_id, HazardCase.kind)
            )
        ]


def test_outreach_needs_the_households_consent(
    sessions: sessionmaker[Session], cipher: ContactCipher
) -> None:
    tenant(sessions, cipher, "N1", "T1", "damp_monitoring")  # damp only
    tenant(sessions, cipher, "N2", "T2", "damp_monitoring;underheating_outreach")
    gate: ConsentGate = HouseholdConsent()
    clock = Clock(T0)
    sink = CaseFindingSink.for_store(sessions, clock=clock, consent=gate)
    sink.publish(
        [
            finding(f, k, clock.now)
            for f in ("N1", "N2", "S1")
            for k in (FindingKind.COLD, FindingKind.DAMP)
        ]
    )
    clock.now += 48 * H
    sink.tick()
    clock.now += H
    sink.tick()
    # N1: repair only; N2: both; S1 (no tenancy on record): both
    assert open_cases(sessions) == [
        ("N1", "repair"),
        ("N2", "outreach"),
        ("N2", "repair"),
        ("S1", "outreach"),
        ("S1", "repair"),
    ]
    with sessions() as session:
        [hold] = holds_for_flat(session, "N1")
        assert (hold.case_kind, hold.purpose) == ("outreach", "underheating_outreach")
        assert "has not agreed to underheating_outreach" in hold.reason
        assert "agreed to: damp_monitoring" in hold.reason
        assert hold.times >= 2 and hold.first_at < hold.last_at
        assert holds_for_flat(session, "N2") == []

    # consent given on the phone: the next tick opens it, aware from the signal's start
    with sessions.begin() as session:
        give_consent(
            session,
            "T1",
            Purpose.UNDERHEATING_OUTREACH,
            LawfulBasis.CONSENT,
            at=clock.now,
            how="phone call",
            actor="officer@example.org",
        )
    clock.now += H
    assert sink.tick()["opened"] == 1
    with sessions() as session:
        case = session.scalars(
            select(HazardCase).where(HazardCase.flat_id == "N1", HazardCase.kind == "outreach")
        ).one()
        assert case.aware_at == T0
        assert holds_for_flat(session, "N1") == []


def test_withdrawn_consent_is_no_consent(
    sessions: sessionmaker[Session], cipher: ContactCipher
) -> None:
    tenant(sessions, cipher, "N1", "T1", "underheating_outreach")
    with sessions.begin() as session:
        from backend.tenants.store import withdraw_consent

        withdraw_consent(
            session, "T1", Purpose.UNDERHEATING_OUTREACH, at=T0, how="letter", actor="cli:test"
        )
    clock = Clock(T0)
    sink = CaseFindingSink.for_store(sessions, clock=clock, consent=HouseholdConsent())
    sink.publish([finding("N1", FindingKind.COLD, clock.now)])
    clock.now += 48 * H
    sink.tick()
    assert open_cases(sessions) == []
    with sessions() as session:
        [hold] = holds_for_flat(session, "N1")
        assert "underheating_outreach (withdrawn)" in hold.reason
