"""Tenants: who lives in each flat, how to reach them, and what they agreed to.

Tables: :mod:`dampwatch_core.models_tenants` (migration ``0008``). Phone numbers,
emails and postal addresses are encrypted at rest (:mod:`.cipher`, keys from
``DAMPWATCH_TENANT_DATA_KEYS``); phones are UK numbers in E.164, known as mobile or
not (:mod:`.phones`). Users' docs: ``docs/tenants.md``.

The interface for other services (defined in :mod:`dampwatch_core.models_tenants`,
implemented by :class:`TenantBook`, built by the composition root with
``TenantBook(ContactCipher.from_settings(settings))``):

``book.contact_for(session, flat_id, purpose, at=None) -> Contact | None``
    The flat's current tenant (tenancy running on ``at``'s date) who has given
    ``purpose`` and whose details are not erased: name, mobile phone (E.164, None if
    the number is a landline, which is then in ``landline``), email, postal address
    (lines joined by newlines; the flat's address and postcode when the tenant has no
    other), preferred channel (sms|letter|email) and language.
    None when no current tenant has given the purpose. Each call that returns a
    contact writes a ``personal_data.read`` audit event in ``session`` (actor
    ``system:<purpose>``); the caller's transaction commits it.

``book.withdraw_consent(session, tenant_id, purpose, at, how) -> bool``
    Withdraw the purpose at ``at`` (``how``: e.g. ``"SMS STOP"``); True if a consent
    was withdrawn, False if none was given. Audited.

``book.tenants_with_phone(session, phone) -> list[str]``
    Ids of the tenants (details not erased) with that phone number, in any UK form or
    E.164 as Notify sends it (an inbound text's sender): found by a keyed hash, with no
    decryption. Empty if none, or if it is not a UK number.

The case rules' ``ConsentGate`` is :class:`backend.tenants.consent.HouseholdConsent`
(``refusal(session, flat_id, case_kind, at) -> str | None`` and ``cleared``): an
outreach case needs ``underheating_outreach`` from one of the flat's current tenants;
a refusal is kept in ``consent_holds``. It needs no key.

Never log a :class:`~dampwatch_core.models_tenants.Contact`'s fields; its ``repr``
shows only ids.
"""

from __future__ import annotations

from backend.tenants.book import TenantBook
from backend.tenants.cipher import ContactCipher, new_key
from backend.tenants.errors import ConsentMissing, TenantDataError, TenantInputError
from backend.tenants.phones import UkPhone, parse_uk_phone

__all__ = [
    "ConsentMissing",
    "ContactCipher",
    "TenantBook",
    "TenantDataError",
    "TenantInputError",
    "UkPhone",
    "new_key",
    "parse_uk_phone",
]
