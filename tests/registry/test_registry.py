"""The flat and device registry, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.registry import (
    add_device,
    add_flat,
    decommission_device,
    import_flats_csv,
    list_devices,
    sync_broker_credentials,
)
from dampwatch_core.db import make_engine, make_sessionmaker, migrate
from dampwatch_core.errors import NotFoundError, ValidationError
from dampwatch_core.mqtt_auth import verify_password


@pytest.fixture
def sessions(database_url: str):  # type: ignore[no-untyped-def]
    migrate(database_url)
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_migrations_are_idempotent(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)


def test_import_flats_reports_bad_rows_by_line(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv_path = tmp_path / "flats.csv"
    csv_path.write_text(
        "flat_id,address,block,postcode,floor\n"
        "LS9-0101,1 Lindsey Court,Lindsey Court,LS9 7BN,1\n"
        ",2 Lindsey Court,Lindsey Court,LS9 7BN,1\n"
        "LS9-0103,,Lindsey Court,LS9 7BN,1\n"
        "LS9-0104,4 Lindsey Court,Lindsey Court,LS9 7BN,first\n"
        "LS9-0101,dup,Lindsey Court,LS9 7BN,1\n"
        "bad id!,5 Lindsey Court,,,\n"
        "LS9-0106,6 Lindsey Court,Lindsey Court,LS9 7BN,2\n"
    )
    with sessions.begin() as session:
        report = import_flats_csv(session, csv_path)
    assert report.added == 2
    lines = [line for line, _ in report.errors]
    assert lines == [3, 4, 5, 6, 7]
    messages = dict(report.errors)
    assert "flat_id is empty" in messages[3]
    assert "address is required" in messages[4]
    assert "'first'" in messages[5]
    assert "twice" in messages[6]
    # re-import updates instead of duplicating
    with sessions.begin() as session:
        again = import_flats_csv(session, csv_path)
    assert (again.added, again.updated) == (0, 2)


def test_import_rejects_a_file_without_required_columns(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv_path = tmp_path / "flats.csv"
    csv_path.write_text("id,street\n1,x\n")
    with sessions.begin() as session, pytest.raises(ValidationError, match=":1: header lacks"):
        import_flats_csv(session, csv_path)


def test_device_lifecycle_and_broker_file(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        add_flat(session, "F1", "1 Test Street")
    with sessions.begin() as session:
        device, password = add_device(session, "esp32-a4cf12fe0b3c", "F1", "bedroom")
    assert verify_password(password, device.password_hash)
    assert not verify_password(password + "x", device.password_hash)
    for bad_id in ("ESP32", "ab", "dampwatch-gateway", "esp/1"):
        with sessions.begin() as session, pytest.raises(ValidationError):
            add_device(session, bad_id, "F1", "bedroom")
    with sessions.begin() as session, pytest.raises(NotFoundError, match="does not exist"):
        add_device(session, "esp32-000000000001", "NOPE", "bedroom")
    with sessions.begin() as session, pytest.raises(ValidationError, match="already registered"):
        add_device(session, "esp32-a4cf12fe0b3c", "F1", "kitchen")
    passwd = tmp_path / "passwd"
    passwd.write_text("dampwatch-gateway:$7$101$abc$def\nstale-device:$7$1$a$b\n")
    with sessions.begin() as session:
        assert sync_broker_credentials(session, passwd) == 1
    users = [line.split(":")[0] for line in passwd.read_text().splitlines()]
    assert users == ["dampwatch-gateway", "esp32-a4cf12fe0b3c"]
    with sessions.begin() as session:
        decommission_device(session, "esp32-a4cf12fe0b3c")
        session.flush()
        sync_broker_credentials(session, passwd)
        assert [d.id for d in list_devices(session, "F1")] == ["esp32-a4cf12fe0b3c"]
    assert "esp32-a4cf12fe0b3c" not in passwd.read_text()
    # a decommissioned device can be registered again with a new credential
    with sessions.begin() as session:
        device, password2 = add_device(session, "esp32-a4cf12fe0b3c", "F1", "kitchen")
    assert password2 != password and device.decommissioned_at is None
