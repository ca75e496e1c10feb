"""Tenants of a flat (with their contact details: each read audited) and their
consents, for officers and admins only; an analyst or contractor is refused (403), as
is a tenant or flat of another landlord, or one that does not exist (admins: 404)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Request
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import select

from backend.api.schemas import BAD_BODY, ERRORS, NOT_FOUND
from backend.auth import Principal, check_landlord, require_role
from backend.auth.personal import personal_field
from backend.deps import SessionDep
from backend.params import FlatIdPath
from backend.tenants.cipher import ContactCipher
from backend.tenants.store import (
    ContactDetails,
    contact_details,
    give_consent,
    holds_for_flat,
    withdraw_consent,
)
from dampwatch_core.errors import ConfigError
from dampwatch_core.models import Flat, utcnow
from dampwatch_core.models_tenants import LawfulBasis, Purpose, Tenancy, Tenant

router = APIRouter(tags=["tenants"], responses=ERRORS | NOT_FOUND)

#: the roles that see and change tenants' details
TENANT_ROLES = ("admin", "officer")
TenantOfficer = Annotated[Principal, require_role(*TENANT_ROLES)]
TenantIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="tenant id")
]


class ConsentPublic(BaseModel):
    purpose: str
    lawful_basis: str
    given_at: datetime
    given_how: str
    withdrawn_at: datetime | None
    withdrawn_how: str | None


class TenancyPublic(BaseModel):
    flat_id: str
    start_date: date
    end_date: date | None


class TenantPublic(BaseModel):
    id: str
    landlord: str
    name: str | None = personal_field()
    phone: str | None = personal_field(description="E.164")
    phone_is_mobile: bool | None
    email: str | None = personal_field()
    postal_address: str | None = personal_field()
    preferred_language: str
    preferred_channel: str
    erased_at: datetime | None
    tenancies: list[TenancyPublic]
    consents: list[ConsentPublic]


class ConsentHoldPublic(BaseModel):
    """A case the rules did not open for want of consent, and why."""

    case_kind: str
    purpose: str
    reason: str
    first_at: datetime
    last_at: datetime
    times: int


class FlatTenantsPublic(BaseModel):
    flat_id: str
    tenants: list[TenantPublic]
    cases_not_opened: list[ConsentHoldPublic]


_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _check_time(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset (e.g. +00:00)")
    try:
        in_range = _EARLIEST <= value <= _LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValueError("must be between 2000 and 2100")
    return value.astimezone(UTC)


#: when it happened: with a UTC offset, 2000..2100; default now
WhenGiven = Annotated[datetime | None, AfterValidator(_check_time)]
#: how: words without control characters (a NUL cannot be stored on PostgreSQL)
How = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]


class ConsentGiven(BaseModel):
    purpose: Purpose
    lawful_basis: LawfulBasis = LawfulBasis.CONSENT
    how: How = Field(description="e.g. 'phone call'")
    at: WhenGiven = Field(default=None, description="default: now")


class ConsentWithdrawn(BaseModel):
    how: How = Field(description="e.g. 'letter'")
    at: WhenGiven = Field(default=None, description="default: now")


def _cipher(request: Request) -> ContactCipher:
    cached: ContactCipher | None = getattr(request.app.state, "tenant_cipher", None)
    if cached is None:
        try:
            cached = ContactCipher.from_settings(request.app.state.settings)
        except ConfigError:
            raise HTTPException(
                503, "tenants' contact details are not configured on this server"
            ) from None
        request.app.state.tenant_cipher = cached
    return cached


def _aware(at: datetime | None) -> datetime:
    return utcnow() if at is None else at


def _tenant_public(tenant: Tenant, details: ContactDetails) -> TenantPublic:
    return TenantPublic(
        id=tenant.id,
        landlord=tenant.landlord,
        name=details.name,
        phone=details.phone,
        phone_is_mobile=tenant.phone_is_mobile,
        email=details.email,
        postal_address=details.postal_address,
        preferred_language=tenant.preferred_language,
        preferred_channel=tenant.preferred_channel,
        erased_at=tenant.erased_at,
        tenancies=[
            TenancyPublic(flat_id=t.flat_id, start_date=t.start_date, end_date=t.end_date)
            for t in tenant.tenancies
        ],
        consents=[
            ConsentPublic(
                purpose=c.purpose,
                lawful_basis=c.lawful_basis,
                given_at=c.given_at,
                given_how=c.given_how,
                withdrawn_at=c.withdrawn_at,
                withdrawn_how=c.withdrawn_how,
            )
            for c in tenant.consents
        ],
    )


@router.get("/api/v1/flats/{flat_id}/tenants")
def flat_tenants(
    flat_id: FlatIdPath, request: Request, session: SessionDep, user: TenantOfficer
) -> FlatTenantsPublic:
    """The flat's tenants, past and present, with contact details and consents, and
    the cases not opened for want of consent. Each tenant's details read is audited."""
    flat = session.get(Flat, flat_id)
    check_landlord(user, flat.landlord if flat else None, f"flat {flat_id!r}")
    tenancies = session.scalars(select(Tenancy).where(Tenancy.flat_id == flat_id)).all()
    tenants = sorted({t.tenant for t in tenancies}, key=lambda t: t.id)
    out = []
    if tenants:
        cipher = _cipher(request)
        for tenant in tenants:
            details = contact_details(
                session, tenant, cipher, actor=user, purpose=f"API {request.url.path}"
            )
            out.append(_tenant_public(tenant, details))
    holds = [
        ConsentHoldPublic(
            case_kind=h.case_kind,
            purpose=h.purpose,
            reason=h.reason,
            first_at=h.first_at,
            last_at=h.last_at,
            times=h.times,
        )
        for h in holds_for_flat(session, flat_id)
    ]
    session.commit()  # the audit events
    return FlatTenantsPublic(flat_id=flat_id, tenants=out, cases_not_opened=holds)


def _scoped_tenant(session: SessionDep, user: Principal, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    check_landlord(user, tenant.landlord if tenant else None, f"tenant {tenant_id!r}")
    assert tenant is not None
    return tenant


@router.post("/api/v1/tenants/{tenant_id}/consents", status_code=201, responses=BAD_BODY)
def consent_given(
    tenant_id: TenantIdPath,
    body: Annotated[ConsentGiven, Body()],
    session: SessionDep,
    user: TenantOfficer,
) -> ConsentPublic:
    """Record a purpose given (422 if it is already given: withdraw it first)."""
    _scoped_tenant(session, user, tenant_id)
    consent = give_consent(
        session,
        tenant_id,
        body.purpose,
        body.lawful_basis,
        at=_aware(body.at),
        how=body.how,
        actor=user,
    )
    session.commit()
    return ConsentPublic.model_validate(consent, from_attributes=True)


@router.post("/api/v1/tenants/{tenant_id}/consents/{purpose}/withdrawal", responses=BAD_BODY)
def consent_withdrawn(
    tenant_id: TenantIdPath,
    purpose: Purpose,
    body: Annotated[ConsentWithdrawn, Body()],
    session: SessionDep,
    user: TenantOfficer,
) -> dict[str, bool]:
    """Withdraw a purpose; ``withdrawn`` is false if it was not given."""
    _scoped_tenant(session, user, tenant_id)
    changed = withdraw_consent(
        session, tenant_id, purpose, at=_aware(body.at), how=body.how, actor=user
    )
    session.commit()
    return {"withdrawn": changed}
