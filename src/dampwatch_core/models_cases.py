"""Tables of the cases aggregate: hazard reports (cases) with their status history and
statutory deadlines, work orders, contractors, the durable outbox, and the per-flat
signal state the finding rules carry between scoring runs.

Names follow the MHCLG/HACT damp and mould data model where it has one (hazard report,
status history, work order, escalation). The rules that move these rows live in
``alerting.cases``; this module only declares them, on the same ``Base`` as
:mod:`dampwatch_core.models`, so one Alembic history covers both.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dampwatch_core.models import Base, UTCDateTime, utcnow

__all__ = [
    "ACTIVE_CASE_STATES",
    "CaseDeadline",
    "CaseSignal",
    "CaseStatusChange",
    "Contractor",
    "HazardCase",
    "OutboxMessage",
    "WorkOrder",
    "WorkOrderStatusUpdate",
]

#: States in which a case is still open (the one-open-case-per-flat-and-kind rule).
ACTIVE_CASE_STATES = (
    "open",
    "acknowledged",
    "investigating",
    "made_safe",
    "works_scheduled",
)
_ACTIVE_SQL = "state IN ({})".format(", ".join(f"'{s}'" for s in ACTIVE_CASE_STATES))


class Contractor(Base):
    """A contractor's endpoint: where its work orders are sent and the secret they are
    signed with (Standard Webhooks ``whsec_`` form). ``enabled`` goes false when the
    endpoint answers 410 Gone; its messages wait until someone re-enables it."""

    __tablename__ = "contractors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    trade: Mapped[str] = mapped_column(String(64), index=True)
    webhook_url: Mapped[str] = mapped_column(String(1024))
    secret: Mapped[str] = mapped_column(String(128))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: work orders given so far: routing takes the contractor of the trade with the fewest
    work_orders_assigned: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HazardCase(Base):
    """A hazard report: one repair or outreach case for a flat, its trigger, when the
    landlord became aware, the landlord's severity assessment, and where it stands."""

    __tablename__ = "hazard_cases"
    __table_args__ = (
        Index(
            "uq_hazard_cases_open_per_flat_kind",
            "flat_id",
            "kind",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index("ix_hazard_cases_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: the landlord-facing reference, e.g. ``DM-000123``
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    flat_id: Mapped[str] = mapped_column(ForeignKey("flats.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # repair | outreach
    trigger_source: Mapped[str] = mapped_column(String(16))  # sensor | tenant_report | staff
    aware_at: Mapped[datetime] = mapped_column(UTCDateTime())
    severity: Mapped[str] = mapped_column(String(16), default="pending")
    severity_assessed_by: Mapped[str | None] = mapped_column(String(256))
    severity_assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(24), default="open")
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    investigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    made_safe_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_reason: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    risk_level: Mapped[str | None] = mapped_column(String(8))
    #: the latest sensor evidence: reasons as stored by scoring, data period
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_by: Mapped[str] = mapped_column(String(256))
    #: the last time a person (not the system) changed the case
    last_touched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: post-repair verification: a resolved repair case watches the flat until then
    verify_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: the watch's outcome: ``verified`` (no recurrence) or ``recurred``
    verification_outcome: Mapped[str | None] = mapped_column(String(16))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: before/after figures (hours of surface RH >= 80 %, mould index) of the watch
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: how many times a recurrence during the watch reopened the case (the KPI)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    history: Mapped[list[CaseStatusChange]] = relationship(
        back_populates="case", order_by="CaseStatusChange.id"
    )
    deadlines: Mapped[list[CaseDeadline]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseDeadline.id"
    )
    work_orders: Mapped[list[WorkOrder]] = relationship(back_populates="case")


class CaseStatusChange(Base):
    """One entry of a case's audit trail: who, when, why, from which state to which.
    Events that do not move the state (an assessment, a new finding, a reminder, an
    escalation) have ``from_state == to_state``."""

    __tablename__ = "case_status_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hazard_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(256))  # a user's email, or "system"
    event: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    case: Mapped[HazardCase] = relationship(back_populates="history")


class CaseDeadline(Base):
    """One statutory step's due time for a case, computed by ``alerting.cases.clocks``.
    A case pending assessment carries both severities' clocks; once assessed, only its
    own. ``due_at`` is null while a step waits for the investigation to conclude."""

    __tablename__ = "case_deadlines"
    __table_args__ = (UniqueConstraint("case_id", "severity", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hazard_cases.id"), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(24))
    period: Mapped[str] = mapped_column(String(32))
    runs_from: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    due_date: Mapped[date | None] = mapped_column(Date)

    case: Mapped[HazardCase] = relationship(back_populates="deadlines")


class WorkOrder(Base):
    """A job sent to a contractor for a repair case (HACT ``RaiseRepair``)."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hazard_cases.id"), index=True)
    contractor_id: Mapped[int] = mapped_column(ForeignKey("contractors.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default="raised")
    priority_code: Mapped[str] = mapped_column(String(4))
    required_completion_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    case: Mapped[HazardCase] = relationship(back_populates="work_orders")
    contractor: Mapped[Contractor] = relationship()
    updates: Mapped[list[WorkOrderStatusUpdate]] = relationship(
        back_populates="work_order", order_by="WorkOrderStatusUpdate.id"
    )


class WorkOrderStatusUpdate(Base):
    """One report from the contractor about a work order (HACT ``JobStatusUpdate``, or
    ``WorkOrderComplete`` when ``type_code`` is ``Complete`` and ``completion`` holds
    its elements): the MHCLG model's work order status history."""

    __tablename__ = "work_order_status_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    #: when DampWatch received it; ``event_time`` is when the contractor says it happened
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_time: Mapped[datetime] = mapped_column(UTCDateTime())
    type_code: Mapped[str] = mapped_column(String(24))
    comments: Mapped[str] = mapped_column(Text, default="")
    appointment_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appointment_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: ``[{"URI", "Title", "CreationDateTime"}]``
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: ``{"CompletedWorkElements", "OperativesUsed", "FollowOnWorkOrderReference"}``
    completion: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the contractor user's email
    reported_by: Mapped[str] = mapped_column(String(256))

    work_order: Mapped[WorkOrder] = relationship(back_populates="updates")


class OutboxMessage(Base):
    """A message to send, written in the same transaction as the change it announces.

    ``message_id`` is the Standard Webhooks ``webhook-id``: the same on every attempt,
    so the receiver can drop repeats. ``body`` is the exact JSON text that is signed.
    A dispatcher claims a row by writing its ``claim_token`` and a lease; a row whose
    lease ran out (its dispatcher died) is claimable again.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # webhook
    event_type: Mapped[str] = mapped_column(String(64))
    contractor_id: Mapped[int | None] = mapped_column(ForeignKey("contractors.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_cases.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    #: pending | delivering | delivered | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: retries give up this long after it (3 days); a replay starts a new window
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(64), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    contractor: Mapped[Contractor | None] = relationship()


class CaseSignal(Base):
    """What the finding rules remember per flat and case kind between scoring runs:
    the level last seen, since when the signal has been on (for the minimum duration)
    and when it last went off (for the cool-down)."""

    __tablename__ = "case_signals"

    flat_id: Mapped[str] = mapped_column(ForeignKey("flats.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    level: Mapped[str] = mapped_column(String(8))
    active_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finding_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the latest finding's evidence, kept for the case the signal may open
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
