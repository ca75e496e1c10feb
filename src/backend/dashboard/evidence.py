"""A case's evidence pack: what a landlord must show the Housing Ombudsman, gathered
from the case's records and the flat's readings, as printable HTML and as a PDF
(WeasyPrint).

Sections: the triggers with their times, the assessment (who, when), the household
(SEAM: tenants and their alert codes come with the tenants work), the sensor evidence
per room (device ids, summaries, gaps, charts), the inspection and root cause, every
action in the case's history, communications (SEAM: messages and their delivery
receipts come with the messages work), work orders and the deliveries to the
contractor, each deadline met or missed, and monitoring after the repair.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.dashboard.charts import Line, line_chart
from backend.dashboard.queue import SUMMARY_EVENT, case_clocks_now
from backend.readings import ReadingRow
from dampwatch_core.models import Device, Flat
from dampwatch_core.models_cases import HazardCase, OutboxMessage

__all__ = [
    "GAP_S",
    "DeadlineOutcome",
    "Gap",
    "RoomEvidence",
    "deadline_outcomes",
    "find_gaps",
    "pdf_bytes",
    "room_evidence",
    "sensor_window",
]

#: no reading for longer than this is a gap in the evidence
GAP_S = 2 * 3600
#: the sensor evidence starts this long before the landlord became aware
BEFORE_S = 14 * 86400
#: and runs this long after the repair (the post-completion monitoring)
AFTER_S = 28 * 86400


@dataclass(frozen=True)
class Gap:
    device_id: str
    start: dt.datetime
    end: dt.datetime

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class RoomEvidence:
    room: str
    devices: list[str]
    readings: int
    first: dt.datetime | None
    last: dt.datetime | None
    mean_temp_c: float | None
    min_temp_c: float | None
    mean_rh_pct: float | None
    max_rh_pct: float | None
    hours_rh_over_70: float
    gaps: list[Gap]
    chart: str


@dataclass(frozen=True)
class DeadlineOutcome:
    step: str
    severity: str
    period: str
    starts_at: dt.datetime | None
    due_at: dt.datetime | None
    met_at: dt.datetime | None
    #: met, met late, missed (due passed, not done), running, waiting
    outcome: str


def sensor_window(case: HazardCase, now: dt.datetime) -> tuple[int, int]:
    """Unix seconds: 14 days before aware to 28 days after resolution (or now)."""
    start = int(case.aware_at.timestamp()) - BEFORE_S
    end_at = case.resolved_at or case.made_safe_at or now
    end = min(int(now.timestamp()), int(end_at.timestamp()) + AFTER_S)
    return start, max(end, start + 3600)


def _utc(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def find_gaps(
    rows: Sequence[ReadingRow], start: int, end: int, gap_s: int = GAP_S, *, step_s: int = 0
) -> list[Gap]:
    """Per device, the stretches longer than ``gap_s`` with no reading inside
    ``[start, end)`` (before its first and after its last reading included). A row
    covers ``step_s`` from its time (3600 for an hourly mean, 0 for a reading)."""
    gaps: list[Gap] = []
    for device in sorted({r.device_id for r in rows}):
        times = sorted(r.ts for r in rows if r.device_id == device)
        covered = [(start, start), *((t, t + step_s) for t in times), (end, end)]
        for (_, a), (b, _) in itertools.pairwise(covered):
            if b - a > gap_s:
                gaps.append(Gap(device, _utc(a), _utc(b)))
    return gaps


def room_evidence(
    rows: Sequence[ReadingRow], start: int, end: int, *, step_s: int
) -> list[RoomEvidence]:
    """Per room: devices, counts, summaries, gaps and a chart (``step_s``: the rows'
    spacing, 3600 for hourly means, so hours over 70 % RH are counted in hours)."""
    out = []
    for room in sorted({r.room for r in rows}):
        mine = [r for r in rows if r.room == room]
        temps = [r.temp_c for r in mine]
        rhs = [r.rh_pct for r in mine]
        times = [r.ts for r in mine]
        chart = line_chart(
            [
                Line("temperature °C", [(r.ts, r.temp_c) for r in mine]),
                Line("wall °C", [(r.ts, r.surface_c) for r in mine if r.surface_c is not None]),
            ],
            title=f"{room}: temperature",
            unit="°C",
            gap_s=max(GAP_S, step_s * 2),
        ) + line_chart(
            [Line("RH %", [(r.ts, r.rh_pct) for r in mine])],
            title=f"{room}: relative humidity",
            unit="%",
            gap_s=max(GAP_S, step_s * 2),
        )
        out.append(
            RoomEvidence(
                room=room,
                devices=sorted({r.device_id for r in mine}),
                readings=len(mine),
                first=_utc(min(times)) if times else None,
                last=_utc(max(times)) if times else None,
                mean_temp_c=sum(temps) / len(temps) if temps else None,
                min_temp_c=min(temps) if temps else None,
                mean_rh_pct=sum(rhs) / len(rhs) if rhs else None,
                max_rh_pct=max(rhs) if rhs else None,
                hours_rh_over_70=sum(step_s for v in rhs if v > 70) / 3600,
                gaps=find_gaps(mine, start, end, GAP_S, step_s=step_s),
                chart=chart,
            )
        )
    return out


def _met_at(case: HazardCase, step: str) -> dt.datetime | None:
    if step == "investigate":
        return case.investigated_at
    if step == "make_safe":
        return case.made_safe_at
    if step == "written_summary":
        return next((h.at for h in case.history if h.event == SUMMARY_EVENT), None)
    if step in ("works_begin", "works_start"):
        return next(
            (
                h.at
                for h in case.history
                if h.to_state == "works_scheduled" and h.from_state != "works_scheduled"
            ),
            None,
        )
    return None


def deadline_outcomes(case: HazardCase, now: dt.datetime) -> list[DeadlineOutcome]:
    """Each statutory step with when it was done and whether in time. A case that
    ended (resolved or closed) needs no step that fell due after it ended, nor further
    works it was resolved without."""
    ended = case.state in ("resolved", "closed")
    works_done = any(h.to_state == "works_scheduled" for h in case.history)
    out = []
    for c in case_clocks_now(case, now):
        met_at = _met_at(case, c.step)
        if (
            met_at is None
            and ended
            and (
                (c.step in ("works_begin", "works_start") and not works_done)
                or c.due_at is None
                or c.due_at > case.state_changed_at
            )
        ):
            outcome = "not needed"
        elif c.due_at is None:
            outcome = "met" if met_at else "waiting"
        elif met_at is not None:
            outcome = "met" if met_at < c.due_at else "met late"
        else:
            outcome = "missed" if now >= c.due_at else "running"
        out.append(
            DeadlineOutcome(c.step, c.severity, c.period, c.starts_at, c.due_at, met_at, outcome)
        )
    return out


def deliveries(session: Session, case: HazardCase) -> list[OutboxMessage]:
    """The messages to the contractor about this case, with their delivery state."""
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case.id).order_by(OutboxMessage.id)
        )
    )


def devices_of(session: Session, flat: Flat) -> list[Device]:
    return list(
        session.scalars(select(Device).where(Device.flat_id == flat.id).order_by(Device.room))
    )


def pdf_bytes(html: str, stylesheet: Path) -> bytes:
    """The pack as PDF, styled by ``stylesheet``. WeasyPrint fetches nothing: no
    network, no file (the charts are inline SVG)."""
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]

    def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"the evidence pack loads nothing ({url!r})")

    document = HTML(string=html, url_fetcher=refuse)
    data = document.write_pdf(stylesheets=[CSS(filename=str(stylesheet))])
    assert data is not None
    return bytes(data)
