"""The readings endpoint (issue 10, item 5): a bounded page across all of a flat's
devices, a cursor that loses and repeats nothing, ``partial`` when there is more, and
long windows answered from the hourly aggregates, newest hours included."""

from __future__ import annotations

import time
from typing import Any

import pytest
from apiharness import admin_headers, write_readings
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.downsample import downsample_hourly
from dampwatch_core.influx import InfluxClient
from dampwatch_core.settings import Settings

URL = "/api/v1/flats/B-2/readings"
DEVICES = (("esp32-bbbb00000002", "bedroom"), ("esp32-bbbb00000003", "kitchen"))
T0 = 1_760_000_000 // 3600 * 3600


@pytest.fixture
def api(sqlite_settings: Settings) -> Any:
    with TestClient(
        create_app(sqlite_settings),
        raise_server_exceptions=False,
        base_url="http://127.0.0.1",
        headers=admin_headers(sqlite_settings.database_url),
    ) as c:
        yield c


def all_pages(api: TestClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the window, following ``next_cursor`` (the cursor alone)."""
    pages = [api.get(URL, params=params).json()]
    while pages[-1]["next_cursor"] is not None:
        assert pages[-1]["partial"] is True
        r = api.get(URL, params={"cursor": pages[-1]["next_cursor"], "limit": params["limit"]})
        assert r.status_code == 200, r.text
        pages.append(r.json())
        assert len(pages) < 1000
    assert pages[-1]["partial"] is False
    return pages


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_pages_hold_every_reading_once_in_order(
    api: TestClient, sqlite_settings: Settings, limit: int
) -> None:
    times = range(T0, T0 + 4 * 3600, 300)  # both devices at the same instants
    for device, room in DEVICES:
        write_readings(sqlite_settings, "B-2", device, room, times)
    write_readings(sqlite_settings, "A-1", "esp32-aaaa00000001", "bedroom", times)
    pages = all_pages(api, {"from": T0, "to": T0 + 4 * 3600, "limit": limit})
    assert all(p["count"] <= limit for p in pages)
    got = [(r["ts"], r["device_id"]) for p in pages for r in p["readings"]]
    expected = sorted((t, d) for t in times for d, _ in DEVICES)
    assert got == expected
    assert {p["resolution"] for p in pages} == {"raw"}


def test_the_newest_readings_of_a_long_raw_window_are_not_dropped(
    api: TestClient, sqlite_settings: Settings
) -> None:
    # 110,000 one-minute readings of one device: more than one query used to return
    times = range(T0, T0 + 110_000 * 60, 60)
    write_readings(sqlite_settings, "B-2", *DEVICES[0], times)
    params = {"from": T0, "to": T0 + 110_000 * 60, "resolution": "raw", "limit": 20_000}
    pages = all_pages(api, params)
    assert len(pages) == 6
    ts = [r["ts"] for p in pages for r in p["readings"]]
    assert len(ts) == 110_000 and ts[-1] == times[-1] and ts == sorted(set(ts))


def test_a_page_is_capped_and_says_it_is_partial(
    api: TestClient, sqlite_settings: Settings
) -> None:
    times = range(T0, T0 + 6000 * 60, 60)
    for device, room in DEVICES:
        write_readings(sqlite_settings, "B-2", device, room, times)
    body = api.get(URL, params={"from": T0, "to": T0 + 6000 * 60}).json()
    assert body["count"] == len(body["readings"]) == 10_000
    assert body["partial"] is True and body["next_cursor"]
    assert api.get(URL, params={"from": T0, "to": T0 + 60, "limit": 20_001}).status_code == 422


def test_long_windows_come_from_the_hourly_aggregates_with_the_newest_hours(
    api: TestClient, sqlite_settings: Settings
) -> None:
    now = int(time.time())
    start = now - 30 * 86400
    times = range(start // 300 * 300, now, 300)
    for device, room in DEVICES:
        write_readings(sqlite_settings, "B-2", device, room, times)
    influx = InfluxClient(sqlite_settings.influx_url, sqlite_settings.influx_database)
    # the scheduler downsampled until five hours ago; then the older raw points went
    downsampled_until = (now - 5 * 3600) // 3600 * 3600
    assert downsample_hourly(influx, now=downsampled_until, max_lookback_h=31 * 24) > 0
    influx.query(f"DELETE FROM climate WHERE time < {(downsampled_until - 86400) * 10**9}")
    influx.close()

    pages = all_pages(api, {"from": start, "to": now + 1, "limit": 500})
    rows = [r for p in pages for r in p["readings"]]
    assert {p["resolution"] for p in pages} == {"hourly"}
    first_hour = -(-start // 3600) * 3600
    hours = sorted({t // 3600 * 3600 for t in times if t >= first_hour})
    assert [(r["ts"], r["device_id"]) for r in rows] == [(h, d) for h in hours for d, _ in DEVICES]
    by_hour = {(r["ts"], r["device_id"]): r for r in rows}
    # an hour whose raw points are gone is there, from the aggregate
    old = by_hour[(hours[24], DEVICES[0][0])]
    assert old["samples"] == 12
    assert old["temp_c_min"] <= old["temp_c"] <= old["temp_c_max"]
    # the hours after the last downsampling are aggregated from the raw points
    newest = by_hour[(hours[-1], DEVICES[1][0])]
    assert newest["samples"] == len([t for t in times if t >= hours[-1]])
    assert by_hour[(downsampled_until + 3600, DEVICES[0][0])]["samples"] == 12


def test_the_cursor_carries_its_window_and_is_checked(
    api: TestClient, sqlite_settings: Settings
) -> None:
    times = range(T0, T0 + 3600, 60)
    write_readings(sqlite_settings, "B-2", *DEVICES[0], times)
    first = api.get(URL, params={"from": T0, "to": T0 + 3600, "limit": 10}).json()
    cursor = first["next_cursor"]
    same = api.get(URL, params={"from": T0, "to": T0 + 3600, "limit": 10, "cursor": cursor})
    assert same.status_code == 200 and same.json()["readings"][0]["ts"] == T0 + 600
    other_window = api.get(URL, params={"from": T0 - 60, "cursor": cursor})
    assert other_window.status_code == 422 and "cursor" in other_window.json()["detail"]
    other_res = api.get(URL, params={"resolution": "hourly", "cursor": cursor})
    assert other_res.status_code == 422
    for bad in ("abc", cursor[:-2], "W1siYSJdXQ", "WzEsMCwxLCJyYXciLDAsMF0"):
        r = api.get(URL, params={"cursor": bad})
        assert r.status_code == 422 and "cursor" in r.json()["detail"], bad


def test_the_store_reads_no_more_than_a_page_from_influxdb(sqlite_settings: Settings) -> None:
    from backend.readings import ReadingStore

    class CountingClient(InfluxClient):
        most = 0

        def query(self, q: str, params: Any = None, **kwargs: Any) -> Any:
            out = super().query(q, params, **kwargs)
            self.most = max(self.most, sum(len(s.values) for s in out))
            return out

    times = range(T0, T0 + 3000 * 60, 60)
    for device, room in DEVICES:
        write_readings(sqlite_settings, "B-2", device, room, times)
    client = CountingClient(sqlite_settings.influx_url, sqlite_settings.influx_database)
    store = ReadingStore(client)
    for resolution in ("raw", "hourly"):
        page = store.page("B-2", T0, T0 + 3000 * 60, limit=50, resolution=resolution)  # type: ignore[arg-type]
        assert len(page.rows) == 50 and page.next is not None
    assert client.most <= 51 * len(DEVICES)
    client.close()
