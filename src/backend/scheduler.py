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
    """A job: its name (for ``dampwatch jobs run NAME`` and the scheduler), what it
    runs, and how often. ``every_s`` None: only on demand (another process runs it
    continuously, as the outbox dispatcher). ``every_setting`` names a setting that
    overrides ``every_s``; ``takes_findings``: the job is given the finding sinks."""

    name: str
    func: Callable[..., object]
    every_s: int | None
    every_setting: str | None = None
    takes_findings: bool = False
    description: str = ""

    def interval_s(self, settings: Settings) -> int | None:
        if self.every_setting is not None:
            return int(getattr(settings, self.every_setting))
        return self.every_s

    def run(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        finding_sinks: Sequence[FindingSink] = (),
    ) -> object:
        """Run it once, now."""
        if self.takes_findings:
            return self.func(settings, sessions, sinks=finding_sinks)
        return self.func(settings, sessions)


JOBS: list[Job] = [
    Job("mark_silent_devices", mark_silent_devices, 600,
        description="mark devices silent when not heard from in 9 h"),
    Job("score", score_risk, 3600, every_setting="score_every_s", takes_findings=True,
        description="incremental risk scoring of every flat; findings go to the sinks"),
    Job("watch_device_drops", watch_device_drops, 600, takes_findings=True,
        description="a device_fault finding when a device's drops counter rises"),
    Job("downsample", downsample, 3600, description="hourly aggregates of the readings"),
    Job("purge_quarantine", purge_quarantine, 3600, description="quarantine retention"),
]


def build_scheduler(
    settings: Settings,
    jobs: Sequence[Job] | None = None,
    *,
    finding_sinks: Sequence[FindingSink] = (),
) -> BlockingScheduler:
    """Every job of ``jobs`` (default :data:`JOBS`) that has an interval, each as its
    entry says; ``finding_sinks`` go to the jobs that take findings (whoever starts the
    scheduler wires them: the backend imports no consumer)."""
    sessions = make_sessionmaker(make_engine(settings.database_url))
    scheduler = BlockingScheduler(timezone="UTC")
    for job in JOBS if jobs is None else jobs:
        every = job.interval_s(settings)
        if every is None:
            continue
        scheduler.add_job(
            job.func,
            "interval",
            seconds=every,
            args=(settings, sessions),
            kwargs={"sinks": finding_sinks} if job.takes_findings else {},
            id=job.name,
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow(),
        )
    return scheduler
