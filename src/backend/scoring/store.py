"""The assessment store: flats' assessments as history, the ranking row of each flat,
and what changed (:class:`~dampwatch_core.findings.Finding`).

History stays compact: one row per flat per UTC day of data (its latest assessment of
that day), and a new row whenever a level changes. A run on the same day with the same
levels updates that day's row in place, so the store grows by about one row per flat
per day, not one per run. The ranking table (``flat_risk``) points at each flat's
current assessment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, String, bindparam, cast, insert, or_, select, update

from backend.risk.levels import FlatAssessment
from dampwatch_core.const import LEVELS, Level
from dampwatch_core.findings import (
    DEVICE_FAULT_FLAGS,
    Finding,
    FindingKind,
    Flag,
    FlagCode,
    Reason,
    ReasonKind,
    is_device_fault,
)
from dampwatch_core.models import FlatRisk, RiskAssessment

__all__ = ["AssessmentPeriod", "AssessmentStore", "SqlAssessmentStore", "findings_of"]

#: Flags that come with a cold finding (they explain or qualify a cold level).
_COLD_FLAGS = frozenset({FlagCode.POSSIBLE_SELF_DISCONNECTION, FlagCode.POSSIBLE_VACANCY})


@dataclass(frozen=True)
class AssessmentPeriod:
    """When a run assessed, over which data, with which thresholds."""

    assessed_at: datetime
    start: datetime
    end: datetime
    thresholds_version: str


@dataclass(frozen=True, slots=True)
class _Current:
    assessment_id: int
    period_end: datetime | None
    damp: str
    cold: str
    vacant: bool  # flagged as possibly vacant
    faulty: bool  # with a device fault flag


def _flag_change(
    a: FlatAssessment,
    kind: FindingKind,
    before: bool,
    flags: tuple[Flag, ...],
    period: AssessmentPeriod,
    assessment_id: int | None,
) -> Finding | None:
    after = bool(flags)
    if before == after:
        return None
    return Finding(
        a.flat_id,
        kind,
        Level.HIGH if before else Level.NONE,
        Level.HIGH if after else Level.NONE,
        period.start,
        period.end,
        flags=flags,
        assessment_id=assessment_id,
        thresholds_version=period.thresholds_version,
    )


def findings_of(
    a: FlatAssessment,
    damp_before: str,
    cold_before: str,
    vacant_before: bool,
    faulty_before: bool,
    period: AssessmentPeriod,
    assessment_id: int | None = None,
) -> list[Finding]:
    """What changed in a flat between its previous assessment (its levels, whether it
    was flagged vacant or with a device fault; a flat never assessed had ``none`` and
    no flags) and ``a``."""
    out: list[Finding] = []
    for kind, before, after, rkind in (
        (FindingKind.DAMP, damp_before, a.damp_level, ReasonKind.DAMP),
        (FindingKind.COLD, cold_before, a.cold_level, ReasonKind.COLD),
    ):
        if before == after:
            continue
        reasons: tuple[Reason, ...] = tuple(r for r in a.reasons if r["kind"] == rkind)
        flags: tuple[Flag, ...] = (
            tuple(f for f in a.flags if f["code"] in _COLD_FLAGS)
            if rkind is ReasonKind.COLD
            else ()
        )
        out.append(
            Finding(
                a.flat_id,
                kind,
                Level(before),
                Level(after),
                period.start,
                period.end,
                reasons,
                flags,
                assessment_id,
                period.thresholds_version,
            )
        )
    if vacant_before or faulty_before or a.flags:
        vacancy = tuple(f for f in a.flags if f["code"] == FlagCode.POSSIBLE_VACANCY)
        faults = tuple(f for f in a.flags if is_device_fault(f))
        for finding in (
            _flag_change(
                a,
                FindingKind.VACANCY,
                vacant_before,
                vacancy,
                period,
                assessment_id,
            ),
            _flag_change(
                a,
                FindingKind.DEVICE_FAULT,
                faulty_before,
                faults,
                period,
                assessment_id,
            ),
        ):
            if finding is not None:
                out.append(finding)
    return out


class AssessmentStore(Protocol):
    """Where the job stores a run's assessments; returns what changed."""

    def write(
        self, conn: Connection, assessments: Sequence[FlatAssessment], period: AssessmentPeriod
    ) -> list[Finding]: ...


class SqlAssessmentStore:
    """Assessments, ranking and findings in the relational store (tables
    ``risk_assessments`` and ``flat_risk``)."""

    def _current(self, conn: Connection) -> dict[str, _Current]:
        """Each assessed flat's current assessment. Whether it was flagged is matched
        in the database on the stored text (a flag's code appears nowhere else in it),
        so no flags are parsed."""
        flags = cast(RiskAssessment.flags, String)
        vacant = flags.like(f"%{FlagCode.POSSIBLE_VACANCY.value}%")
        faulty = or_(*(flags.like(f"%{code.value}%") for code in sorted(DEVICE_FAULT_FLAGS)))
        return {
            flat: _Current(aid, period_end, damp, cold, bool(vac), bool(fault))
            for flat, aid, period_end, damp, cold, vac, fault in conn.execute(
                select(
                    FlatRisk.flat_id,
                    FlatRisk.assessment_id,
                    RiskAssessment.period_end,
                    FlatRisk.damp_level,
                    FlatRisk.cold_level,
                    vacant,
                    faulty,
                ).join(RiskAssessment, RiskAssessment.id == FlatRisk.assessment_id)
            )
        }

    def write(
        self, conn: Connection, assessments: Sequence[FlatAssessment], period: AssessmentPeriod
    ) -> list[Finding]:
        """Store ``assessments`` (history and ranking); return what changed."""
        if not assessments:
            return []
        current = self._current(conn)
        records = [
            {
                "flat_id": a.flat_id,
                "assessed_at": period.assessed_at,
                "period_start": period.start,
                "period_end": period.end,
                "damp_level": a.damp_level,
                "cold_level": a.cold_level,
                "score": a.score,
                "reasons": a.reasons,
                "flags": a.flags,
                "rooms": a.rooms,
                "thresholds_version": period.thresholds_version,
            }
            for a in assessments
        ]
        id_by_flat = self._write_history(conn, records, assessments, current)
        self._write_ranking(conn, assessments, id_by_flat, set(current), period.assessed_at)
        findings: list[Finding] = []
        for a in assessments:
            cur = current.get(a.flat_id)
            damp, cold, vacant, faulty = (
                (cur.damp, cur.cold, cur.vacant, cur.faulty)
                if cur
                else ("none", "none", False, False)
            )
            if damp != a.damp_level or cold != a.cold_level or vacant or faulty or a.flags:
                findings += findings_of(
                    a, damp, cold, vacant, faulty, period, id_by_flat[a.flat_id]
                )
        return findings

    @staticmethod
    def _write_history(
        conn: Connection,
        records: list[dict[str, Any]],
        assessments: Sequence[FlatAssessment],
        current: dict[str, _Current],
    ) -> dict[str, int]:
        """Update the day's row in place or add one (see the module docstring);
        returns each flat's current assessment id."""
        fresh, same_day = [], []
        id_by_flat: dict[str, int] = {}
        for a, rec in zip(assessments, records, strict=True):
            cur = current.get(a.flat_id)
            if (
                cur is not None
                and cur.period_end is not None
                and cur.period_end.date() == rec["period_end"].date()
                and (cur.damp, cur.cold) == (a.damp_level, a.cold_level)
            ):
                id_by_flat[a.flat_id] = cur.assessment_id
                same_day.append(
                    {"b_id": cur.assessment_id, **{f"b_{k}": v for k, v in rec.items()}}
                )
            else:
                fresh.append(rec)
        if same_day:
            columns = RiskAssessment.__table__.c
            conn.execute(
                update(RiskAssessment)
                .where(RiskAssessment.id == bindparam("b_id"))
                .values({k: bindparam(f"b_{k}", type_=columns[k].type) for k in records[0]}),
                same_day,
            )
        if fresh:
            # one new row per flat, so ids are matched by flat (RETURNING in batches, in
            # whatever order the database gives them)
            for rid, flat in conn.execute(
                insert(RiskAssessment).returning(RiskAssessment.id, RiskAssessment.flat_id),
                fresh,
            ).all():
                id_by_flat[flat] = rid
        return id_by_flat

    @staticmethod
    def _write_ranking(
        conn: Connection,
        assessments: Sequence[FlatAssessment],
        id_by_flat: dict[str, int],
        ranked: set[str],
        assessed_at: datetime,
    ) -> None:
        """The ranking row of each flat points at its current assessment."""
        ranking = [
            {
                "flat_id": a.flat_id,
                "assessment_id": id_by_flat[a.flat_id],
                "assessed_at": assessed_at,
                "damp_level": a.damp_level,
                "cold_level": a.cold_level,
                "rank": max(LEVELS.index(a.damp_level), LEVELS.index(a.cold_level)),
                "score": a.score,
            }
            for a in assessments
        ]
        old = [{f"b_{k}": v for k, v in r.items()} for r in ranking if r["flat_id"] in ranked]
        if old:
            conn.execute(
                update(FlatRisk)
                .where(FlatRisk.flat_id == bindparam("b_flat_id"))
                .values(
                    {
                        c: bindparam(f"b_{c}", type_=FlatRisk.__table__.c[c].type)
                        for c in ranking[0]
                        if c != "flat_id"
                    }
                ),
                old,
            )
        new = [r for r in ranking if r["flat_id"] not in ranked]
        if new:
            conn.execute(insert(FlatRisk), new)
