"""The tenants' side of the narrow interfaces in :mod:`dampwatch_core.models_tenants`:
:class:`TenantBook` is a ``ContactBook`` (for services that reach tenants) and a
``ConsentGate`` (for the case rules). The composition root builds one with the cipher
and hands it over; the receiving service never sees the key or the tables. The case
rules' ``ConsentGate`` is :class:`backend.tenants.consent.HouseholdConsent` (it needs
no key).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.tenants import store
from backend.tenants.cipher import ContactCipher
from backend.tenants.errors import TenantInputError
from backend.tenants.phones import parse_uk_phone
from dampwatch_core.models import Flat
from dampwatch_core.models_tenants import (
    Contact,
    ContactChannel,
    Purpose,
    Tenant,
)

__all__ = ["SYSTEM_ACTOR", "TenantBook"]

SYSTEM_ACTOR = "system"


class TenantBook:
    """Reads contacts for a purpose and withdraws consents.

    ``contact_for`` writes a ``personal_data.read`` audit event (actor
    ``system:<purpose>``) for each contact it hands out.
    """

    def __init__(self, cipher: ContactCipher) -> None:
        self._cipher = cipher

    # -- ContactBook ----------------------------------------------------------------

    def contact_for(
        self, session: Session, flat_id: str, purpose: Purpose, *, at: dt.datetime | None = None
    ) -> Contact | None:
        when = at or dt.datetime.now(dt.UTC)
        for tenancy in store.current_tenancies(session, flat_id, when.date()):
            tenant = tenancy.tenant
            if tenant.erased_at is not None:
                continue
            if store.current_consent(session, tenant.id, purpose) is None:
                continue
            return self._contact(session, tenant, flat_id, purpose)
        return None

    def _contact(self, session: Session, tenant: Tenant, flat_id: str, purpose: Purpose) -> Contact:
        details = store.contact_details(
            session,
            tenant,
            self._cipher,
            actor=f"{SYSTEM_ACTOR}:{purpose.value}",
            purpose=purpose.value,
        )
        mobile = details.phone if details.phone_is_mobile else None
        return Contact(
            tenant_id=tenant.id,
            flat_id=flat_id,
            name=details.name,
            phone=mobile,
            landline=None if details.phone_is_mobile else details.phone,
            email=details.email,
            postal_address=details.postal_address or _flat_address(session, flat_id),
            channel=ContactChannel(tenant.preferred_channel),
            language=tenant.preferred_language,
        )

    def withdraw_consent(
        self, session: Session, tenant_id: str, purpose: Purpose, at: dt.datetime, how: str
    ) -> bool:
        return store.withdraw_consent(
            session, tenant_id, purpose, at=at, how=how, actor=SYSTEM_ACTOR
        )

    def tenants_with_phone(self, session: Session, phone: str) -> list[str]:
        try:
            e164 = parse_uk_phone(phone).e164
        except TenantInputError:
            return []
        return list(
            session.scalars(
                select(Tenant.id)
                .where(
                    Tenant.phone_lookup.in_(self._cipher.lookups(e164)),
                    Tenant.erased_at.is_(None),
                )
                .order_by(Tenant.id)
            )
        )


def _flat_address(session: Session, flat_id: str) -> str | None:
    """The flat's address as lines (its comma-separated parts, then the postcode)."""
    flat = session.get(Flat, flat_id)
    if flat is None:
        return None
    lines = [part.strip() for part in flat.address.split(",") if part.strip()]
    if flat.postcode and flat.postcode not in lines:
        lines.append(flat.postcode)
    return "\n".join(lines) or None
