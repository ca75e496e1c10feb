"""The case rules' consent gate: a case from sensor data that serves a purpose (an
outreach case: ``underheating_outreach``) is opened only if one of the flat's current
tenants has given that purpose. A refusal is kept in ``consent_holds`` with its reason,
where officers see it (``dampwatch tenants show``, ``GET /api/v1/flats/{id}/tenants``);
it is dropped when the case is opened after all (consent given later: the next
scheduler tick opens it, aware from when the signal began).

A flat with no tenancy on record is not refused: there is no household whose choice
could be recorded, and the landlord's own process applies (docs/tenants.md).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.tenants import store
from dampwatch_core.models_tenants import ConsentHold, Purpose, Tenant

__all__ = ["CASE_PURPOSE", "HouseholdConsent"]

#: the purpose a case from sensor data serves, per case kind; a kind not named here
#: (repair: the landlord's repairing duty) needs no consent to be opened
CASE_PURPOSE = {"outreach": Purpose.UNDERHEATING_OUTREACH}


class HouseholdConsent:
    """A :class:`~dampwatch_core.models_tenants.ConsentGate` over the tenants tables."""

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
