"""Queueing messages to tenants, in the caller's transaction: tips from findings, the
answers to replies, the written summary after an investigation.

Every message becomes a :class:`~dampwatch_core.models_messages.TenantMessage` (the
rendered text, template and version, when it may go) and an outbox row of the
``notify`` channel that names it by its random reference: no contact details in
either. The rules:

- tips only to a tenant who agreed to them (consent to ``sms_tips``, not withdrawn);
- at most one tip a week per tenant: none if one was queued or sent in the last 7 days
  (and the store allows one queued tip per tenant at a time);
- none to a flat with an open repair case (a tip must never seem to replace a repair);
- nothing goes between 20:00 and 09:00 UK time: the first attempt waits for 09:00;
- by text to a mobile, else by letter (tips and the written summary: a letter or an
  email, never a text).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerting.messages.quiet_hours import TIP_INTERVAL, earliest_send
from alerting.messages.template_store import current_template
from alerting.messages.templates import render
from alerting.messages.tips import TipKind, choose_tip, tip_kind_for
from alerting.outbox import enqueue
from dampwatch_core.const import Level
from dampwatch_core.findings import Finding, FindingKind
from dampwatch_core.models import utcnow
from dampwatch_core.models_cases import ACTIVE_CASE_STATES, HazardCase
from dampwatch_core.models_messages import TenantMessage

__all__ = [
    "NOTIFY_CHANNEL",
    "LandlordDetails",
    "MessageDesk",
    "TenantDirectory",
    "TenantReach",
    "TipDecision",
    "TipFindingSink",
]

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "notify"


@dataclass(frozen=True)
class TenantReach:
    """What the rules need to know of a current tenant (no contact details)."""

    tenant_id: str
    flat_id: str
    has_mobile: bool
    has_email: bool
    has_address: bool
    tips_consent: bool
    #: sms | letter | email, the tenant's own choice where they made one
    preferred_channel: str | None = None


class TenantDirectory(Protocol):
    """The tenant store, as the message rules read it (in the caller's session)."""

    def tenants_of(self, session: Session, flat_id: str, at: dt.datetime) -> Sequence[TenantReach]:
        """The flat's current tenants."""
        ...

    def tenants_of_flats(
        self, session: Session, flat_ids: Sequence[str], at: dt.datetime
    ) -> Mapping[str, Sequence[TenantReach]]:
        """The current tenants of each of the flats (a flat with none may be absent)."""
        ...

    def reach(self, session: Session, tenant_id: str, at: dt.datetime) -> TenantReach | None:
        """One tenant, if their tenancy is current."""
        ...


@dataclass(frozen=True)
class LandlordDetails:
    """The landlord's own details the templates fill in."""

    landlord: str
    name: str
    report_phone: str
    report_web: str
    advice_line: str

    def values(self) -> dict[str, str]:
        return {
            "landlord_name": self.name,
            "report_phone": self.report_phone,
            "report_web": self.report_web,
            "advice_line": self.advice_line,
        }


@dataclass(frozen=True)
class TipDecision:
    tenant_id: str
    queued: TenantMessage | None
    #: why not, when nothing was queued
    reason: str = ""


#: flats per query when planning many tips
_CHUNK = 500


def _flats_with_open_repair(session: Session, flat_ids: Sequence[str]) -> set[str]:
    return set(
        session.scalars(
            select(HazardCase.flat_id).where(
                HazardCase.flat_id.in_(flat_ids),
                HazardCase.kind == "repair",
                HazardCase.state.in_(ACTIVE_CASE_STATES),
            )
        )
    )


def _tipped_since(session: Session, tenant_ids: Sequence[str], since: dt.datetime) -> set[str]:
    """Tenants with a tip sent after ``since``, or queued to go after it (cancelled and
    failed ones do not count). A sent tip counts from when it went, which can be later
    than the time it was due."""
    if not tenant_ids:
        return set()
    return set(
        session.scalars(
            select(TenantMessage.tenant_id).where(
                TenantMessage.tenant_id.in_(tenant_ids),
                TenantMessage.purpose == "tip",
                TenantMessage.status.not_in(("cancelled", "failed")),
                func.coalesce(TenantMessage.sent_at, TenantMessage.send_after) > since,
            )
        )
    )


@dataclass
class MessageDesk:
    """Queues messages to tenants under one landlord's details."""

    details: LandlordDetails
    tenants: TenantDirectory

    def queue(
        self,
        session: Session,
        *,
        tenant_id: str,
        flat_id: str,
        purpose: str,
        template_key: str,
        now: dt.datetime,
        case_id: int | None = None,
        values: Mapping[str, str] | None = None,
        not_before: dt.datetime | None = None,
    ) -> TenantMessage:
        """Render ``template_key`` and queue it (with its outbox row) for the first
        moment in business hours at or after ``not_before`` (default now)."""
        template = current_template(session, self.details.landlord, template_key)
        all_values = {**self.details.values(), **(values or {})}
        body = render(template.body, all_values)
        subject = render(template.subject, all_values) if template.subject else ""
        send_after = earliest_send(max(now, not_before or now))
        message = TenantMessage(
            reference=f"dw-{uuid.uuid4().hex}",
            tenant_id=tenant_id,
            flat_id=flat_id,
            case_id=case_id,
            purpose=purpose,
            channel=template.channel,
            template_key=template.key,
            template_version=template.version,
            subject=subject,
            body=body,
            status="queued",
            queued_at=now,
            send_after=send_after,
        )
        session.add(message)
        outbox = enqueue(
            session,
            event_type=f"notify.{template.channel}",
            payload={"reference": message.reference},
            contractor_id=None,
            case_id=case_id,
            now=now,
            channel=NOTIFY_CHANNEL,
            not_before=send_after,
        )
        session.flush()
        message.outbox_id = outbox.id
        return message

    # -- tips ---------------------------------------------------------------------

    def plan_tip(
        self, session: Session, flat_id: str, kind: TipKind, now: dt.datetime
    ) -> list[TipDecision]:
        """A tip of ``kind`` for each current tenant of the flat the rules allow."""
        return self.plan_tips(session, {flat_id: kind}, now)

    def plan_tips(
        self, session: Session, kinds: Mapping[str, TipKind], now: dt.datetime
    ) -> list[TipDecision]:
        """:meth:`plan_tip` for many flats at once, in a few queries whatever their
        number (a scoring run can raise thousands of findings)."""
        decisions: list[TipDecision] = []
        flats = sorted(kinds)
        for start in range(0, len(flats), _CHUNK):
            chunk = flats[start : start + _CHUNK]
            by_flat = self.tenants.tenants_of_flats(session, chunk, now)
            repairs = _flats_with_open_repair(session, chunk)
            candidates = []
            for flat_id in chunk:
                for tenant in by_flat.get(flat_id, ()):
                    if flat_id in repairs:
                        decisions.append(TipDecision(tenant.tenant_id, None, "open repair case"))
                    elif not tenant.tips_consent:
                        decisions.append(TipDecision(tenant.tenant_id, None, "no consent to tips"))
                    elif not tenant.has_mobile and not tenant.has_address:
                        decisions.append(
                            TipDecision(tenant.tenant_id, None, "no mobile and no postal address")
                        )
                    else:
                        candidates.append(tenant)
            recent = _tipped_since(session, [t.tenant_id for t in candidates], now - TIP_INTERVAL)
            for tenant in candidates:
                if tenant.tenant_id in recent:
                    decisions.append(
                        TipDecision(tenant.tenant_id, None, "a tip in the last 7 days")
                    )
                    continue
                recent.add(tenant.tenant_id)  # a joint tenant of two flats: once
                decisions.append(self._queue_tip(session, tenant, kinds[tenant.flat_id], now))
        return decisions

    def _queue_tip(
        self, session: Session, tenant: TenantReach, kind: TipKind, now: dt.datetime
    ) -> TipDecision:
        before = (
            session.scalar(
                select(func.count(TenantMessage.id)).where(
                    TenantMessage.tenant_id == tenant.tenant_id, TenantMessage.purpose == "tip"
                )
            )
            or 0
        )
        channel = "sms" if tenant.has_mobile else "letter"
        message = self.queue(
            session,
            tenant_id=tenant.tenant_id,
            flat_id=tenant.flat_id,
            purpose="tip",
            template_key=choose_tip(kind, channel, before),
            now=now,
        )
        return TipDecision(tenant.tenant_id, message)

    def cancel_queued_tips(
        self, session: Session, tenant_id: str, now: dt.datetime, reason: str
    ) -> int:
        """Cancel the tenant's tips not yet sent (the channel checks again at send)."""
        rows = list(
            session.scalars(
                select(TenantMessage).where(
                    TenantMessage.tenant_id == tenant_id,
                    TenantMessage.purpose == "tip",
                    TenantMessage.status == "queued",
                )
            )
        )
        for row in rows:
            row.status = "cancelled"
            row.status_reason = reason
            row.status_at = now
        return len(rows)

    # -- the written summary ---------------------------------------------------------

    def written_summary(
        self,
        session: Session,
        case: HazardCase,
        now: dt.datetime,
        findings: str = "",
        next_steps: str = "",
    ) -> list[TenantMessage]:
        """The summary after an investigation for each current tenant of the case's
        flat: an email to a tenant who prefers email and has one, else a letter;
        never a text. Queued at once (business hours), well inside 3 working days."""
        investigated = case.investigated_at or now
        values = {
            "case_reference": case.reference,
            "investigated_on": f"{investigated:%-d %B %Y}",
            "findings": findings or "We have looked at the damp and mould in your home.",
            "next_steps": next_steps or "We will write to you again with the work we will do.",
        }
        queued = []
        for tenant in self.tenants.tenants_of(session, case.flat_id, now):
            by_email = tenant.has_email and (
                tenant.preferred_channel == "email" or not tenant.has_address
            )
            if not by_email and not tenant.has_address:
                log.warning(
                    "case %s: tenant %s has no address or email for the written summary",
                    case.reference,
                    tenant.tenant_id,
                )
                continue
            queued.append(
                self.queue(
                    session,
                    tenant_id=tenant.tenant_id,
                    flat_id=case.flat_id,
                    purpose="summary",
                    template_key="summary.email" if by_email else "summary.letter",
                    now=now,
                    case_id=case.id,
                    values=values,
                )
            )
        return queued


class TipFindingSink:
    """A :class:`~dampwatch_core.findings.FindingSink` that plans tips: for each flat
    whose damp or cold level is medium or high in a run, the tip the rules allow
    (one transaction per run). Hand it to scoring after the case sink, so a repair
    case the same run opens holds the tip back."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        desk: MessageDesk,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._desk = desk
        self._clock = clock

    def publish(self, findings: Sequence[Finding]) -> None:
        by_flat: dict[str, set[str]] = {}
        for finding in findings:
            if finding.kind in (FindingKind.DAMP, FindingKind.COLD) and (
                finding.level_after.rank >= Level.MEDIUM.rank
            ):
                by_flat.setdefault(finding.flat_id, set()).add(finding.kind.value)
        if not by_flat:
            return
        now = self._clock()
        with self._sessions.begin() as session:
            wanted = {flat: tip_kind_for(kinds) for flat, kinds in by_flat.items()}
            self._desk.plan_tips(
                session, {flat: kind for flat, kind in wanted.items() if kind is not None}, now
            )
