"""Scheduled risk scoring: every flat, incrementally, from InfluxDB into the registry,
returning what changed as :class:`~dampwatch_core.findings.Finding` values.

Each run reads, per device, only the complete hours that arrived since its last run
(hourly means and maxima, aggregated by InfluxDB), continues the device's mould index
and dry spell, adds the hours to daily buckets kept for the assessment window, and
re-assesses the flats that got new data. A device uploads in batches (hourly or
4-hourly), oldest first, so the job scores a device only up to the last complete hour
it has sent: hours still on the device are scored on a later run, and a device that
was offline backfills in order.

One module per stage: :mod:`.state` (carried state), :mod:`.reader` (InfluxDB -> an
hourly frame), :mod:`.grid` (frame -> the engine's grid, pure), :mod:`.store`
(assessments, ranking, findings) and :mod:`.job` (the stages in order).
"""

from backend.scoring.job import ScoringReport, score_estate
from backend.scoring.reader import room_split
from backend.scoring.state import NF

__all__ = ["NF", "ScoringReport", "room_split", "score_estate"]
