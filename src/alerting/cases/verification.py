"""Post-repair verification: after a repair case is resolved, DampWatch watches the
flat for a configured period (28 days by default) and compares what the sensors said
before the fix with what they say after it.

The figures come from the flat's stored risk assessments (each covers scoring's
window, per room): the hours of surface RH >= 80 % summed over the rooms, and the
highest final mould index of any room. *Before* is the last assessment made at or
before the resolution; *after* the latest one since. The mould index trend compares
the two (falling, steady, rising; steady within ``MOULD_STEADY``).

A damp signal that comes back during the watch (switched on after the fix and held
for the rules' minimum duration) reopens the case; one that never cleared since the
fix reopens it when the watch ends. Otherwise the watch ends *verified*. Each reopen
is counted on the case (``reopened_count``): the reopened-cases KPI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dampwatch_core.models import RiskAssessment
from dampwatch_core.models_cases import HazardCase

__all__ = [
    "MOULD_STEADY",
    "WatchFigures",
    "case_kpis",
    "compare",
    "figures_after",
    "figures_before",
    "figures_of",
]

#: a change of the mould index smaller than this is "steady" (the index runs 0..6)
MOULD_STEADY = 0.1


@dataclass(frozen=True, slots=True)
class WatchFigures:
    """A flat's damp figures from one assessment."""

    assessment_id: int
    assessed_at: str
    #: hours of surface RH >= 80 % in the assessment's window, summed over the rooms [h]
    hours_surface_rh_over_80: float | None
    #: the highest final mould index of any room (VTT scale, 0..6) [-]
    mould_index: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _numbers(rooms: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in rooms if isinstance(r.get(key), int | float)]


def figures_of(assessment: RiskAssessment) -> WatchFigures:
    """The damp figures of one stored assessment (pure)."""
    rooms = assessment.rooms or []
    hours = _numbers(rooms, "hours_surface_rh_over_80")
    mould = _numbers(rooms, "mould_index_final")
    return WatchFigures(
        assessment_id=assessment.id,
        assessed_at=assessment.assessed_at.isoformat(),
        hours_surface_rh_over_80=round(sum(hours), 1) if hours else None,
        mould_index=round(max(mould), 3) if mould else None,
    )


def compare(before: WatchFigures | None, after: WatchFigures | None) -> dict[str, Any]:
    """Before, after, the change in hours and the mould index trend (pure)."""
    out: dict[str, Any] = {
        "before": before.as_dict() if before else None,
        "after": after.as_dict() if after else None,
        "hours_surface_rh_over_80_change": None,
        "mould_index_trend": None,
    }
    if before is None or after is None:
        return out
    if before.hours_surface_rh_over_80 is not None and after.hours_surface_rh_over_80 is not None:
        out["hours_surface_rh_over_80_change"] = round(
            after.hours_surface_rh_over_80 - before.hours_surface_rh_over_80, 1
        )
    if before.mould_index is not None and after.mould_index is not None:
        delta = after.mould_index - before.mould_index
        out["mould_index_trend"] = (
            "steady" if abs(delta) < MOULD_STEADY else "rising" if delta > 0 else "falling"
        )
    return out


def figures_before(session: Session, flat_id: str, at: dt.datetime) -> WatchFigures | None:
    """The figures of the flat's last assessment made at or before ``at``."""
    row = session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.flat_id == flat_id, RiskAssessment.assessed_at <= at)
        .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
        .limit(1)
    ).first()
    return figures_of(row) if row is not None else None


def figures_after(session: Session, flat_id: str, since: dt.datetime) -> WatchFigures | None:
    """The figures of the flat's latest assessment made after ``since``."""
    row = session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.flat_id == flat_id, RiskAssessment.assessed_at > since)
        .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
        .limit(1)
    ).first()
    return figures_of(row) if row is not None else None


def case_kpis(session: Session) -> dict[str, Any]:
    """Repair cases resolved, verified by the sensors, under watch, and reopened (the
    number of reopens, and the share of resolved cases reopened at least once)."""
    repair = HazardCase.kind == "repair"

    def count(*where: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(HazardCase).where(
            repair, *where)) or 0)

    ever_resolved = count(HazardCase.resolved_at.is_not(None))
    reopened_cases = count(HazardCase.reopened_count > 0)
    reopens = int(
        session.scalar(select(func.coalesce(func.sum(HazardCase.reopened_count), 0)).where(repair))
        or 0
    )
    return {
        "repair_cases_resolved": ever_resolved,
        "verified": count(HazardCase.verification_outcome == "verified"),
        "under_watch": count(
            HazardCase.verify_until.is_not(None), HazardCase.verification_outcome.is_(None)
        ),
        "reopened_cases": reopened_cases,
        "reopens": reopens,
        "reopened_rate": round(reopened_cases / ever_resolved, 3) if ever_resolved else None,
    }
