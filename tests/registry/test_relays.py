"""Relays in the registry: provisioning, device keys, the broker files they generate."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.registry import (
    add_device,
    add_flat,
    add_relay,
    relay_devices,
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


def test_relay_and_espnow_devices_make_the_acl(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    with sessions.begin() as s:
        add_flat(s, "F1", "1 Relay Court", block="RC")
        _relay, relay_pw = add_relay(s, "relay-rc", "RC")
        add_relay(s, "relay-other", "Elsewhere")
        s.flush()
        mine, key = add_device(s, "esp32-000000000001", "F1", "bedroom", uplink="espnow",
                               relay_id="relay-rc")
        _wifi, wifi_pw = add_device(s, "esp32-000000000002", "F1", "kitchen")
        s.flush()
        assert len(bytes.fromhex(key)) == 32 and mine.espnow_key == key
        assert relay_devices(s) == {"relay-rc": ["esp32-000000000001"], "relay-other": []}
        sync_broker_credentials(s, passwd, None, acl)
    users = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert verify_password(relay_pw, users["relay-rc"])
    assert verify_password(wifi_pw, users["esp32-000000000002"])
    assert "esp32-000000000001" not in users  # an ESP-NOW device has no MQTT login
    text = acl.read_text()
    section = text.split("user relay-rc\n", 1)[1].split("\n\n", 1)[0]
    assert section.splitlines() == [
        "topic readwrite dampwatch/v1/relay/relay-rc/status",
        "topic write dampwatch/v1/dev/esp32-000000000001/telemetry",
    ]
    other_section = text.split("user relay-other\n", 1)[1].split("\n\n", 1)[0]
    assert "esp32-000000000001" not in other_section


def test_refusals(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        add_flat(s, "F1", "1 Relay Court")
        add_relay(s, "relay-rc", "RC")
        s.flush()
        with pytest.raises(NotFoundError):
            add_device(s, "esp32-000000000001", "F1", "bedroom", uplink="espnow",
                       relay_id="relay-nowhere")
        with pytest.raises(ValidationError):
            add_device(s, "esp32-000000000001", "F1", "bedroom", uplink="espnow")
        with pytest.raises(ValidationError):
            add_device(s, "relay-rc", "F1", "bedroom")  # one namespace
        with pytest.raises(ValidationError):
            add_relay(s, "relay-rc", "RC")
        with pytest.raises(ValidationError):
            add_relay(s, "dampwatch-gateway", "RC")
        with pytest.raises(ValidationError):
            add_relay(s, "relay-x", "bad\nblock")
