"""Tables of messages to tenants: the landlord's templates (stored, versioned), every
message queued for a tenant with its delivery status, and the texts tenants send back.

No phone number, email or postal address is stored here: a message names its tenant
by id, and the Notify channel reads the contact details from the tenant store when it
sends. The rules that fill these rows live in ``alerting.messages``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from dampwatch_core.models import Base, UTCDateTime, utcnow

__all__ = ["InboundText", "MessageTemplate", "TenantMessage"]


class MessageTemplate(Base):
    """One version of a landlord's template. Editing a template adds a version; the
    newest one is used, and every message records the version it was made from."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("landlord", "key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    landlord: Mapped[str] = mapped_column(String(64))
    #: e.g. ``tip.damp``, ``reply.stop``, ``summary.letter``
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    #: sms | letter | email
    channel: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: a tip waiting to go: at most one per tenant (the weekly cap's guard in the store)
_QUEUED_TIP = "purpose = 'tip' AND status = 'queued'"


class TenantMessage(Base):
    """A message to one tenant, from queueing to its last delivery status.

    ``reference`` is what Notify is given as its ``reference``: random, no personal
    data. ``body`` is the text as rendered from the template (no contact details).
    """

    __tablename__ = "tenant_messages"
    __table_args__ = (
        Index(
            "uq_tenant_messages_one_queued_tip",
            "tenant_id",
            unique=True,
            sqlite_where=text(_QUEUED_TIP),
            postgresql_where=text(_QUEUED_TIP),
        ),
        Index("ix_tenant_messages_tenant_purpose", "tenant_id", "purpose", "send_after"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    flat_id: Mapped[str] = mapped_column(ForeignKey("flats.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_cases.id"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    #: tip | stop_confirmation | help | summary | ...
    purpose: Mapped[str] = mapped_column(String(32))
    #: sms | letter | email
    channel: Mapped[str] = mapped_column(String(8))
    template_key: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    #: queued | sending | cancelled | failed | created | sending | delivered |
    #: permanent-failure | temporary-failure | technical-failure
    status: Mapped[str] = mapped_column(String(24), default="queued")
    status_reason: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: not before this (business hours, the weekly tip cap)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Notify's id of the notification, once it accepted it
    notify_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class InboundText(Base):
    """A text a tenant sent (Notify's received-text callback), and what became of it.
    The sender's number is not kept: only the tenant it matched, if any."""

    __tablename__ = "inbound_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Notify's id of the received text: a repeated callback is stored once
    notify_id: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content: Mapped[str] = mapped_column(Text)
    #: stop | help | report | other
    kind: Mapped[str] = mapped_column(String(8))
    #: what was done: consent_withdrawn | help_sent | case_opened | officer_queue |
    #: unknown_sender
    action: Mapped[str] = mapped_column(String(24))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_cases.id"), index=True)
    #: officer queue: null until someone deals with it
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_by: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
