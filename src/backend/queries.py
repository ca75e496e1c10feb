"""Read queries shared by the API and the dashboard (no SQL in route handlers)."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dampwatch_core.models import Device, Flat, FlatRisk, QuarantinedMessage, RiskAssessment

__all__ = [
    "blocks",
    "flat_assessments",
    "flat_devices",
    "landlords",
    "level_counts",
    "quarantine_counts",
    "ranked_flats",
    "recent_quarantine",
]


def ranked_flats(
    session: Session,
    *,
    sort: Literal["id", "risk"] = "risk",
    block: str | None = None,
    limit: int = 1000,
    offset: int = 0,
    landlord: str | None = None,
) -> list[tuple[Flat, FlatRisk | None]]:
    """Flats with their latest risk; ``risk`` order puts the highest first. ``landlord``:
    only that landlord's flats."""
    query = select(Flat, FlatRisk).outerjoin(FlatRisk, FlatRisk.flat_id == Flat.id)
    if landlord is not None:
        query = query.where(Flat.landlord == landlord)
    if block:
        query = query.where(Flat.block == block)
    if sort == "risk":
        query = query.order_by(
            FlatRisk.rank.desc().nulls_last(), FlatRisk.score.desc().nulls_last(), Flat.id
        )
    else:
        query = query.order_by(Flat.id)
    rows = session.execute(query.limit(limit).offset(offset)).all()
    return [(flat, risk) for flat, risk in rows]


def blocks(session: Session, landlord: str | None = None) -> list[str]:
    query = select(Flat.block).where(Flat.block.is_not(None)).distinct().order_by(Flat.block)
    if landlord is not None:
        query = query.where(Flat.landlord == landlord)
    return [b for b in session.scalars(query) if b]


def landlords(session: Session) -> list[str]:
    return [x for x in session.scalars(select(Flat.landlord).distinct().order_by(Flat.landlord))]


def level_counts(session: Session, landlord: str | None = None) -> dict[str, Counter[str]]:
    """How many flats (of ``landlord``, or all) are at each damp and cold level now."""
    damp: Counter[str] = Counter()
    cold: Counter[str] = Counter()
    query = select(FlatRisk.damp_level, FlatRisk.cold_level, func.count()).group_by(
        FlatRisk.damp_level, FlatRisk.cold_level
    )
    if landlord is not None:
        query = query.join(Flat, Flat.id == FlatRisk.flat_id).where(Flat.landlord == landlord)
    rows = session.execute(query).all()
    for damp_level, cold_level, count in rows:
        damp[damp_level] += count
        cold[cold_level] += count
    return {"damp": damp, "cold": cold}


def flat_assessments(session: Session, flat_id: str, limit: int = 90) -> list[RiskAssessment]:
    """The flat's assessments, newest first."""
    return list(
        session.scalars(
            select(RiskAssessment)
            .where(RiskAssessment.flat_id == flat_id)
            .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
            .limit(limit)
        )
    )


def flat_devices(session: Session, flat_id: str) -> list[Device]:
    return list(
        session.scalars(select(Device).where(Device.flat_id == flat_id).order_by(Device.room))
    )


def recent_quarantine(
    session: Session, *, reason: str | None = None, device: str | None = None, limit: int = 100
) -> list[QuarantinedMessage]:
    query = select(QuarantinedMessage).order_by(QuarantinedMessage.id.desc()).limit(limit)
    if reason:
        query = query.where(QuarantinedMessage.reason == reason)
    if device:
        query = query.where(QuarantinedMessage.device_id == device)
    return list(session.scalars(query))


def quarantine_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(QuarantinedMessage.reason, func.count()).group_by(QuarantinedMessage.reason)
    ).all()
    return {reason: count for reason, count in rows}
