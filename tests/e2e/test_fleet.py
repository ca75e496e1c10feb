"""A simulated fleet publishing through the real stack, replaying history then
following the clock."""

from __future__ import annotations

import math
import time

import httpx

from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.local import LocalStack
from dampwatch_core.db import make_engine, make_sessionmaker
from simulators.publisher import DeviceCredential, DeviceSeries, FleetPublisher


def test_fleet_replays_history_in_order_and_loses_nothing(stack: LocalStack) -> None:
    sessions = make_sessionmaker(make_engine(stack.database_url))
    creds = []
    with sessions.begin() as session:
        for f in range(2):
            add_flat(session, f"FLEET-{f}", f"{f} Fleet Court")
        session.flush()
        for i in range(4):
            device, pw = add_device(
                session,
                f"esp32-fleet0000000{i}",
                f"FLEET-{i // 2}",
                ("bedroom", "living_room")[i % 2],
            )
            creds.append(DeviceCredential(device.id, pw))
        session.flush()
        sync_broker_credentials(session, stack.mosquitto.password_file, stack.mosquitto.pid_file)
    for c in creds:  # the broker rereads its password file on SIGHUP
        stack.mosquitto.wait_accepts(c.device_id, c.password)
    now = int(time.time()) // 300 * 300
    ts = [now - 300 * k for k in range(24, 0, -1)]  # 2 hours, 5-minute samples
    series = []
    for i, c in enumerate(creds):
        temps = [18.0 + i + 0.01 * k for k in range(24)]
        if i == 0:
            temps[5] = math.nan  # a dropped sample is not sent
        series.append(
            DeviceSeries(
                c, ts, temps, [55.0] * 24, upload_every=6, surface_c=[14.0] * 24 if i == 1 else None
            )
        )
    fleet = FleetPublisher(stack.host, stack.ports.mqtt, series, workers=4)
    progress = fleet.publish_until(ts[11])  # the first hour only
    assert (progress.messages, progress.readings) == (8, 47)
    progress = fleet.publish_until(now)
    assert (progress.messages, progress.readings, progress.failed_uploads) == (16, 95, 0)
    assert fleet.remaining() == 0
    assert [p.seq for p in fleet.publishers] == [4, 4, 4, 4]

    def stored(flat: str) -> list[dict]:
        r = httpx.get(
            f"{stack.api_url}/api/v1/flats/{flat}/readings",
            params={"from": now - 3 * 3600, "to": now + 1},
            headers=stack.api_headers,
            timeout=5,
        )
        return r.json()["readings"]

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(stored("FLEET-0")) + len(stored("FLEET-1")) < 95:
        time.sleep(0.1)
    flat0, flat1 = stored("FLEET-0"), stored("FLEET-1")
    assert len(flat0) == 47 and len(flat1) == 48
    assert {r["surface_c"] for r in flat0 if r["room"] == "living_room"} == {14.0}
