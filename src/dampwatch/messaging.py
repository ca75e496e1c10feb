"""Wiring messages to tenants: the tenant store (``backend.tenants``) adapted to what
the message rules and the Notify channel ask for (``alerting``), and the pieces built
from settings. The one place that sees both packages.

A reply's number is matched to a tenant through the keyed hash the tenant store keeps
beside each encrypted number (one indexed lookup); the match is recorded as a read of
personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import CaseDesk
from alerting.channels.notify import (
    NotifyChannel,
    NotifyClientNotifier,
    NotifyTemplates,
    Recipient,
)
from alerting.channels.partner_email import PartnerEmailChannel
from alerting.errors import AlertingError
from alerting.messages.inbox import NotifyInbox
from alerting.messages.scheduling import LandlordDetails, MessageDesk, TenantReach
from backend.auth import audit
from backend.tenants import store
from backend.tenants.cipher import ContactCipher
from backend.tenants.errors import TenantInputError
from backend.tenants.phones import parse_uk_phone
from dampwatch_core.errors import ConfigError
from dampwatch_core.models_cases import HazardCase
from dampwatch_core.models_tenants import Consent, Purpose, Tenancy, Tenant
from dampwatch_core.settings import Settings

__all__ = [
    "TenantStoreDirectory",
    "landlord_details",
    "message_desk",
    "notify_channel",
    "notify_inbox",
]

log = logging.getLogger(__name__)

_ACTOR = "system:messages"


def _address_lines(postal: str | None) -> list[str]:
    if not postal:
        return []
    return [part.strip() for part in postal.replace("|", "\n").splitlines() if part.strip()]


def _reach(tenant: Tenant, flat_id: str, tips_consent: bool) -> TenantReach:
    return TenantReach(
        tenant_id=tenant.id,
        flat_id=flat_id,
        has_mobile=bool(tenant.phone_enc) and bool(tenant.phone_is_mobile),
        has_email=bool(tenant.email_enc),
        has_address=bool(tenant.postal_address_enc),
        tips_consent=tips_consent,
        preferred_channel=tenant.preferred_channel,
    )


@dataclass
class TenantStoreDirectory:
    """The tenant store as the message rules (``TenantDirectory``, ``ReplySenders``)
    and the Notify channel (``RecipientBook``) read it."""

    cipher: ContactCipher

    def _reach(self, session: Session, tenancy: Tenancy) -> TenantReach:
        tenant = tenancy.tenant
        consent = store.current_consent(session, tenant.id, Purpose.SMS_TIPS) is not None
        return _reach(tenant, tenancy.flat_id, consent)

    def tenants_of(self, session: Session, flat_id: str, at: dt.datetime) -> Sequence[TenantReach]:
        return self.tenants_of_flats(session, [flat_id], at).get(flat_id, [])

    def tenants_of_flats(
        self, session: Session, flat_ids: Sequence[str], at: dt.datetime
    ) -> Mapping[str, Sequence[TenantReach]]:
        day = at.date()
        rows = session.execute(
            select(Tenancy.flat_id, Tenant)
            .join(Tenant, Tenant.id == Tenancy.tenant_id)
            .where(
                Tenancy.flat_id.in_(flat_ids),
                Tenancy.start_date <= day,
                (Tenancy.end_date.is_(None)) | (Tenancy.end_date >= day),
                Tenant.erased_at.is_(None),
            )
            .order_by(Tenancy.flat_id, Tenancy.start_date, Tenancy.id)
        ).all()
        ids = sorted({tenant.id for _, tenant in rows})
        consented = (
            set(
                session.scalars(
                    select(Consent.tenant_id).where(
                        Consent.tenant_id.in_(ids),
                        Consent.purpose == Purpose.SMS_TIPS.value,
                        Consent.withdrawn_at.is_(None),
                    )
                )
            )
            if ids
            else set()
        )
        found: dict[str, list[TenantReach]] = {}
        for flat_id, tenant in rows:
            found.setdefault(flat_id, []).append(_reach(tenant, flat_id, tenant.id in consented))
        return found

    def _current_tenancy(self, session: Session, tenant_id: str, at: dt.datetime) -> Tenancy | None:
        day = at.date()
        return session.scalars(
            select(Tenancy)
            .where(
                Tenancy.tenant_id == tenant_id,
                Tenancy.start_date <= day,
                (Tenancy.end_date.is_(None)) | (Tenancy.end_date >= day),
            )
            .order_by(Tenancy.start_date.desc())
        ).first()

    def reach(self, session: Session, tenant_id: str, at: dt.datetime) -> TenantReach | None:
        tenancy = self._current_tenancy(session, tenant_id, at)
        if tenancy is None or tenancy.tenant.erased_at is not None:
            return None
        return self._reach(session, tenancy)

    def recipient(self, session: Session, tenant_id: str, at: dt.datetime) -> Recipient | None:
        tenancy = self._current_tenancy(session, tenant_id, at)
        if tenancy is None or tenancy.tenant.erased_at is not None:
            return None
        tenant = tenancy.tenant
        details = store.contact_details(
            session, tenant, self.cipher, actor=_ACTOR, purpose="notify"
        )
        return Recipient(
            mobile=details.phone if details.phone_is_mobile else None,
            email=details.email,
            address_lines=_address_lines(details.postal_address),
            tips_consent=store.current_consent(session, tenant.id, Purpose.SMS_TIPS) is not None,
        )

    def find_by_mobile(
        self, session: Session, number: str, at: dt.datetime
    ) -> Sequence[TenantReach]:
        try:
            wanted = parse_uk_phone(number).e164
        except TenantInputError:
            return []
        day = at.date()
        rows = session.execute(
            select(Tenancy, Tenant)
            .join(Tenant, Tenant.id == Tenancy.tenant_id)
            .where(
                # the keyed hash beside the encrypted number: one indexed lookup
                Tenant.phone_lookup.in_(self.cipher.lookups(wanted)),
                Tenant.phone_is_mobile.is_(True),
                Tenant.erased_at.is_(None),
                Tenancy.start_date <= day,
                (Tenancy.end_date.is_(None)) | (Tenancy.end_date >= day),
            )
        ).all()
        found = []
        for tenancy, tenant in rows:
            if self.cipher.decrypt(tenant.phone_enc) == wanted:  # a hash collision: no
                audit.record_personal_data_read(
                    session,
                    _ACTOR,
                    tenant_id=tenant.id,
                    fields=("phone",),
                    purpose="reply matching",
                    landlord=tenant.landlord,
                )
                found.append(self._reach(session, tenancy))
        return found

    def withdraw_tips_consent(
        self, session: Session, tenant_id: str, at: dt.datetime, how: str
    ) -> None:
        store.withdraw_consent(session, tenant_id, Purpose.SMS_TIPS, at=at, how=how, actor=_ACTOR)


def landlord_details(settings: Settings) -> LandlordDetails:
    return LandlordDetails(
        landlord=settings.landlord,
        name=settings.landlord_name,
        report_phone=settings.tenant_report_phone,
        report_web=settings.tenant_report_web,
        advice_line=settings.tenant_advice_line,
    )


def directory(settings: Settings) -> TenantStoreDirectory:
    return TenantStoreDirectory(ContactCipher.from_settings(settings))


def message_desk(settings: Settings) -> MessageDesk:
    return MessageDesk(landlord_details(settings), directory(settings))


def case_desk(settings: Settings) -> CaseDesk:
    """The case desk officers act through: when tenants' contact details can be read
    (``tenant_data_keys`` set), recording an investigation queues each tenant's written
    summary (a letter or an email, never a text) in the same transaction."""
    desk = CaseDesk(WorkingCalendar.england_and_wales())
    if settings.tenant_data_keys is not None:
        messages = message_desk(settings)

        def summary(session: Session, case: HazardCase, now: dt.datetime) -> None:
            messages.written_summary(session, case, now)

        desk.after_investigation = summary
    return desk


def notify_inbox(settings: Settings, cases: CaseDesk | None = None) -> NotifyInbox:
    book = directory(settings)
    return NotifyInbox(
        messages=MessageDesk(landlord_details(settings), book),
        cases=cases or CaseDesk(WorkingCalendar.england_and_wales()),
        senders=book,
    )


def partner_email_channel(settings: Settings) -> PartnerEmailChannel:
    """Partners' referrals by email, through Notify's email template (settings)."""
    if settings.notify_api_key is None or not settings.notify_email_template_id:
        raise ConfigError(
            "Notify is not configured: set DAMPWATCH_NOTIFY_API_KEY, "
            "DAMPWATCH_NOTIFY_EMAIL_TEMPLATE_ID"
        )
    try:
        notifier = NotifyClientNotifier(
            settings.notify_api_key.get_secret_value(), settings.notify_base_url
        )
    except AlertingError as exc:
        raise ConfigError(f"DAMPWATCH_NOTIFY_API_KEY: {exc}") from None
    return PartnerEmailChannel(notifier, str(settings.notify_email_template_id))


def notify_channel(settings: Settings, sessions: sessionmaker[Session]) -> NotifyChannel:
    """The Notify channel from settings; a missing key or template id is a ConfigError
    naming it."""
    missing = [
        name
        for name in (
            "notify_api_key",
            "notify_sms_template_id",
            "notify_letter_template_id",
            "notify_email_template_id",
        )
        if not getattr(settings, name)
    ]
    if missing:
        raise ConfigError(
            "Notify is not configured: set " + ", ".join("DAMPWATCH_" + m.upper() for m in missing)
        )
    assert settings.notify_api_key is not None
    try:
        notifier = NotifyClientNotifier(
            settings.notify_api_key.get_secret_value(), settings.notify_base_url
        )
    except AlertingError as exc:
        raise ConfigError(f"DAMPWATCH_NOTIFY_API_KEY: {exc}") from None
    templates = NotifyTemplates(
        sms=str(settings.notify_sms_template_id),
        letter=str(settings.notify_letter_template_id),
        email=str(settings.notify_email_template_id),
    )
    return NotifyChannel(sessions, notifier, directory(settings), templates)
