"""``dampwatch jobs list|run`` and the scheduler built from the one list of jobs: the
case rules' tick is scheduled, the outbox is not (its dispatcher is a process of its
own) but runs on demand, and an unknown job name is a usage error."""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from whreceiver import Receiver

from alerting.channels.webhook import new_secret
from backend.scheduler import build_scheduler
from dampwatch.cli import main
from dampwatch.commands.jobs import all_jobs
from dampwatch_core.models_cases import CaseSignal, Contractor, HazardCase, OutboxMessage
from dampwatch_core.settings import Settings


@pytest.fixture
def cli(  # type: ignore[no-untyped-def]
    sessions: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    monkeypatch.setenv("DAMPWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("DAMPWATCH_SETTINGS_FILE", str(empty))

    def run(*argv: str, code: int = 0) -> object:
        capsys.readouterr()
        assert main(list(argv)) == code
        out = capsys.readouterr()
        return json.loads(out.out) if "--json" in argv and code == 0 else out.err

    return run


def test_the_scheduler_registers_every_job_of_the_one_list(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'dw.db'}", score_every_s=120
    )  # type: ignore[call-arg]
    jobs = all_jobs()
    registered = {j.id: j for j in build_scheduler(settings, jobs).get_jobs()}
    assert {"score", "cases", "downsample", "mark_silent_devices"} <= set(registered)
    assert "outbox" not in registered  # dampwatch up runs its dispatcher
    for job in jobs:
        if job.name in registered:
            every = registered[job.name].trigger.interval
            assert every == timedelta(seconds=job.interval_s(settings) or 0), job.name
    assert registered["score"].trigger.interval == timedelta(seconds=120)
    assert registered["score"].kwargs == {"sinks": ()}
    assert registered["cases"].kwargs == {}


def test_jobs_list_names_every_job(cli) -> None:  # type: ignore[no-untyped-def]
    listed = cli("jobs", "list", "--json")
    names = [j["name"] for j in listed]
    assert {"score", "cases", "outbox", "downsample"} <= set(names)
    every = {j["name"]: j["every_s"] for j in listed}
    assert every["outbox"] is None and every["cases"] == 300
    err = cli("jobs", "run", "nope", code=2)
    assert "no job 'nope'" in err and "cases" in err


def test_jobs_run_cases_then_outbox_opens_and_delivers(  # type: ignore[no-untyped-def]
    cli, sessions: sessionmaker[Session]
) -> None:
    secret = new_secret()
    receiver = Receiver(secret).start()
    try:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=13)  # past the 12 h minimum
        with sessions.begin() as session:
            session.add(
                Contractor(
                    name="Acme Damp", trade="damp_mould", webhook_url=receiver.url,
                    secret=secret, enabled=True, work_orders_assigned=0,
                )
            )
            session.add(
                CaseSignal(
                    flat_id="F1", kind="repair", level="high", active_since=since,
                    last_finding_at=since, evidence={"reasons": [], "level": "high"},
                )
            )
        ran = cli("jobs", "run", "cases", "--json")
        assert ran["job"] == "cases" and ran["result"]["opened"] == 1
        with sessions() as session:
            case = session.scalars(select(HazardCase)).one()
            assert case.flat_id == "F1" and case.aware_at == since
            assert session.scalars(select(OutboxMessage.status)).all() == ["pending"]
        again = cli("jobs", "run", "cases", "--json")
        assert again["result"]["opened"] == 0  # one open case per flat and kind
        sent = cli("jobs", "run", "outbox", "--json")
        assert sent["result"] == 1
        assert len(receiver.accepted) == 1
        (payload,) = receiver.accepted.values()
        assert payload["MessageType"] == "RaiseRepair"
        with sessions() as session:
            assert session.scalars(select(OutboxMessage.status)).all() == ["delivered"]
    finally:
        receiver.stop()
