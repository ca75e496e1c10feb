"""Key performance indicators of the damp and mould service, from the case records:
days to investigate and to resolve, the share of each statutory step done in time,
the reopened rate, the root-cause split, proactive (sensor) vs reported cases, and
sensor coverage; by month for the charts. Pure over the rows it is given, apart from
:func:`load_cases`.

Not yet measurable (SEAM, each shown as such on the page): repairs confirmed by the
sensors (post-repair verification), SMS delivery and opt-outs (messages).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.dashboard.evidence import deadline_outcomes
from dampwatch_core.models import Flat
from dampwatch_core.models_cases import HazardCase

__all__ = ["KPIS_DAYS", "Kpis", "compute_kpis", "load_cases"]

#: the KPIs cover cases the landlord became aware of in this many days
KPIS_DAYS = 365
#: a new case for a flat and kind within this long of a resolved one counts as a reopen
REOPEN_DAYS = 365


@dataclass
class Kpis:
    cases: int = 0
    open: int = 0
    days_to_investigate: float | None = None
    days_to_resolve: float | None = None
    investigated: int = 0
    resolved: int = 0
    #: step -> (done in time, done late or missed)
    within: dict[str, tuple[int, int]] = field(default_factory=dict)
    reopened: int = 0
    reopen_base: int = 0
    root_causes: Counter[str] = field(default_factory=Counter)
    triggers: Counter[str] = field(default_factory=Counter)
    #: month (YYYY-MM) -> {"opened", "sensor", "resolved", "median_investigate_days"}
    monthly: dict[str, dict[str, float]] = field(default_factory=dict)

    def within_pct(self, step: str) -> float | None:
        ok, late = self.within.get(step, (0, 0))
        return 100 * ok / (ok + late) if ok + late else None

    @property
    def reopened_pct(self) -> float | None:
        return 100 * self.reopened / self.reopen_base if self.reopen_base else None


def load_cases(session: Session, *, since: dt.datetime, landlord: str | None) -> list[HazardCase]:
    query = (
        select(HazardCase)
        .where(HazardCase.aware_at >= since)
        .options(selectinload(HazardCase.deadlines), selectinload(HazardCase.history))
        .order_by(HazardCase.aware_at)
    )
    if landlord is not None:
        query = query.join(Flat, Flat.id == HazardCase.flat_id).where(Flat.landlord == landlord)
    return list(session.scalars(query))


def _days(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a).total_seconds() / 86400


def compute_kpis(cases: Sequence[HazardCase], now: dt.datetime) -> Kpis:
    k = Kpis(cases=len(cases))
    investigate: list[float] = []
    resolve: list[float] = []
    within: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_month_inv: dict[str, list[float]] = defaultdict(list)
    monthly: dict[str, dict[str, float]] = defaultdict(
        lambda: {"opened": 0, "sensor": 0, "resolved": 0}
    )
    last_resolved: dict[tuple[str, str], dt.datetime] = {}
    for c in sorted(cases, key=lambda c: c.aware_at):
        month = c.aware_at.strftime("%Y-%m")
        monthly[month]["opened"] += 1
        k.triggers[c.trigger_source] += 1
        if c.trigger_source == "sensor":
            monthly[month]["sensor"] += 1
        if c.state not in ("resolved", "closed"):
            k.open += 1
        if c.investigated_at is not None:
            d = _days(c.aware_at, c.investigated_at)
            investigate.append(d)
            by_month_inv[month].append(d)
        if c.resolved_at is not None:
            resolve.append(_days(c.aware_at, c.resolved_at))
            monthly[c.resolved_at.strftime("%Y-%m")]["resolved"] += 1
        for h in c.history:
            if h.event == "investigated" and h.detail.get("root_cause"):
                k.root_causes[str(h.detail["root_cause"])] += 1
        # a case still pending assessment carries both severities' clocks: it counts
        # towards "within the deadline" once an officer has decided which applies
        for outcome in deadline_outcomes(c, now) if c.severity != "pending" else ():
            if outcome.outcome == "met":
                within[outcome.step][0] += 1
            elif outcome.outcome in ("met late", "missed"):
                within[outcome.step][1] += 1
        key = (c.flat_id, c.kind)
        before = last_resolved.get(key)
        if before is not None and _days(before, c.aware_at) <= REOPEN_DAYS:
            k.reopened += 1
        if c.resolved_at is not None:
            last_resolved[key] = c.resolved_at
            k.reopen_base += 1
    k.investigated, k.resolved = len(investigate), len(resolve)
    k.days_to_investigate = statistics.median(investigate) if investigate else None
    k.days_to_resolve = statistics.median(resolve) if resolve else None
    k.within = {step: (ok, late) for step, (ok, late) in within.items()}
    for month, values in by_month_inv.items():
        monthly[month]["median_investigate_days"] = statistics.median(values)
    k.monthly = dict(sorted(monthly.items()))
    return k
