"""A tenant as given (a CSV row, an API body): checked and normalised, before any of
it is stored. Pure: no I/O. Error messages name the field, never repeat a phone
number or an email address."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from backend.tenants.errors import TenantInputError
from backend.tenants.phones import UkPhone, parse_uk_phone
from dampwatch_core.models_tenants import (
    CHANNELS,
    LAWFUL_BASES,
    PURPOSES,
    ContactChannel,
    LawfulBasis,
    Purpose,
)

__all__ = [
    "CSV_COLUMNS",
    "REQUIRED_COLUMNS",
    "ConsentGrant",
    "TenantRecord",
    "parse_consents",
    "parse_email",
    "parse_purpose",
    "record_from_row",
]

REQUIRED_COLUMNS = ("tenant_id", "flat_id", "name", "start_date")
CSV_COLUMNS = (
    *REQUIRED_COLUMNS,
    "end_date",
    "phone",
    "email",
    "postal_address",
    "language",
    "channel",
    "consents",
    "consent_given_at",
    "consent_given_how",
)
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
#: a BCP 47 primary language subtag, optionally with a region or script
_LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")


@dataclass(frozen=True, slots=True)
class ConsentGrant:
    purpose: Purpose
    basis: LawfulBasis
    given_at: dt.datetime
    how: str


@dataclass(frozen=True, slots=True)
class TenantRecord:
    tenant_id: str
    flat_id: str
    name: str
    start_date: dt.date
    end_date: dt.date | None
    phone: UkPhone | None
    email: str | None
    postal_address: str | None
    language: str
    channel: ContactChannel
    consents: tuple[ConsentGrant, ...]

    def __repr__(self) -> str:
        return f"TenantRecord(tenant_id={self.tenant_id!r}, flat_id={self.flat_id!r}, ...)"


def parse_purpose(text: str) -> Purpose:
    try:
        return Purpose(text.strip())
    except ValueError:
        raise TenantInputError(
            f"purpose {text.strip()!r} is not one of {', '.join(PURPOSES)}"
        ) from None


def parse_basis(text: str) -> LawfulBasis:
    try:
        return LawfulBasis(text.strip())
    except ValueError:
        raise TenantInputError(
            f"lawful basis {text.strip()!r} is not one of {', '.join(LAWFUL_BASES)}"
        ) from None


def parse_email(text: str) -> str:
    """The address, normalised (domain lower-cased); no DNS look-up."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise TenantInputError("email is not a valid email address") from None


def parse_consents(text: str, given_at: dt.datetime, how: str) -> tuple[ConsentGrant, ...]:
    """``damp_monitoring;sms_tips=consent;research=public_task``: purposes separated
    by ``;``, each with an optional ``=lawful basis`` (default ``consent``)."""
    grants: list[ConsentGrant] = []
    seen: set[Purpose] = set()
    for part in text.split(";"):
        if not part.strip():
            continue
        name, _, basis = part.partition("=")
        purpose = parse_purpose(name)
        if purpose in seen:
            raise TenantInputError(f"consents: {purpose.value} appears twice")
        seen.add(purpose)
        grants.append(
            ConsentGrant(
                purpose, parse_basis(basis) if basis.strip() else LawfulBasis.CONSENT, given_at, how
            )
        )
    if grants and not how.strip():
        raise TenantInputError("consent_given_how is empty: say how consent was given")
    return tuple(grants)


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise TenantInputError(f"{field} {text.strip()!r} is not a date (YYYY-MM-DD)") from None


def _when(text: str, field: str) -> dt.datetime:
    value = text.strip()
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise TenantInputError(f"{field} {value!r} is not a date or ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise TenantInputError(f"{field} {value!r} needs a UTC offset (e.g. +00:00)")
    return parsed.astimezone(dt.UTC)


def record_from_row(row: Mapping[str, str | None], *, today: dt.date) -> TenantRecord:
    """A :class:`TenantRecord` from a row keyed by :data:`CSV_COLUMNS` (missing optional
    columns and empty cells are absent values)."""

    def cell(key: str) -> str:
        return (row.get(key) or "").strip()

    tenant_id = cell("tenant_id")
    if not _ID_RE.fullmatch(tenant_id):
        raise TenantInputError(
            "tenant_id must be 1-64 letters, digits or '_.:-', starting with a letter or digit"
        )
    flat_id = cell("flat_id")
    if not flat_id:
        raise TenantInputError("flat_id is empty")
    name = cell("name")
    if not name:
        raise TenantInputError("name is empty")
    if len(name) > 256:
        raise TenantInputError("name is longer than 256 characters")
    start = _date(cell("start_date"), "start_date")
    end = _date(cell("end_date"), "end_date") if cell("end_date") else None
    if end is not None and end < start:
        raise TenantInputError(f"end_date {end} is before start_date {start}")
    phone = parse_uk_phone(cell("phone")) if cell("phone") else None
    email = parse_email(cell("email")) if cell("email") else None
    postal = (
        "\n".join(
            line.strip()
            for line in cell("postal_address").replace("|", "\n").splitlines()
            if line.strip()
        )
        or None
    )
    language = cell("language") or "en"
    if not _LANGUAGE_RE.fullmatch(language):
        raise TenantInputError(f"language {language!r} is not a language tag (e.g. en, cy, pl)")
    channel_text = cell("channel") or (ContactChannel.SMS.value if phone else "letter")
    try:
        channel = ContactChannel(channel_text)
    except ValueError:
        raise TenantInputError(
            f"channel {channel_text!r} is not one of {', '.join(CHANNELS)}"
        ) from None
    if channel is ContactChannel.SMS and (phone is None or not phone.is_mobile):
        raise TenantInputError("channel is sms but phone is not a UK mobile number")
    if channel is ContactChannel.EMAIL and email is None:
        raise TenantInputError("channel is email but email is empty")
    given_at = (
        _when(cell("consent_given_at"), "consent_given_at")
        if cell("consent_given_at")
        else dt.datetime.combine(today, dt.time(), dt.UTC)
    )
    consents = parse_consents(cell("consents"), given_at, cell("consent_given_how"))
    return TenantRecord(
        tenant_id=tenant_id,
        flat_id=flat_id,
        name=name,
        start_date=start,
        end_date=end,
        phone=phone,
        email=email,
        postal_address=postal,
        language=language,
        channel=channel,
        consents=consents,
    )
