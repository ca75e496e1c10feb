"""Referring an outreach case to a partner (an affordable-warmth service, an advice
charity), with the household's ``partner_referral`` consent.

:func:`refer_case` checks the case (outreach, still open), the partner (enabled, the
case's landlord) and the consent (through the :class:`ContactBook` it is handed: no
contact without the purpose), records a :class:`Referral`, and writes the message in
the same transaction:

- a **webhook** partner gets a ``referral.created`` message through the outbox, signed
  per Standard Webhooks with the partner's own secret (its endpoint is a row of
  ``contractors`` with trade ``partner``, so retries, 410 handling and replay are the
  outbox's);
- an **email** partner's message is queued in the outbox on channel ``email`` with the
  partner's address, for the email sender (GOV.UK Notify) to send.

The payload (:func:`referral_payload`, ``dampwatch-referral/1``) holds only what the
partner needs to offer help: who to contact and how, the home's address, why the
landlord is referring (the case's description, not the readings), and references to
quote back. No readings, no other household members, no internal ids.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.errors import AlertingError
from alerting.outbox import MessageStatus, enqueue
from dampwatch_core.models import Flat
from dampwatch_core.models_cases import (
    ACTIVE_CASE_STATES,
    CaseStatusChange,
    HazardCase,
    OutboxMessage,
)
from dampwatch_core.models_tenants import (
    Consent,
    Contact,
    ContactBook,
    ContactChannel,
    Partner,
    Purpose,
    Referral,
)

__all__ = [
    "PARTNER_TRADE",
    "REFERRAL_EVENT",
    "REFERRAL_SCHEMA",
    "ReferralRefused",
    "refer_case",
    "referral_payload",
]

#: the trade of the endpoint rows that carry partners' webhooks (never a repair trade)
PARTNER_TRADE = "partner"
REFERRAL_EVENT = "referral.created"
REFERRAL_SCHEMA = "dampwatch-referral/1"


class ReferralRefused(AlertingError):
    """A referral that may not be made; the message says why."""


def _contact_fields(contact: Contact) -> dict[str, str | None]:
    """The contact details the partner needs: name, language, and the one route the
    tenant prefers (a landline is given when the tenant has no mobile)."""
    out: dict[str, str | None] = {
        "name": contact.name,
        "preferred_language": contact.language,
        "preferred_channel": contact.channel.value,
    }
    if contact.channel is ContactChannel.SMS and contact.phone:
        out["phone"] = contact.phone
    elif contact.channel is ContactChannel.EMAIL and contact.email:
        out["email"] = contact.email
    elif contact.landline or contact.phone:
        out["phone"] = contact.phone or contact.landline
    return out


def referral_payload(
    *,
    reference: str,
    case: HazardCase,
    flat: Flat,
    contact: Contact,
    partner: Partner,
    referred_at: dt.datetime,
    landlord_contact: str,
) -> dict[str, Any]:
    return {
        "schema": REFERRAL_SCHEMA,
        "referral_reference": reference,
        "case_reference": case.reference,
        "partner": partner.name,
        "referred_at": referred_at.astimezone(dt.UTC).isoformat(),
        "reason": case.description,
        "consent": {"purpose": Purpose.PARTNER_REFERRAL.value},
        "household": {
            **_contact_fields(contact),
            "address": flat.address,
            "postcode": flat.postcode,
        },
        "landlord": {"name": flat.landlord, "contact": landlord_contact},
    }


def _reference(session: Session) -> str:
    for _ in range(5):
        candidate = f"RF-{uuid.uuid4().hex[:10].upper()}"
        if session.scalars(select(Referral).where(Referral.reference == candidate)).first() is None:
            return candidate
    raise AlertingError("could not draw a unique referral reference")  # pragma: no cover


def refer_case(
    session: Session,
    case: HazardCase,
    partner: Partner,
    contacts: ContactBook,
    *,
    actor: str,
    now: dt.datetime,
    landlord_contact: str = "",
) -> Referral:
    """Refer ``case`` to ``partner`` (in the caller's transaction)."""
    if case.kind != "outreach":
        raise ReferralRefused(
            f"case {case.reference} is a {case.kind} case: only outreach "
            "cases are referred to partners"
        )
    if case.state not in ACTIVE_CASE_STATES:
        raise ReferralRefused(f"case {case.reference} is {case.state}: refer an open case")
    if not partner.enabled:
        raise ReferralRefused(f"partner {partner.name!r} is disabled")
    flat = session.get(Flat, case.flat_id)
    assert flat is not None  # a case's flat exists (foreign key)
    if partner.landlord != flat.landlord:
        raise ReferralRefused(
            f"partner {partner.name!r} works with landlord {partner.landlord!r}, not "
            f"{flat.landlord!r}"
        )
    done = session.scalars(
        select(Referral).where(Referral.case_id == case.id, Referral.partner_id == partner.id)
    ).first()
    if done is not None:
        raise ReferralRefused(
            f"case {case.reference} was already referred to {partner.name!r} ({done.reference})"
        )
    contact = contacts.contact_for(session, case.flat_id, Purpose.PARTNER_REFERRAL, at=now)
    if contact is None:
        raise ReferralRefused(
            f"no current tenant of flat {case.flat_id!r} has agreed to partner_referral: "
            "ask them first (dampwatch tenants consent TENANT --give partner_referral)"
        )
    consent = session.scalars(
        select(Consent).where(
            Consent.tenant_id == contact.tenant_id,
            Consent.purpose == Purpose.PARTNER_REFERRAL.value,
            Consent.withdrawn_at.is_(None),
        )
    ).one()
    reference = _reference(session)
    payload = referral_payload(
        reference=reference,
        case=case,
        flat=flat,
        contact=contact,
        partner=partner,
        referred_at=now,
        landlord_contact=landlord_contact,
    )
    if partner.channel == "webhook":
        if partner.endpoint_id is None:
            raise ReferralRefused(f"partner {partner.name!r} has no webhook endpoint")
        message = enqueue(
            session,
            event_type=REFERRAL_EVENT,
            payload=payload,
            contractor_id=partner.endpoint_id,
            case_id=case.id,
            now=now,
        )
    else:
        message = OutboxMessage(
            message_id=f"msg_{uuid.uuid4().hex}",
            channel="email",
            event_type=REFERRAL_EVENT,
            contractor_id=None,
            case_id=case.id,
            body=json.dumps(
                {"to": partner.email, "referral": payload},
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            status=MessageStatus.PENDING,
            attempts=0,
            created_at=now,
            window_started_at=now,
            next_attempt_at=now,
        )
        session.add(message)
    session.flush()
    referral = Referral(
        reference=reference,
        case_id=case.id,
        partner_id=partner.id,
        tenant_id=contact.tenant_id,
        consent_id=consent.id,
        referred_by=actor,
        referred_at=now,
        outbox_message_id=message.id,
        fields=sorted(k for k, v in payload["household"].items() if v),
    )
    session.add(referral)
    session.add(
        CaseStatusChange(
            case=case,
            at=now,
            actor=actor,
            event="referred",
            from_state=case.state,
            to_state=case.state,
            reason=f"referred to {partner.name} ({reference})",
            detail={"partner": partner.name, "referral": reference, "fields": referral.fields},
        )
    )
    session.flush()
    return referral
