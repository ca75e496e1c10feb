"""A dispatcher killed with SIGKILL in the middle of retrying, then started again:
every work order still reaches the contractor, once after the receiver drops repeats
by webhook-id, with valid signatures, through the real CLI processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from whreceiver import Receiver, Reply, wait_for

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.desk import SYSTEM, CaseDesk
from alerting.cases.states import CaseKind, TriggerSource
from dampwatch_core.models import Flat
from dampwatch_core.models_cases import Contractor, OutboxMessage, WorkOrder

N = 20


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return {**os.environ, "DAMPWATCH_DATABASE_URL": database_url,
            "DAMPWATCH_SETTINGS_FILE": str(empty)}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "dampwatch.cli", *args]


def _dispatcher(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        _cli("outbox", "dispatch", "--base-delay", "0.2", "--max-delay", "0.5", "--lease", "2",
             "--timeout", "2", "--idle-wait", "0.05", "--concurrency", "4", "--batch-size", "5",
        ),
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def test_kill_9_mid_retry_then_restart(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, tmp_path)
    allow = {"on": False}

    def script(_id: str, n: int) -> Reply:
        if n == 1:
            return Reply(500)
        if n == 2:
            return Reply(429, {"Retry-After": "1"}, delay_s=0.2)
        return Reply(200) if allow["on"] else Reply(503)

    # the contractor through the real command, which prints the secret once
    added = subprocess.run(
        _cli("contractors", "add", "Acme Damp", "--webhook-url", "http://127.0.0.1:9/x",
             "--json"),
        env=env, capture_output=True, text=True, check=True,
    )
    contractor = json.loads(added.stdout)
    assert contractor["secret"].startswith("whsec_")
    receiver = Receiver(contractor["secret"], script).start()
    with sessions.begin() as session:
        c = session.get(Contractor, contractor["id"])
        assert c is not None
        c.webhook_url = receiver.url
        for i in range(N):
            session.add(Flat(id=f"K{i:02d}", address=f"Flat {i}, Crash Court", postcode="LS2"))
        session.flush()
        desk = CaseDesk(WorkingCalendar.england_and_wales())
        now = dt.datetime.now(dt.UTC)
        for i in range(N):
            desk.open_case(session, flat_id=f"K{i:02d}", kind=CaseKind.REPAIR,
                           trigger=TriggerSource.SENSOR, aware_at=now, actor=SYSTEM, now=now,
                           description="Damp and mould investigation")
    log = tmp_path / "dispatcher.log"
    first = _dispatcher(env, log)
    try:
        # mid-retry: most messages tried at least twice, none accepted yet
        wait_for(lambda: receiver.count() >= 2 * N, 60, "second attempts")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert receiver.accepted == {}
    with sessions() as session:
        statuses = {m.status for m in session.scalars(select(OutboxMessage))}
        assert "delivered" not in statuses
    allow["on"] = True
    second = _dispatcher(env, log)
    try:
        wait_for(lambda: len(receiver.accepted) == N, 90, f"{N} accepted deliveries")

        def all_recorded() -> bool:
            with sessions() as session:
                return {m.status for m in session.scalars(select(OutboxMessage))} == {
                    "delivered"}

        wait_for(all_recorded, 30, "every outbox row marked delivered")
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=20)
        finally:
            if second.poll() is None:
                second.kill()
            receiver.stop()
    with sessions() as session:
        messages = session.scalars(select(OutboxMessage)).all()
        orders = {o.reference for o in session.scalars(select(WorkOrder))}
    assert {m.message_id for m in messages} == set(receiver.accepted)
    assert {p["WorkOrderReference"]["ID"] for p in receiver.accepted.values()} == orders
    assert all(s.valid for s in receiver.seen), "every attempt carried a valid signature"
    for m in messages:
        attempts = receiver.attempts(m.message_id)
        assert len(attempts) >= 3  # 500, 429, (503s,) 200: retried across the restart
        assert {a.body for a in attempts} == {m.body}
