"""Bounded storage of bad input, on SQLite and PostgreSQL: a payload is stored once per
message, the quarantine is capped per device and counts what it sheds, retention
deletes old records and their payloads; a message the registry cannot store becomes one
``unstorable`` record and the rest of the batch is saved."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from backend.registry import add_device, add_flat
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.models import (
    Device,
    QuarantinedMessage,
    QuarantinedPayload,
    QuarantineShed,
    utcnow,
)
from dampwatch_core.quarantine import purge_quarantine
from gateway.directory import DeviceDirectory
from gateway.ingest import Outcome, Received, handle_message
from gateway.store import RegistryStore

DEVICE = "esp32-q00000000001"
TOPIC = f"dampwatch/v1/dev/{DEVICE}/telemetry"


def _sessions(database_url: str):  # type: ignore[no-untyped-def]
    migrate(database_url)
    sessions = make_sessionmaker(make_engine(database_url))
    with sessions.begin() as s:
        add_flat(s, "Q-1", "1 Quarantine Court")
        s.flush()
        add_device(s, DEVICE, "Q-1", "bedroom")
    return sessions


def _outcome(payload: bytes, directory: DeviceDirectory, topic: str = TOPIC) -> Outcome:
    return handle_message(Received(topic, payload, time.time()), directory, max_age_s=86400)


def _counts(sessions) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        records = s.scalar(select(func.count()).select_from(QuarantinedMessage))
        payloads = s.scalar(select(func.count()).select_from(QuarantinedPayload))
    return int(records or 0), int(payloads or 0)


def test_a_payload_is_stored_once_per_message(database_url: str) -> None:
    sessions = _sessions(database_url)
    directory = DeviceDirectory(sessions)
    now = int(time.time())
    bad = [{"ts": now - i, "temp_c": 99, "rh_pct": 50} for i in range(64)]
    payload = json.dumps({"v": 1, "seq": 1, "readings": bad}).encode()
    outcome = _outcome(payload, directory)
    assert len(outcome.quarantined) == 64
    RegistryStore(sessions).save([outcome])
    assert _counts(sessions) == (64, 1)
    with sessions() as s:
        records = list(s.scalars(select(QuarantinedMessage)))
        assert {r.payload for r in records} == {payload}  # each record still shows it


def test_quarantine_is_capped_per_device_and_counts_what_it_sheds(database_url: str) -> None:
    sessions = _sessions(database_url)
    directory = DeviceDirectory(sessions)
    store = RegistryStore(sessions, quarantine_cap=10)
    stranger = "dampwatch/v1/dev/esp32-q0000000000f/telemetry"  # not registered
    for _ in range(3):
        store.save([_outcome(b"not json", directory) for _ in range(6)])
    store.save([_outcome(b"not json", directory, stranger) for _ in range(4)])
    with sessions() as s:
        per_device = dict(
            s.execute(
                select(QuarantinedMessage.device_id, func.count()).group_by(
                    QuarantinedMessage.device_id
                )
            ).all()
        )
        shed = {row.device_key: row.shed for row in s.scalars(select(QuarantineShed))}
    assert per_device == {DEVICE: 10, "esp32-q0000000000f": 4}
    assert shed == {DEVICE: 8}
    assert _counts(sessions) == (14, 14)


def test_retention_deletes_old_records_their_payloads_and_old_shed_counts(
    database_url: str,
) -> None:
    sessions = _sessions(database_url)
    directory = DeviceDirectory(sessions)
    store = RegistryStore(sessions, quarantine_cap=3)
    store.save([_outcome(b"old", directory) for _ in range(4)])
    store.save([_outcome(b"new", directory)])  # the device is at its cap: shed
    assert _counts(sessions) == (3, 3)
    with sessions.begin() as s:
        old = utcnow() - timedelta(days=40)
        s.execute(update(QuarantinedMessage).values(received_at=old))
        s.execute(update(QuarantineShed).values(last_shed_at=old))
    assert purge_quarantine(sessions, chunk=2) == 3
    assert _counts(sessions) == (0, 0)
    store.save([_outcome(b"new", directory)])  # room again
    assert _counts(sessions) == (1, 1)
    with sessions() as s:
        assert s.scalar(select(QuarantinedMessage.payload_id)) is not None
        assert list(s.scalars(select(QuarantinedPayload.payload))) == [b"new"]
        assert list(s.scalars(select(QuarantineShed))) == []


def test_a_message_the_registry_cannot_store_is_quarantined_unstorable(database_url: str) -> None:
    """A lone surrogate is no control character, so ``fw`` = "\\ud800" breaks no rule of
    the contract, yet no UTF-8 store can hold it: that message becomes one
    ``unstorable`` record; the other messages of the batch are saved as they are."""
    sessions = _sessions(database_url)
    directory = DeviceDirectory(sessions)
    now = int(time.time())
    good = _outcome(
        b'{"v":1,"seq":7,"fw":"1.2.0","readings":[{"ts":%d,"temp_c":20,"rh_pct":50}]}' % now,
        directory,
    )
    odd_payload = b'{"v":1,"seq":8,"fw":"\\ud800","readings":[{"ts":%d,"temp_c":20,"rh_pct":50}]}'
    odd = _outcome(odd_payload % now, directory)
    bad = _outcome(b"not json", directory)
    assert odd.lines and not odd.quarantined  # contract-valid: its readings go to InfluxDB
    result = RegistryStore(sessions).save([good, odd, bad])
    assert result.unstorable == [odd]
    with sessions() as s:
        records = {r.reason: r for r in s.scalars(select(QuarantinedMessage))}
        device = s.get(Device, DEVICE)
        assert device is not None
        assert (device.last_seq, device.fw) == (7, "1.2.0")  # the good message's health
    assert set(records) == {"not_json", "unstorable"}
    assert "UnicodeEncodeError" in records["unstorable"].detail
    assert records["unstorable"].payload == odd_payload % now
