"""GOV.UK Notify as a channel: texts, letters and emails to tenants.

Two layers:

- :class:`Notifier` is the narrow interface to Notify (send a text, a letter, an
  email); :class:`NotifyClientNotifier` implements it with Notify's official client
  (``notifications-python-client``), one client per thread (the client is not
  thread-safe), and translates its errors into :class:`NotifyError` marked retryable
  or not.
- :class:`NotifyChannel` is the outbox's channel for ``notify`` rows. An outbox row
  names a :class:`~dampwatch_core.models_messages.TenantMessage` by its reference and
  holds no contact details; the channel reads them from the tenant store
  (:class:`ContactBook`) at the moment of sending, and checks the rules again then:
  a tip whose tenant has since withdrawn consent is cancelled (STOP works at once,
  even on tips already queued), as is a tip to a flat that has since got an open
  repair case; a message that comes due in the quiet hours waits until the morning.

Notify is given our own ``template_id`` of a template whose body is ``((body))``
(letters: the address lines too, and ``((subject))``), the text rendered from the
landlord's template, and the message's random ``reference`` (no personal data).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerting.channels import DeliveryOutcome, DeliveryResult, OutboundMessage
from alerting.errors import AlertingError
from alerting.messages.quiet_hours import earliest_send
from dampwatch_core.models import utcnow
from dampwatch_core.models_cases import ACTIVE_CASE_STATES, HazardCase
from dampwatch_core.models_messages import TenantMessage

__all__ = [
    "CHANNEL_NAME",
    "Notifier",
    "NotifyChannel",
    "NotifyClientNotifier",
    "NotifyError",
    "NotifyTemplates",
    "Recipient",
    "RecipientBook",
]

log = logging.getLogger(__name__)

#: the outbox channel of messages to tenants
CHANNEL_NAME = "notify"
#: purposes sent only with the tenant's consent to tips (subscription messages)
SUBSCRIPTION_PURPOSES = frozenset({"tip"})


class NotifyError(AlertingError):
    """Notify refused a message or could not be reached; ``retryable`` says whether a
    later attempt can help. The message never holds the recipient's details."""

    def __init__(self, message: str, *, status_code: int | None, retryable: bool) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable


class Notifier(Protocol):
    """Notify's sending operations; each returns Notify's id of the notification."""

    def send_sms(
        self,
        phone_number: str,
        template_id: str,
        personalisation: Mapping[str, str],
        reference: str,
    ) -> str: ...

    def send_letter(
        self, template_id: str, personalisation: Mapping[str, str], reference: str
    ) -> str: ...

    def send_email(
        self,
        email_address: str,
        template_id: str,
        personalisation: Mapping[str, str],
        reference: str,
    ) -> str: ...


def _retryable(status: int) -> bool:
    return status >= 500 or status == 429


class NotifyClientNotifier:
    """:class:`Notifier` through ``notifications-python-client``.

    ``api_key`` is Notify's key (``name-serviceid-secret``), ``base_url`` Notify's API
    (or the local stand-in's). The client is not thread-safe: each thread gets its own.
    """

    def __init__(self, api_key: str, base_url: str, *, timeout: float = 10.0) -> None:
        if len(api_key) < 74:
            raise AlertingError("the Notify API key is too short: expected name-serviceid-secret")
        self._api_key = api_key
        self._base_url = base_url
        self._timeout = timeout
        self._local = threading.local()

    def _client(self) -> NotificationsAPIClient:
        client: NotificationsAPIClient | None = getattr(self._local, "client", None)
        if client is None:
            client = NotificationsAPIClient(
                self._api_key, base_url=self._base_url, timeout=self._timeout
            )
            self._local.client = client
        return client

    def _call(self, what: str, send: Callable[[NotificationsAPIClient], Any]) -> str:
        try:
            answer = send(self._client())
        except APIError as exc:
            status = exc.status_code
            # Notify's message names the field, never echoes its value
            raise NotifyError(
                f"Notify refused the {what} ({status}): {exc.message}",
                status_code=status,
                retryable=_retryable(status),
            ) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise NotifyError(
                f"Notify's answer to the {what} has no id", status_code=None, retryable=True
            )
        notify_id: str = answer["id"]
        return notify_id

    def send_sms(
        self,
        phone_number: str,
        template_id: str,
        personalisation: Mapping[str, str],
        reference: str,
    ) -> str:
        return self._call(
            "text",
            lambda c: c.send_sms_notification(
                phone_number,
                template_id,
                personalisation=dict(personalisation),
                reference=reference,
            ),
        )

    def send_letter(
        self, template_id: str, personalisation: Mapping[str, str], reference: str
    ) -> str:
        return self._call(
            "letter",
            lambda c: c.send_letter_notification(
                template_id, dict(personalisation), reference=reference
            ),
        )

    def send_email(
        self,
        email_address: str,
        template_id: str,
        personalisation: Mapping[str, str],
        reference: str,
    ) -> str:
        return self._call(
            "email",
            lambda c: c.send_email_notification(
                email_address,
                template_id,
                personalisation=dict(personalisation),
                reference=reference,
            ),
        )


@dataclass(frozen=True)
class Recipient:
    """How to reach one tenant, read at the moment of sending (never stored here)."""

    mobile: str | None
    email: str | None
    #: postal address lines, the postcode last
    address_lines: Sequence[str]
    #: the tenant agreed to tips (subscription messages) and has not withdrawn it
    tips_consent: bool

    def __repr__(self) -> str:  # contact details stay out of logs and tracebacks
        return f"Recipient(tips_consent={self.tips_consent}, ...)"


class RecipientBook(Protocol):
    """The tenant store's read side, as the channel needs it (the store audits each
    read, in ``session``'s transaction)."""

    def recipient(self, session: Session, tenant_id: str, at: dt.datetime) -> Recipient | None:
        """The tenant's contact details if their tenancy is current, else None."""
        ...


@dataclass(frozen=True)
class NotifyTemplates:
    """Notify template ids (settings): one per channel, each a ``((body))`` template."""

    sms: str
    letter: str
    email: str


def _open_repair_case(session: Session, flat_id: str) -> bool:
    return (
        session.scalars(
            select(HazardCase.id).where(
                HazardCase.flat_id == flat_id,
                HazardCase.kind == "repair",
                HazardCase.state.in_(ACTIVE_CASE_STATES),
            )
        ).first()
        is not None
    )


class NotifyChannel:
    """The outbox's channel for ``notify`` rows (see the module's description)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        notifier: Notifier,
        contacts: RecipientBook,
        templates: NotifyTemplates,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._notifier = notifier
        self._contacts = contacts
        self._templates = templates
        self._clock = clock

    def _finish(
        self, reference: str, status: str, reason: str | None, notify_id: str | None = None
    ) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.scalars(
                select(TenantMessage).where(TenantMessage.reference == reference)
            ).one()
            row.status = status
            row.status_reason = reason
            row.status_at = now
            if notify_id is not None:
                row.notify_id = notify_id
                row.sent_at = now

    def send(self, message: OutboundMessage) -> DeliveryResult:
        try:
            reference = str(json.loads(message.body)["reference"])
        except (ValueError, KeyError, TypeError):
            return DeliveryResult(DeliveryOutcome.REJECTED, error="not a tenant message")
        now = self._clock()
        wait_until = earliest_send(now)
        if wait_until > now:  # the dispatcher ran late, into the quiet hours
            return DeliveryResult(
                DeliveryOutcome.RETRY,
                retry_after=(wait_until - now).total_seconds(),
                error="quiet hours (20:00-09:00 UK time): waits for the morning",
            )
        with self._sessions.begin() as session:
            row = session.scalars(
                select(TenantMessage).where(TenantMessage.reference == reference)
            ).first()
            if row is None:
                return DeliveryResult(DeliveryOutcome.REJECTED, error="no such tenant message")
            if row.status == "cancelled":
                return DeliveryResult(DeliveryOutcome.REJECTED, error="message cancelled")
            channel, subject, body = row.channel, row.subject, row.body
            subscription = row.purpose in SUBSCRIPTION_PURPOSES
            cancel = None
            if subscription and _open_repair_case(session, row.flat_id):
                cancel = "the flat has an open repair case"
            contact = None
            if cancel is None:
                contact = self._contacts.recipient(session, row.tenant_id, now)
                if contact is None:
                    cancel = "no current tenant"
                elif subscription and not contact.tips_consent:
                    cancel = "no consent to tips (withdrawn or never given)"
            if cancel is not None or contact is None:
                row.status = "cancelled"
                row.status_reason = cancel
                row.status_at = now
                return DeliveryResult(DeliveryOutcome.REJECTED, error=f"cancelled: {cancel}")
        try:
            notify_id = self._deliver(channel, contact, subject, body, reference)
        except NotifyError as exc:
            if exc.retryable:
                return DeliveryResult(
                    DeliveryOutcome.RETRY, status_code=exc.status_code, error=str(exc)
                )
            self._finish(reference, "failed", str(exc))
            return DeliveryResult(
                DeliveryOutcome.REJECTED, status_code=exc.status_code, error=str(exc)
            )
        self._finish(reference, "created", None, notify_id=notify_id)
        return DeliveryResult(DeliveryOutcome.DELIVERED, status_code=201)

    def _deliver(
        self, channel: str, contact: Recipient, subject: str, body: str, reference: str
    ) -> str:
        if channel == "sms":
            if not contact.mobile:
                raise NotifyError(
                    "the tenant has no mobile number", status_code=None, retryable=False
                )
            return self._notifier.send_sms(
                contact.mobile, self._templates.sms, {"body": body}, reference
            )
        if channel == "email":
            if not contact.email:
                raise NotifyError(
                    "the tenant has no email address", status_code=None, retryable=False
                )
            return self._notifier.send_email(
                contact.email,
                self._templates.email,
                {"subject": subject, "body": body},
                reference,
            )
        lines = [line for line in contact.address_lines if line.strip()]
        if len(lines) < 3:
            raise NotifyError(
                "the tenant's address has fewer than 3 lines", status_code=None, retryable=False
            )
        personalisation = {f"address_line_{i}": line for i, line in enumerate(lines[:7], 1)}
        personalisation.update(subject=subject, body=body)
        return self._notifier.send_letter(self._templates.letter, personalisation, reference)
