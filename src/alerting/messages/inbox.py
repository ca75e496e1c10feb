"""Acting on Notify's callbacks: delivery receipts update each message (and its case's
trail); a tenant's reply is read (:mod:`alerting.messages.replies`) and acted on:

- STOP and its variants: consent to tips is withdrawn at once, every queued tip is
  cancelled, and one last text confirms it;
- HELP: a text with the landlord's contact details;
- a report of a problem (mould, damp, a leak, cold) from a flat with no open repair
  case: a tenant-reported repair case, awaiting triage, with the Awaab's Law clock
  from the time of the reply (the landlord is aware from then);
- anything else, or a report while a case is open: the officer's queue, on the case.

A repeated callback (the same Notify id) is acted on once. The sender's number is
matched to a tenant and never stored or logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.cases.desk import SYSTEM, CaseDesk
from alerting.cases.states import CaseKind, TriggerSource
from alerting.messages.replies import ReplyKind, classify_reply
from alerting.messages.scheduling import MessageDesk, TenantReach
from dampwatch_core.models import utcnow
from dampwatch_core.models_cases import ACTIVE_CASE_STATES, CaseStatusChange, HazardCase
from dampwatch_core.models_messages import InboundText, TenantMessage
from dampwatch_core.notify_callbacks import DeliveryReceipt, ReceivedText

__all__ = ["FINAL_STATUSES", "NotifyInbox", "ReplySenders"]

log = logging.getLogger(__name__)

#: Notify's statuses after which nothing changes
FINAL_STATUSES = frozenset(
    {
        "delivered",
        "permanent-failure",
        "temporary-failure",
        "technical-failure",
        "validation-failed",
        "virus-scan-failed",
        "returned-letter",
        "cancelled",
    }
)
_KNOWN_STATUSES = FINAL_STATUSES | {
    "created",
    "sending",
    "pending",
    "accepted",
    "received",
    "pending-virus-check",
}


class ReplySenders(Protocol):
    """The tenant store's side the replies need."""

    def find_by_mobile(
        self, session: Session, number: str, at: dt.datetime
    ) -> Sequence[TenantReach]:
        """Current tenants with this mobile number (normally one)."""
        ...

    def withdraw_tips_consent(
        self, session: Session, tenant_id: str, at: dt.datetime, how: str
    ) -> None:
        """Withdraw the tenant's consent to tips, recorded with when and how."""
        ...


def _open_case(session: Session, flat_id: str) -> HazardCase | None:
    """The flat's open case, a repair case first."""
    cases = list(
        session.scalars(
            select(HazardCase).where(
                HazardCase.flat_id == flat_id, HazardCase.state.in_(ACTIVE_CASE_STATES)
            )
        )
    )
    cases.sort(key=lambda c: c.kind != "repair")
    return cases[0] if cases else None


@dataclass
class NotifyInbox:
    """:class:`~dampwatch_core.notify_callbacks.NotifyCallbacks` for one landlord."""

    messages: MessageDesk
    cases: CaseDesk
    senders: ReplySenders
    clock: Callable[[], dt.datetime] = utcnow

    def delivery_status(self, session: Session, receipt: DeliveryReceipt) -> bool:
        row = session.scalars(
            select(TenantMessage).where(TenantMessage.notify_id == receipt.notify_id)
        ).first()
        if row is None:
            return False
        status = receipt.status if receipt.status in _KNOWN_STATUSES else "unknown"
        if row.status in FINAL_STATUSES and status not in FINAL_STATUSES:
            return True  # a late "sending" after "delivered" changes nothing
        row.status = status
        row.status_at = receipt.at
        if row.case_id is not None:
            case = session.get(HazardCase, row.case_id)
            if case is not None:
                session.add(
                    CaseStatusChange(
                        case_id=case.id,
                        at=receipt.at,
                        actor="notify",
                        event="message",
                        from_state=case.state,
                        to_state=case.state,
                        reason=f"{row.channel} {row.template_key} "
                        f"v{row.template_version}: {status}",
                        detail={"message": row.reference, "status": status},
                    )
                )
        return True

    def received_text(self, session: Session, text: ReceivedText) -> str:
        now = self.clock()
        seen = session.scalars(
            select(InboundText).where(InboundText.notify_id == text.notify_id)
        ).first()
        if seen is not None:
            return seen.action
        kind = classify_reply(text.content)
        tenants = self.senders.find_by_mobile(session, text.source_number, text.received_at)
        row = InboundText(
            notify_id=text.notify_id,
            tenant_id=tenants[0].tenant_id if tenants else None,
            received_at=text.received_at,
            content=text.content,
            kind=kind.value,
            action="unknown_sender",
            created_at=now,
        )
        session.add(row)
        if not tenants:
            log.info("received text %s from a number no current tenant has", text.notify_id)
            return row.action
        if kind is ReplyKind.STOP:
            for tenant in tenants:
                self.senders.withdraw_tips_consent(
                    session, tenant.tenant_id, text.received_at, "replied STOP by text"
                )
                self.messages.cancel_queued_tips(
                    session, tenant.tenant_id, now, "the tenant replied STOP"
                )
            self.messages.queue(
                session,
                tenant_id=tenants[0].tenant_id,
                flat_id=tenants[0].flat_id,
                purpose="stop_confirmation",
                template_key="reply.stop",
                now=now,
            )
            row.action = "consent_withdrawn"
            return row.action
        tenant = tenants[0]
        if kind is ReplyKind.HELP:
            self.messages.queue(
                session,
                tenant_id=tenant.tenant_id,
                flat_id=tenant.flat_id,
                purpose="help",
                template_key="reply.help",
                now=now,
            )
            row.action = "help_sent"
            return row.action
        case = _open_case(session, tenant.flat_id)
        if kind is ReplyKind.REPORT and (case is None or case.kind != "repair"):
            opened = self.cases.open_case(
                session,
                flat_id=tenant.flat_id,
                kind=CaseKind.REPAIR,
                trigger=TriggerSource.TENANT_REPORT,
                aware_at=min(text.received_at, now),
                actor=SYSTEM,
                now=now,
                description="Tenant reported by text: awaiting triage",
                reason="the tenant reported a problem by text",
                evidence={"inbound_text": text.notify_id},
            )
            row.case_id = opened.id
            row.action = "case_opened"
            return row.action
        row.action = "officer_queue"
        if case is not None:
            row.case_id = case.id
            session.add(
                CaseStatusChange(
                    case_id=case.id,
                    at=now,
                    actor="notify",
                    event="tenant_reply",
                    from_state=case.state,
                    to_state=case.state,
                    reason="the tenant replied by text: for an officer to read",
                    detail={"inbound_text": text.notify_id, "kind": kind.value},
                )
            )
        return row.action
