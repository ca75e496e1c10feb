"""Fixtures for the relay tests: the firmware's (nodes, broker, collector) plus the
relay's image, its broker account and ACL, and one radio medium per test."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dampwatch.stack.mosquitto import Mosquitto

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "firmware"))
sys.path.insert(0, str(Path(__file__).parent))
from fwharness import (
    BACKEND_PW,
    GATEWAY_PW,
    TEST_WAKE_CAP_MS,
    Collector,
    SimDevice,
    build_firmware,
)
from relayharness import RELAY_ID, RELAY_PW, Air, RelayProcess, build_relay, set_acl


def device_settings(host: str, port: int, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "MQTT_HOST": host, "MQTT_PORT": port, "NTP_HOST": "127.0.0.1",
        "WAKE_CAP_MS": TEST_WAKE_CAP_MS, "WIFI_TIMEOUT_MS": 1000,
    }
    settings.update(extra)
    return settings


@pytest.fixture(scope="session")
def firmware_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_firmware(tmp_path_factory.mktemp("firmware-build"))


@pytest.fixture(scope="session")
def relay_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_relay(tmp_path_factory.mktemp("relay-build"))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    m = Mosquitto(tmp_path / "mq")
    m.add_user(RELAY_ID, RELAY_PW)
    m.add_user("dampwatch-gateway", GATEWAY_PW)
    m.add_user("dampwatch-backend", BACKEND_PW)
    m.start()
    yield m
    m.stop()


@pytest.fixture
def collector(broker: Mosquitto) -> Iterator[Collector]:
    c = Collector(broker.service_host, broker.service_port, "dampwatch-gateway", GATEWAY_PW,
                  ["dampwatch/v1/dev/+/telemetry"])
    yield c
    c.close()


@pytest.fixture
def backend(broker: Mosquitto) -> Iterator[Collector]:
    """The backend's view: relays' retained status."""
    c = Collector(broker.service_host, broker.service_port, "dampwatch-backend", BACKEND_PW,
                  ["dampwatch/v1/relay/+/status"])
    yield c
    c.close()


@pytest.fixture
def air(tmp_path: Path) -> Air:
    return Air(tmp_path / "air")


@pytest.fixture
def make_device(tmp_path: Path, firmware_build: Path) -> Callable[..., SimDevice]:
    count = 0

    def make(host: str, port: int, sim: dict[str, Any] | None = None,
             **settings: Any) -> SimDevice:
        nonlocal count
        count += 1
        return SimDevice(tmp_path / f"device{count}", firmware_build,
                         device_settings(host, port, **settings), dict(sim or {}))

    return make


@pytest.fixture
def make_relay(tmp_path: Path, relay_build: Path, air: Air,
               broker: Mosquitto) -> Iterator[Callable[..., RelayProcess]]:
    made: list[RelayProcess] = []

    def make(devices: dict[str, str], sim: dict[str, Any] | None = None,
             acl: bool = True, **settings: Any) -> RelayProcess:
        """A relay serving `devices` (id -> hex key), registered to it in the broker's
        ACL unless `acl` is false."""
        if acl:
            set_acl(broker, {RELAY_ID: [*(broker.relays or {}).get(RELAY_ID, []), *devices]})
        conf = {"RELAY_ID": RELAY_ID, "MQTT_HOST": broker.host, "MQTT_PORT": broker.port,
                "MQTT_PASSWORD": RELAY_PW, "DEVICES": devices, "STATUS_EVERY_MS": 500,
                **settings}
        relay = RelayProcess(tmp_path / f"relay{len(made)}", relay_build, air, conf,
                             dict(sim or {}))
        made.append(relay)
        return relay

    yield make
    for relay in made:
        relay.kill()
