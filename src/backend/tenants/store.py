"""Tenants, tenancies and consents in the relational store, in the caller's session.

Contact details are encrypted here on the way in and decrypted only by
:func:`contact_details` (which writes a ``personal_data.read`` audit event) and by
:class:`~backend.tenants.book.TenantBook` (for a purpose the tenant agreed to).
Nothing here logs a contact detail or puts one in an error message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import audit
from backend.tenants.cipher import ContactCipher
from backend.tenants.errors import TenantInputError
from backend.tenants.records import TenantRecord
from dampwatch_core.errors import NotFoundError
from dampwatch_core.models import Flat
from dampwatch_core.models_tenants import (
    Consent,
    ConsentHold,
    LawfulBasis,
    Purpose,
    Tenancy,
    Tenant,
)

__all__ = [
    "CONTACT_FIELDS",
    "ContactDetails",
    "ErasureReport",
    "current_consent",
    "current_tenancies",
    "end_tenancy",
    "get_tenant",
    "give_consent",
    "holds_for_flat",
    "rotate_keys",
    "save_tenant",
    "withdraw_consent",
]

#: the tenant's personal data, as named in audit events
CONTACT_FIELDS = ("name", "phone", "email", "postal_address")

# audit actions of this package, spelled once
TENANT_SAVED = "tenant.saved"
CONSENT_GIVEN = "consent.given"
CONSENT_WITHDRAWN = "consent.withdrawn"
TENANCY_ENDED = "tenancy.ended"
TENANT_ERASED = "tenant.erased"
KEYS_ROTATED = "tenant_keys.rotated"


@dataclass(frozen=True, slots=True)
class ContactDetails:
    """A tenant's contact details, decrypted (never log)."""

    name: str | None
    phone: str | None
    phone_is_mobile: bool | None
    email: str | None
    postal_address: str | None

    def __repr__(self) -> str:
        return "ContactDetails(...)"


def get_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFoundError(f"tenant {tenant_id!r} does not exist")
    return tenant


def save_tenant(
    session: Session,
    record: TenantRecord,
    cipher: ContactCipher,
    *,
    actor: audit.Actor | str,
    now: dt.datetime,
) -> Tenant:
    """Add or update the tenant, their tenancy of the record's flat and the consents
    it lists (each purpose not already given is given; one given is left as it was)."""
    flat = session.get(Flat, record.flat_id)
    if flat is None:
        raise TenantInputError(
            f"flat {record.flat_id!r} does not exist (import it with 'dampwatch flats import')"
        )
    tenant = session.get(Tenant, record.tenant_id)
    if tenant is None:
        tenant = Tenant(id=record.tenant_id, landlord=flat.landlord)
        session.add(tenant)
    elif tenant.landlord != flat.landlord:
        raise TenantInputError(
            f"tenant {record.tenant_id!r} belongs to landlord {tenant.landlord!r}, "
            f"flat {record.flat_id!r} to {flat.landlord!r}"
        )
    tenant.name = record.name
    tenant.phone_enc = cipher.encrypt(record.phone.e164 if record.phone else None)
    tenant.phone_is_mobile = record.phone.is_mobile if record.phone else None
    tenant.phone_lookup = cipher.lookup(record.phone.e164 if record.phone else None)
    tenant.email_enc = cipher.encrypt(record.email)
    tenant.postal_address_enc = cipher.encrypt(record.postal_address)
    tenant.preferred_language = record.language
    tenant.preferred_channel = record.channel.value
    tenant.erased_at = None
    session.flush()
    tenancy = session.scalars(
        select(Tenancy).where(
            Tenancy.tenant_id == tenant.id,
            Tenancy.flat_id == record.flat_id,
            Tenancy.start_date == record.start_date,
        )
    ).first()
    if tenancy is None:
        session.add(
            Tenancy(
                tenant_id=tenant.id,
                flat_id=record.flat_id,
                start_date=record.start_date,
                end_date=record.end_date,
            )
        )
    else:
        tenancy.end_date = record.end_date
    for grant in record.consents:
        if current_consent(session, tenant.id, grant.purpose) is None:
            give_consent(
                session,
                tenant.id,
                grant.purpose,
                grant.basis,
                at=grant.given_at,
                how=grant.how,
                actor=actor,
            )
    audit.record(
        session,
        TENANT_SAVED,
        actor,
        subject_type="tenant",
        subject_id=tenant.id,
        landlord=tenant.landlord,
        detail={"flat_id": record.flat_id},
        at=now,
    )
    session.flush()
    return tenant


def current_consent(session: Session, tenant_id: str, purpose: Purpose) -> Consent | None:
    """The tenant's grant of ``purpose`` not withdrawn, if any."""
    return session.scalars(
        select(Consent).where(
            Consent.tenant_id == tenant_id,
            Consent.purpose == purpose.value,
            Consent.withdrawn_at.is_(None),
        )
    ).first()


def give_consent(
    session: Session,
    tenant_id: str,
    purpose: Purpose,
    basis: LawfulBasis,
    *,
    at: dt.datetime,
    how: str,
    actor: audit.Actor | str,
) -> Consent:
    """Record a grant; refused if the purpose is already given (withdraw it first)."""
    tenant = get_tenant(session, tenant_id)
    if not how.strip():
        raise TenantInputError("say how the consent was given (e.g. 'paper form')")
    if current_consent(session, tenant_id, purpose) is not None:
        raise TenantInputError(f"tenant {tenant_id!r} has already given {purpose.value}")
    consent = Consent(
        tenant_id=tenant_id,
        purpose=purpose.value,
        lawful_basis=basis.value,
        given_at=at,
        given_how=how.strip(),
        recorded_by=actor if isinstance(actor, str) else actor.email,
    )
    session.add(consent)
    audit.record(
        session,
        CONSENT_GIVEN,
        actor,
        subject_type="tenant",
        subject_id=tenant_id,
        landlord=tenant.landlord,
        detail={"purpose": purpose.value, "basis": basis.value},
    )
    session.flush()
    return consent


def withdraw_consent(
    session: Session,
    tenant_id: str,
    purpose: Purpose,
    *,
    at: dt.datetime,
    how: str,
    actor: audit.Actor | str,
) -> bool:
    """Withdraw the purpose at ``at``; False if it was not given (nothing to do)."""
    tenant = get_tenant(session, tenant_id)
    consent = current_consent(session, tenant_id, purpose)
    if consent is None:
        return False
    consent.withdrawn_at = at
    consent.withdrawn_how = how.strip() or "unspecified"
    audit.record(
        session,
        CONSENT_WITHDRAWN,
        actor,
        subject_type="tenant",
        subject_id=tenant_id,
        landlord=tenant.landlord,
        detail={"purpose": purpose.value, "how": consent.withdrawn_how},
    )
    session.flush()
    return True


def current_tenancies(session: Session, flat_id: str, on: dt.date) -> list[Tenancy]:
    """The flat's tenancies running on ``on`` (start and end inclusive)."""
    return list(
        session.scalars(
            select(Tenancy)
            .where(
                Tenancy.flat_id == flat_id,
                Tenancy.start_date <= on,
                (Tenancy.end_date.is_(None)) | (Tenancy.end_date >= on),
            )
            .order_by(Tenancy.start_date, Tenancy.id)
        )
    )


def contact_details(
    session: Session,
    tenant: Tenant,
    cipher: ContactCipher,
    *,
    actor: audit.Actor | str,
    purpose: str,
) -> ContactDetails:
    """Decrypt the tenant's contact details for a person, recording the read."""
    audit.record_personal_data_read(
        session,
        actor,
        tenant_id=tenant.id,
        fields=CONTACT_FIELDS,
        purpose=purpose,
        landlord=tenant.landlord,
    )
    return ContactDetails(
        name=tenant.name,
        phone=cipher.decrypt(tenant.phone_enc),
        phone_is_mobile=tenant.phone_is_mobile,
        email=cipher.decrypt(tenant.email_enc),
        postal_address=cipher.decrypt(tenant.postal_address_enc),
    )


@dataclass
class ErasureReport:
    tenant_id: str
    flat_id: str
    end_date: dt.date
    withdrawn: list[str]
    erased: bool


def end_tenancy(
    session: Session,
    tenant_id: str,
    flat_id: str,
    end_date: dt.date,
    *,
    actor: audit.Actor | str,
    now: dt.datetime,
) -> ErasureReport:
    """End the tenant's tenancy of the flat on ``end_date``. Every consent is
    withdrawn (its purposes ended with the tenancy), and if the tenant has no other
    tenancy running on or after ``end_date`` their name and contact details are
    erased: the row keeps only its id, landlord and the consent history (kept as proof
    of what was agreed; see docs/tenants.md, Retention)."""
    tenant = get_tenant(session, tenant_id)
    open_ones = [
        t
        for t in tenant.tenancies
        if t.flat_id == flat_id and (t.end_date is None or t.end_date >= end_date)
    ]
    if not open_ones:
        raise TenantInputError(
            f"tenant {tenant_id!r} has no tenancy of flat {flat_id!r} running on {end_date}"
        )
    for tenancy in open_ones:
        if tenancy.start_date > end_date:
            raise TenantInputError(
                f"the tenancy of flat {flat_id!r} starts {tenancy.start_date}, after {end_date}"
            )
        tenancy.end_date = end_date
    audit.record(
        session,
        TENANCY_ENDED,
        actor,
        subject_type="tenant",
        subject_id=tenant_id,
        landlord=tenant.landlord,
        detail={"flat_id": flat_id, "end_date": end_date.isoformat()},
        at=now,
    )
    others = [
        t
        for t in tenant.tenancies
        if t not in open_ones and (t.end_date is None or t.end_date > end_date)
    ]
    withdrawn: list[str] = []
    erased = False
    if not others:
        for consent in tenant.consents:
            if consent.withdrawn_at is None:
                consent.withdrawn_at = now
                consent.withdrawn_how = "tenancy ended"
                withdrawn.append(consent.purpose)
        tenant.name = None
        tenant.phone_enc = None
        tenant.phone_is_mobile = None
        tenant.phone_lookup = None
        tenant.email_enc = None
        tenant.postal_address_enc = None
        tenant.erased_at = now
        erased = True
        audit.record(
            session,
            TENANT_ERASED,
            actor,
            subject_type="tenant",
            subject_id=tenant_id,
            landlord=tenant.landlord,
            detail={"fields": list(CONTACT_FIELDS), "consents_withdrawn": sorted(withdrawn)},
            at=now,
        )
    session.flush()
    return ErasureReport(tenant_id, flat_id, end_date, sorted(withdrawn), erased)


def rotate_keys(session: Session, cipher: ContactCipher, *, actor: audit.Actor | str) -> int:
    """Re-encrypt every stored contact detail under the first key; returns how many
    tenants were rewritten. All or nothing: the caller's transaction."""
    count = 0
    for tenant in session.scalars(select(Tenant).order_by(Tenant.id)):
        tenant.phone_enc = cipher.rotate(tenant.phone_enc)
        tenant.phone_lookup = cipher.lookup(cipher.decrypt(tenant.phone_enc))
        tenant.email_enc = cipher.rotate(tenant.email_enc)
        tenant.postal_address_enc = cipher.rotate(tenant.postal_address_enc)
        count += 1
    audit.record(session, KEYS_ROTATED, actor, detail={"tenants": count})
    session.flush()
    return count


def holds_for_flat(session: Session, flat_id: str) -> list[ConsentHold]:
    return list(
        session.scalars(
            select(ConsentHold)
            .where(ConsentHold.flat_id == flat_id)
            .order_by(ConsentHold.case_kind)
        )
    )
