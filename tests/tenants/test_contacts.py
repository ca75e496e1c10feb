"""The narrow interface other services use: ``contact_for`` hands out a decrypted
contact only for a purpose a current tenant agreed to, and audits each one;
``withdraw_consent`` stops it at once; contact details are ciphertext in the table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.tenants import ContactCipher, TenantBook, new_key
from backend.tenants.records import record_from_row
from backend.tenants.store import end_tenancy, save_tenant
from dampwatch_core.models_auth import AuditEvent
from dampwatch_core.models_tenants import ContactBook, ContactChannel, Purpose

NOW = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
MOBILE = "07400 123456"  # (Ofcom's drama range 07700 900xxx is not a valid number)
LANDLINE = "0113 496 0000"


def add(sessions: sessionmaker[Session], cipher: ContactCipher, **row: str) -> None:
    base = {
        "tenant_id": "T1",
        "flat_id": "N1",
        "name": "Ann Example",
        "start_date": "2025-04-01",
        "phone": MOBILE,
        "email": "Ann@Example.ORG",
        "postal_address": "Flat N1|Tower Road|Leeds|LS1 1AA",
        "consents": "damp_monitoring;sms_tips",
        "consent_given_how": "paper form",
        "consent_given_at": "2025-04-01",
    }
    base.update(row)
    with sessions.begin() as session:
        save_tenant(
            session, record_from_row(base, today=NOW.date()), cipher, actor="cli:test", now=NOW
        )


def test_contact_for_a_purpose_given_only(
    sessions: sessionmaker[Session], cipher: ContactCipher
) -> None:
    add(sessions, cipher)
    book: ContactBook = TenantBook(cipher)
    with sessions.begin() as session:
        contact = book.contact_for(session, "N1", Purpose.SMS_TIPS, at=NOW)
        assert contact is not None
        assert (contact.tenant_id, contact.phone, contact.landline) == ("T1", "+447400123456", None)
        assert contact.email == "Ann@example.org"
        assert contact.postal_address == "Flat N1\nTower Road\nLeeds\nLS1 1AA"
        assert (contact.channel, contact.language) == (ContactChannel.SMS, "en")
        assert "+44" not in repr(contact) and "Ann" not in repr(contact)
        assert book.contact_for(session, "N1", Purpose.UNDERHEATING_OUTREACH, at=NOW) is None
        assert book.contact_for(session, "N2", Purpose.SMS_TIPS, at=NOW) is None
    with sessions() as session:
        reads = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "personal_data.read")
        ).all()
        assert [(r.subject_id, r.actor, r.detail["purpose"]) for r in reads] == [
            ("T1", "system:sms_tips", "sms_tips")
        ]


def test_withdrawal_stops_contact_at_once(
    sessions: sessionmaker[Session], cipher: ContactCipher
) -> None:
    add(sessions, cipher)
    book = TenantBook(cipher)
    with sessions.begin() as session:
        assert book.withdraw_consent(session, "T1", Purpose.SMS_TIPS, NOW, "SMS STOP")
        assert not book.withdraw_consent(session, "T1", Purpose.SMS_TIPS, NOW, "SMS STOP")
        assert book.contact_for(session, "N1", Purpose.SMS_TIPS, at=NOW) is None
        # damp monitoring is another purpose: still given
        assert book.contact_for(session, "N1", Purpose.DAMP_MONITORING, at=NOW) is not None


def test_a_reply_finds_its_tenant_by_phone(
    sessions: sessionmaker[Session], cipher: ContactCipher, key: str
) -> None:
    add(sessions, cipher)
    add(sessions, cipher, tenant_id="T2", flat_id="N2", phone="07400 654321")
    book = TenantBook(cipher)
    with sessions.begin() as session:
        assert book.tenants_with_phone(session, "+447400123456") == ["T1"]
        assert book.tenants_with_phone(session, "07400 123456") == ["T1"]
        assert book.tenants_with_phone(session, "07400 999999") == []
        assert book.tenants_with_phone(session, "not a number") == []
        # a new key put first: rows still hashed under the old key are found
        rotating = TenantBook(ContactCipher([new_key(), key]))
        assert rotating.tenants_with_phone(session, "+447400123456") == ["T1"]
        end_tenancy(session, "T1", "N1", NOW.date(), actor="cli:test", now=NOW)
        assert book.tenants_with_phone(session, "+447400123456") == []  # erased


def test_a_landline_is_no_sms_number(
    sessions: sessionmaker[Session], cipher: ContactCipher
) -> None:
    add(sessions, cipher, phone=LANDLINE, channel="letter")
    with sessions.begin() as session:
        contact = TenantBook(cipher).contact_for(session, "N1", Purpose.SMS_TIPS, at=NOW)
        assert contact is not None
        assert (contact.phone, contact.landline) == (None, "+441134960000")
        assert contact.channel is ContactChannel.LETTER
        assert contact.postal_address == "Flat N1\nTower Road\nLeeds\nLS1 1AA"


def test_a_letter_goes_to_the_flat_without_another_address(
    sessions: sessionmaker[Session], cipher: ContactCipher
) -> None:
    add(sessions, cipher, postal_address="", channel="letter", phone="")
    with sessions.begin() as session:
        contact = TenantBook(cipher).contact_for(session, "N1", Purpose.SMS_TIPS, at=NOW)
        assert contact is not None and contact.phone is None
        assert contact.postal_address == "N1 Tower Road\nLeeds\nLS1 1AA"


def test_contact_details_are_ciphertext_at_rest(
    sessions: sessionmaker[Session], cipher: ContactCipher
) -> None:
    add(sessions, cipher)
    with sessions() as session:
        row = session.execute(
            text("SELECT phone_enc, email_enc, postal_address_enc FROM tenants")
        ).one()
    stored = " ".join(row)
    for clear in ("7400123456", "123456", "example.org", "Ann@", "Tower Road"):
        assert clear not in stored
    assert all(v.startswith("gAAAA") for v in row)  # Fernet tokens


def test_no_contact_before_or_after_the_tenancy(
    sessions: sessionmaker[Session], cipher: ContactCipher
) -> None:
    add(sessions, cipher, start_date="2026-12-05")
    book = TenantBook(cipher)
    with sessions.begin() as session:
        assert book.contact_for(session, "N1", Purpose.SMS_TIPS, at=NOW) is None
        later = NOW + dt.timedelta(days=10)
        assert book.contact_for(session, "N1", Purpose.SMS_TIPS, at=later) is not None
        end_tenancy(session, "T1", "N1", later.date(), actor="cli:test", now=later)
        assert book.contact_for(session, "N1", Purpose.SMS_TIPS, at=later) is None
