"""The backend's scheduled jobs: ``mark_silent_devices`` on SQLite and PostgreSQL, and
``build_scheduler`` registering every job at its interval and running them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.scheduler import JOBS, SILENT_AFTER, Job, build_scheduler, mark_silent_devices
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models import Device, Flat, utcnow
from dampwatch_core.settings import Settings, load_settings


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def settings_for(database_url: str, **values: str) -> Settings:
    return load_settings(
        environ={
            "DAMPWATCH_DATABASE_URL": database_url,
            **{f"DAMPWATCH_{k}": v for k, v in values.items()},
        }
    )


def test_mark_silent_devices(sessions: sessionmaker[Session], database_url: str) -> None:
    now = utcnow()
    minute = timedelta(minutes=1)
    devices = {
        # device id: (state, last seen, decommissioned) -> state expected after the job
        "esp32-000000000001": ("online", now - SILENT_AFTER - minute, False, "silent"),
        "esp32-000000000002": ("online", now - SILENT_AFTER + minute, False, "online"),
        "esp32-000000000003": ("offline", now - 3 * SILENT_AFTER, False, "silent"),
        "esp32-000000000004": ("online", now - 3 * SILENT_AFTER, True, "online"),
        "esp32-000000000005": ("silent", now - 3 * SILENT_AFTER, False, "silent"),
        "esp32-000000000006": (None, None, False, None),  # registered, never heard
    }
    with sessions.begin() as s:
        s.add(Flat(id="F1", address="1 Silent Court"))
        s.flush()
        for device_id, (state, seen, retired, _) in devices.items():
            s.add(
                Device(
                    id=device_id,
                    flat_id="F1",
                    room="bedroom",
                    password_hash="x",
                    state=state,
                    last_seen=seen,
                    decommissioned_at=now - minute if retired else None,
                )
            )
    settings = settings_for(database_url)
    assert mark_silent_devices(settings, sessions) == 2
    with sessions() as s:
        got = {d.id: d.state for d in s.scalars(select(Device))}
    assert got == {device_id: want for device_id, (*_, want) in devices.items()}
    assert mark_silent_devices(settings, sessions) == 0, "already silent ones are not counted"


def test_build_scheduler_registers_every_job_at_its_interval(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(f"sqlite:///{tmp_path / 'dw.db'}", SCORE_EVERY_S="120")
    scheduler = build_scheduler(settings)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.name for job in JOBS}
    for job in JOBS:
        every = 120 if job.name == "score" else job.every_s
        registered = jobs[job.name]
        assert registered.trigger.interval == timedelta(seconds=every), job.name
        assert registered.max_instances == 1 and registered.coalesce
        assert registered.func is job.func
        assert registered.args[0] is settings
    assert {j.name for j in JOBS} >= {"mark_silent_devices", "score", "downsample"}


def test_the_scheduler_runs_each_job_at_once_and_survives_a_failing_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'dw.db'}"
    migrate(url)
    settings = settings_for(url)
    ran: dict[str, object] = {}
    done, failed = threading.Event(), threading.Event()

    def failing(_settings: Settings, _sessions: sessionmaker[Session]) -> None:
        ran["failing"] = True
        failed.set()
        raise RuntimeError("a job that fails")

    def probe(settings_: Settings, sessions_: sessionmaker[Session]) -> None:
        with sessions_() as s:  # the sessions are bound to the settings' store
            ran["flats"] = s.scalars(select(Flat)).all()
        ran["settings"] = settings_
        done.set()

    scheduler = build_scheduler(
        settings, [Job("failing", failing, 3600), Job("probe", probe, 3600)]
    )
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        assert done.wait(30) and failed.wait(30), "jobs did not run within 30 s of the start"
    finally:
        scheduler.shutdown(wait=False)
        thread.join(30)
    assert ran["failing"] is True and ran["flats"] == [] and ran["settings"] is settings
    assert not thread.is_alive()
