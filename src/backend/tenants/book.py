"""The tenants' side of the narrow interfaces in :mod:`dampwatch_core.models_tenants`:
:class:`TenantBook` is a ``ContactBook`` (for services that reach tenants) and a
``ConsentGate`` (for the case rules). The composition root builds one with the cipher
and hands it over; the receiving service never sees the key or the tables.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.tenants import store
from backend.tenants.cipher import ContactCipher
from dampwatch_core.models_tenants import (
    ConsentHold,
    Contact,
    ContactChannel,
    Purpose,
    Tenant,
)

__all__ = ["CASE_PURPOSE", "SYSTEM_ACTOR", "TenantBook"]

#: the purpose a case from sensor data serves, per case kind; a kind not named here
#: (repair: the landlord's repairing duty) needs no consent to be opened
CASE_PURPOSE = {"outreach": Purpose.UNDERHEATING_OUTREACH}
SYSTEM_ACTOR = "system"


class TenantBook:
    """Reads contacts for a purpose, withdraws consents, and gates cases.

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
            postal_address=details.postal_address,
            channel=ContactChannel(tenant.preferred_channel),
            language=tenant.preferred_language,
        )

    def withdraw_consent(
        self, session: Session, tenant_id: str, purpose: Purpose, at: dt.datetime, how: str
    ) -> bool:
        return store.withdraw_consent(
            session, tenant_id, purpose, at=at, how=how, actor=SYSTEM_ACTOR
        )

    # -- ConsentGate ----------------------------------------------------------------

    def refusal(
        self, session: Session, flat_id: str, case_kind: str, at: dt.datetime
    ) -> str | None:
        purpose = CASE_PURPOSE.get(case_kind)
        if purpose is None:
            return None
        tenancies = store.current_tenancies(session, flat_id, at.date())
        if not tenancies:
            return None  # no household on record: nothing to refuse on its behalf
        if any(store.current_consent(session, t.tenant_id, purpose) for t in tenancies):
            return None
        given = sorted(
            {c.purpose for t in tenancies for c in t.tenant.consents if c.withdrawn_at is None}
        )
        withdrawn = any(
            c.purpose == purpose.value and c.withdrawn_at is not None
            for t in tenancies
            for c in t.tenant.consents
        )
        agreed = ", ".join(given) if given else "nothing"
        reason = (
            f"no {case_kind} case opened: the household has not agreed to "
            f"{purpose.value}{' (withdrawn)' if withdrawn else ''}; agreed to: {agreed}"
        )
        self._hold(session, flat_id, case_kind, purpose, reason, at)
        return reason

    def _hold(
        self,
        session: Session,
        flat_id: str,
        case_kind: str,
        purpose: Purpose,
        reason: str,
        at: dt.datetime,
    ) -> None:
        hold = session.get(ConsentHold, (flat_id, case_kind))
        if hold is None:
            session.add(
                ConsentHold(
                    flat_id=flat_id,
                    case_kind=case_kind,
                    purpose=purpose.value,
                    reason=reason,
                    first_at=at,
                    last_at=at,
                    times=1,
                )
            )
            return
        hold.reason = reason
        hold.last_at = at
        hold.times += 1

    def cleared(self, session: Session, flat_id: str, case_kind: str) -> None:
        session.execute(
            delete(ConsentHold).where(
                ConsentHold.flat_id == flat_id, ConsentHold.case_kind == case_kind
            )
        )

    def consent_on_file(
        self, session: Session, flat_id: str, purpose: Purpose, at: dt.datetime
    ) -> tuple[Tenant, int] | None:
        """The flat's current tenant with ``purpose`` given and that consent's id."""
        for tenancy in store.current_tenancies(session, flat_id, at.date()):
            consent = store.current_consent(session, tenancy.tenant_id, purpose)
            if consent is not None and tenancy.tenant.erased_at is None:
                return tenancy.tenant, consent.id
        return None
