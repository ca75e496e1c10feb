"""Scheduled jobs of the backend (APScheduler). Each job is a plain function of
(settings, sessions); the scheduler only decides when it runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.devicefaults import DropWatch
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.findings import FindingSink
from dampwatch_core.influx import InfluxClient
from dampwatch_core.models import Device, utcnow
from dampwatch_core.settings import Settings

__all__ = [
    "JOBS",
    "Job",
    "build_scheduler",
    "mark_silent_devices",
    "purge_quarantine",
    "score_risk",
    "watch_device_drops",
]

log = logging.getLogger(__name__)

#: A device that uploads 4-hourly and has said nothing for this long is "silent".
SILENT_AFTER = timedelta(hours=9)


def mark_silent_devices(settings: Settings, sessions: sessionmaker[Session]) -> int:
    """Mark devices that have not been heard from in ``SILENT_AFTER`` as ``silent``."""
    cutoff = utcnow() - SILENT_AFTER
    with sessions.begin() as session:
        result = session.execute(
            update(Device)
            .where(Device.last_seen < cutoff)
            .where(Device.decommissioned_at.is_(None))
            .where(Device.state != "silent")
            .values(state="silent")
        )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.info("%d device(s) silent for over %s", count, SILENT_AFTER)
    return count


def score_risk(
    settings: Settings, sessions: sessionmaker[Session], sinks: Sequence[FindingSink] = ()
) -> int:
    """Incremental risk scoring of every flat (see ``backend.scoring``); each run's
    findings go to ``sinks``."""
    from backend.scoring import score_estate

    with InfluxClient.from_settings(settings, timeout_s=120) as influx:
        return score_estate(sessions, influx, sinks=sinks).flats_assessed


@cache
def _drop_watch() -> DropWatch:
    """The dropped-readings check, which keeps the counts it last saw: one a process."""
    return DropWatch()


def watch_device_drops(
    settings: Settings, sessions: sessionmaker[Session], sinks: Sequence[FindingSink] = ()
) -> int:
    """Devices whose dropped readings rose since the last check become ``device_fault``
    findings for ``sinks`` (see ``backend.devicefaults``); how many flats."""
    return len(_drop_watch().run(sessions, sinks))


def downsample(settings: Settings, sessions: sessionmaker[Session]) -> int:
    """Hourly aggregates of the readings (see ``backend.downsample``)."""
    from backend.downsample import downsample_hourly

    with InfluxClient.from_settings(settings, timeout_s=300) as influx:
        return downsample_hourly(influx)


def purge_quarantine(settings: Settings, sessions: sessionmaker[Session]) -> int:
    """Quarantine retention (see ``dampwatch_core.quarantine``)."""
    from dampwatch_core.quarantine import purge_quarantine as purge

    return purge(sessions)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Settings, sessionmaker[Session]], object]
    every_s: int


JOBS: list[Job] = [
    Job("mark_silent_devices", mark_silent_devices, 600),
    Job("score_risk", score_risk, 3600),
    Job("watch_device_drops", watch_device_drops, 600),
    Job("downsample", downsample, 3600),
    Job("purge_quarantine", purge_quarantine, 3600),
]


#: The jobs whose findings go to the finding sinks.
_FINDING_JOBS: tuple[Callable[..., object], ...] = (score_risk, watch_device_drops)


def build_scheduler(
    settings: Settings,
    jobs: list[Job] | None = None,
    *,
    finding_sinks: Sequence[FindingSink] = (),
) -> BlockingScheduler:
    """The jobs on their intervals; ``finding_sinks`` receive the findings of risk
    scoring and of the dropped-readings check
    (whoever starts the scheduler wires them: the backend imports no consumer)."""
    sessions = make_sessionmaker(make_engine(settings.database_url))
    scheduler = BlockingScheduler(timezone="UTC")
    for job in jobs or JOBS:
        every = settings.score_every_s if job.name == "score_risk" else job.every_s
        scheduler.add_job(
            job.func,
            "interval",
            seconds=every,
            args=(settings, sessions),
            kwargs={"sinks": finding_sinks} if job.func in _FINDING_JOBS else {},
            id=job.name,
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow(),
        )
    return scheduler
