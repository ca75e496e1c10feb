"""Fixtures for the firmware tests: the compiled firmware, a real Mosquitto with the
device's account, a backend-side collector, and simulated devices."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dampwatch.stack.mosquitto import Mosquitto

# The harness sits next to this file (named so it cannot clash with other test areas).
sys.path.insert(0, str(Path(__file__).parent))
from fwharness import (
    BACKEND_PW,
    DEVICE_ID,
    DEVICE_PW,
    GATEWAY_PW,
    TEST_WAKE_CAP_MS,
    Collector,
    SimDevice,
    build_firmware,
)


@pytest.fixture(scope="session")
def firmware_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_firmware(tmp_path_factory.mktemp("firmware-build"))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    m = Mosquitto(tmp_path / "mq")
    m.add_user(DEVICE_ID, DEVICE_PW)
    m.add_user("dampwatch-gateway", GATEWAY_PW)
    m.add_user("dampwatch-backend", BACKEND_PW)
    m.start()
    yield m
    m.stop()


@pytest.fixture
def collector(broker: Mosquitto) -> Iterator[Collector]:
    c = Collector(broker.service_host, broker.service_port, "dampwatch-gateway", GATEWAY_PW,
                  ["dampwatch/v1/dev/+/telemetry", "dampwatch/v1/dev/+/status"])
    yield c
    c.close()


def device_settings(host: str, port: int, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "WIFI_SSID": "test-ap", "WIFI_PASSWORD": "x",
        "MQTT_HOST": host, "MQTT_PORT": port, "MQTT_PASSWORD": DEVICE_PW,
        "NTP_HOST": "127.0.0.1", "WAKE_CAP_MS": TEST_WAKE_CAP_MS,
        "WIFI_TIMEOUT_MS": 1000,
    }
    settings.update(extra)
    return settings


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
