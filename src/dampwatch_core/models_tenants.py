"""Tables of the tenants aggregate, and the narrow interface other services use.

Tables (migration ``0008``): tenants (contact details, phone, email and postal address
encrypted at rest), tenancies (a tenant in a flat from a start date to an end date),
consents (one row per grant of one purpose: lawful basis, when and how given, and its
withdrawal), consent holds (a case the rules did not open for want of consent, with
why), partners (organisations a case can be referred to) and referrals.

The encrypted columns hold Fernet tokens (text); the cipher lives with the code that
reads them (``backend.tenants``). A service that must reach a tenant does not read
these tables itself: it is handed a :class:`ContactBook` (and the case rules a
:class:`ConsentGate`) by the composition root, so it never holds the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from dampwatch_core.models import Base, UTCDateTime, utcnow

__all__ = [
    "CHANNELS",
    "LAWFUL_BASES",
    "PURPOSES",
    "Consent",
    "ConsentGate",
    "ConsentHold",
    "Contact",
    "ContactBook",
    "ContactChannel",
    "LawfulBasis",
    "Partner",
    "Purpose",
    "Referral",
    "Tenancy",
    "Tenant",
]


class Purpose(StrEnum):
    """What a tenant's data may be used for; each needs its own consent (or other
    lawful basis) on record."""

    DAMP_MONITORING = "damp_monitoring"  # sensors in the home, repair cases from them
    UNDERHEATING_OUTREACH = "underheating_outreach"  # outreach cases from cold readings
    SMS_TIPS = "sms_tips"  # subscription messages (tips)
    RESEARCH = "research"  # pseudonymised data for research
    PARTNER_REFERRAL = "partner_referral"  # passing contact details to a partner


PURPOSES = tuple(p.value for p in Purpose)


class LawfulBasis(StrEnum):
    """UK GDPR Article 6(1) bases."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


LAWFUL_BASES = tuple(b.value for b in LawfulBasis)


class ContactChannel(StrEnum):
    SMS = "sms"
    LETTER = "letter"
    EMAIL = "email"


CHANNELS = tuple(c.value for c in ContactChannel)


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


class Tenant(Base):
    """A person DampWatch may contact. ``phone_enc``, ``email_enc`` and
    ``postal_address_enc`` are Fernet tokens; ``phone_is_mobile`` says whether the
    phone can receive SMS without decrypting it; ``phone_lookup`` finds a tenant by
    number. ``erased_at``: contact details
    deleted (end of tenancy, see docs/tenants.md)."""

    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint(_in("preferred_channel", CHANNELS), name="preferred_channel"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    landlord: Mapped[str] = mapped_column(String(64), default="default", index=True)
    name: Mapped[str | None] = mapped_column(String(256))
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_is_mobile: Mapped[bool | None] = mapped_column(Boolean)
    #: keyed hash (HMAC-SHA256) of the E.164 phone, to find the tenant a reply came from
    phone_lookup: Mapped[str | None] = mapped_column(String(64), index=True)
    email_enc: Mapped[str | None] = mapped_column(Text)
    postal_address_enc: Mapped[str | None] = mapped_column(Text)
    #: BCP 47 tag, e.g. ``en``, ``cy``, ``pl``
    preferred_language: Mapped[str] = mapped_column(String(16), default="en")
    preferred_channel: Mapped[str] = mapped_column(String(8), default="sms")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tenancies: Mapped[list[Tenancy]] = relationship(
        back_populates="tenant", order_by="Tenancy.start_date"
    )
    consents: Mapped[list[Consent]] = relationship(back_populates="tenant", order_by="Consent.id")


class Tenancy(Base):
    """A tenant living in a flat from ``start_date`` to ``end_date`` (inclusive; None:
    current). A flat may have joint tenants at once."""

    __tablename__ = "tenancies"
    __table_args__ = (
        UniqueConstraint("tenant_id", "flat_id", "start_date"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    flat_id: Mapped[str] = mapped_column(ForeignKey("flats.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tenant: Mapped[Tenant] = relationship(back_populates="tenancies")


class Consent(Base):
    """One grant of one purpose: its lawful basis, when and how it was given, and,
    once withdrawn, when and how. A purpose given again after a withdrawal is a new
    row, so the history stays; a tenant has at most one row per purpose not withdrawn."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(_in("purpose", PURPOSES), name="purpose"),
        CheckConstraint(_in("lawful_basis", LAWFUL_BASES), name="lawful_basis"),
        Index(
            "uq_consents_current",
            "tenant_id",
            "purpose",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    lawful_basis: Mapped[str] = mapped_column(String(24))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: how it was given: ``paper form``, ``phone call``, ``tenancy agreement`` ...
    given_how: Mapped[str] = mapped_column(String(128))
    recorded_by: Mapped[str] = mapped_column(String(256))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_how: Mapped[str | None] = mapped_column(String(128))

    tenant: Mapped[Tenant] = relationship(back_populates="consents")


class ConsentHold(Base):
    """A case the rules did not open because the household has not agreed to the
    purpose: the flat, the case kind, the purpose wanted, why, and when (first and
    latest). Officers see these with the flat's tenants; the row is removed when the
    case is opened after all."""

    __tablename__ = "consent_holds"

    flat_id: Mapped[str] = mapped_column(ForeignKey("flats.id"), primary_key=True)
    case_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    times: Mapped[int] = mapped_column(Integer, default=1)


class Partner(Base):
    """An organisation an outreach case can be referred to (an affordable-warmth
    service, an advice charity). A webhook partner is delivered through the outbox
    with a signed endpoint of its own (``endpoint_id``, a row of ``contractors`` with
    trade ``partner``); an email partner has an address."""

    __tablename__ = "partners"
    __table_args__ = (CheckConstraint("channel IN ('webhook', 'email')", name="channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    landlord: Mapped[str] = mapped_column(String(64), default="default")
    channel: Mapped[str] = mapped_column(String(8))
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("contractors.id"))
    email: Mapped[str | None] = mapped_column(String(254))
    #: what the partner offers, shown to officers choosing one
    service: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Referral(Base):
    """A case referred to a partner: who referred it, when, under which consent, and
    the outbox message that carries it (webhook partners)."""

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("case_id", "partner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hazard_cases.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"))
    referred_by: Mapped[str] = mapped_column(String(256))
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    #: the fields sent (names only)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)

    partner: Mapped[Partner] = relationship()


# -- the narrow interface ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach one tenant for one purpose, decrypted. ``phone`` is E.164 and set
    only when it is a mobile (SMS needs one); ``landline`` holds a fixed-line number.
    Never log it."""

    tenant_id: str
    flat_id: str
    name: str | None
    phone: str | None
    landline: str | None
    email: str | None
    postal_address: str | None
    channel: ContactChannel
    language: str

    def __repr__(self) -> str:  # keeps contact details out of logs and tracebacks
        return f"Contact(tenant_id={self.tenant_id!r}, flat_id={self.flat_id!r}, ...)"


class ContactBook(Protocol):
    """What a service that reaches tenants (Notify, referrals) is handed."""

    def contact_for(
        self, session: Session, flat_id: str, purpose: Purpose, *, at: datetime | None = None
    ) -> Contact | None:
        """The flat's current tenant who has agreed to ``purpose`` (None: nobody has)."""
        ...

    def withdraw_consent(
        self, session: Session, tenant_id: str, purpose: Purpose, at: datetime, how: str
    ) -> bool:
        """Withdraw the purpose (True if a consent was withdrawn)."""
        ...

    def tenants_with_phone(self, session: Session, phone: str) -> list[str]:
        """Ids of the tenants (contact details not erased) whose phone is ``phone`` (any
        UK form, or E.164 as Notify gives it); empty if none or not a UK number."""
        ...


class ConsentGate(Protocol):
    """Asked by the case rules before a case from sensor data is opened."""

    def refusal(self, session: Session, flat_id: str, case_kind: str, at: datetime) -> str | None:
        """None if the case may be opened; else why not (and the refusal is recorded
        where officers see it)."""
        ...

    def cleared(self, session: Session, flat_id: str, case_kind: str) -> None:
        """The case was opened: drop any recorded refusal."""
        ...
