"""No server error on any input (issue 10, item 4), and the API's 404 and 503 paths.

Each test sends many requests to one app, on SQLite and on PostgreSQL (``database_url``);
a failing request is named in the assertion."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiharness import admin_headers
from fastapi.testclient import TestClient

from backend.app import create_app
from dampwatch.stack.ports import free_port
from dampwatch_core.settings import Settings

LOCAL = "http://localhost"

FLATS = "/api/v1/flats"
BAD_NUMBERS = ["99999999999999999999", str(2**63), str(2**63 - 1), str(2**64), "-1", "1e3", "x"]
NUMERIC_PARAMS = [
    (FLATS, "offset"),
    (FLATS, "limit"),
    (f"{FLATS}/B-2/risk", "history"),
    ("/api/v1/quarantine", "limit"),
    (f"{FLATS}/B-2/readings", "limit"),
    ("/", "page"),
    ("/flats/B-2", "days"),
]


def test_out_of_range_numbers_are_refused_with_a_message(client: TestClient) -> None:
    wrong = []
    for path, param in NUMERIC_PARAMS:
        for value in BAD_NUMBERS:
            r = client.get(path, params={param: value})
            if r.status_code != 422 or param not in r.text:
                wrong.append((path, param, value, r.status_code, r.text[:200]))
    assert not wrong


def test_largest_offset_and_page_allowed_answer_empty(client: TestClient) -> None:
    assert client.get(FLATS, params={"offset": 10_000_000}).json() == []
    r = client.get("/", params={"page": 100_000})
    assert r.status_code == 200 and "No flats" in r.text


NUL_CASES = [
    f"{FLATS}/%00",
    f"{FLATS}/A-1%00/risk",
    f"{FLATS}/A-1%00",
    f"{FLATS}/A-1%00/readings",
    f"{FLATS}/A-1/readings?from=1%00",
    f"{FLATS}/A-1/readings?cursor=%00",
    "/api/v1/devices/esp32-%00",
    "/api/v1/devices?flat=A-1%00",
    "/api/v1/quarantine?reason=not_json%00",
    "/api/v1/quarantine?device=%00",
    "/?block=Lindsey%00Court",
    "/flats/A-1%00",
    "/quarantine?reason=%00",
]


def test_nul_in_any_id_or_filter_is_refused(client: TestClient) -> None:
    wrong = [
        (url, r.status_code, r.text[:200])
        for url in NUL_CASES
        if (r := client.get(url)).status_code != 422
    ]
    assert not wrong


NOT_FOUND = [
    (f"{FLATS}/NOPE", ["NOPE"]),
    (f"{FLATS}/NOPE/risk", ["NOPE"]),
    (f"{FLATS}/C-3/risk", ["C-3", "not been assessed"]),
    (f"{FLATS}/NOPE/readings", ["NOPE"]),
    ("/api/v1/devices/esp32-nope00000001", ["esp32-nope00000001"]),
]


def test_unknown_flats_and_devices_are_404_with_a_message(client: TestClient) -> None:
    for url, names in NOT_FOUND:
        r = client.get(url)
        assert r.status_code == 404, url
        for name in names:
            assert name in r.json()["detail"], url


BAD_TIMES = [
    ({"from": "yesterday"}, "ISO 8601"),
    ({"from": "2025-11-03T08:00:00"}, "offset"),
    ({"from": "2025-11-03T09:00:00+00:00", "to": "2025-11-03T08:00:00Z"}, "before"),
    ({"from": "0"}, "2000"),
    ({"to": "4102444801"}, "2100"),
    ({"to": "9999-12-31T23:59:59+00:00"}, "2100"),
    ({"from": "0001-01-01T00:00:00+14:00"}, "2000"),
    ({"to": "99999999999999999999999"}, "2100"),
    ({"from": "1700000000", "to": str(1700000000 + 400 * 86400 + 1)}, "400 days"),
]


def test_bad_times_are_422_with_a_message(client: TestClient) -> None:
    for params, says in BAD_TIMES:
        r = client.get(f"{FLATS}/A-1/readings", params=params)
        assert r.status_code == 422, (params, r.text)
        assert says in r.json()["detail"], (params, r.text)


def test_a_window_of_exactly_400_days_is_answered(client: TestClient) -> None:
    r = client.get(
        f"{FLATS}/A-1/readings", params={"from": 1700000000, "to": 1700000000 + 400 * 86400}
    )
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 0


# ----------------------------------------------------------------- store down


def store_down_url(database_url: str, tmp_path: Path) -> str:
    """The same kind of store, unreachable: a SQLite "file" that is a directory, or a
    PostgreSQL port nothing listens on."""
    if database_url.startswith("sqlite"):
        directory = tmp_path / "not-a-database"
        directory.mkdir()
        return f"sqlite:///{directory}"
    return f"postgresql+psycopg://dampwatch:s3cret-pw@127.0.0.1:{free_port()}/dampwatch"


def every_get_route(app_client: TestClient) -> list[str]:
    """Every GET route of the API (from its OpenAPI document) and of the dashboard."""
    ids = {"flat_id": "A-1", "device_id": "esp32-aaaa00000001"}
    paths = [
        path.format(**ids)
        for path, item in app_client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        if "get" in item and path != "/healthz"
    ]
    return [*paths, "/", "/flats/A-1", "/devices", "/quarantine"]


@pytest.fixture
def down_client(
    database_url: str, influx_db: tuple[str, str], tmp_path: Path
) -> Iterator[tuple[TestClient, str]]:
    url = store_down_url(database_url, tmp_path)
    settings = Settings(database_url=url, influx_url=influx_db[0], influx_database=influx_db[1])
    # a well-formed token: checking it needs the store, which is down
    token = {"Authorization": "Bearer dwt_000000000000_" + "A" * 43}
    with TestClient(
        create_app(settings), raise_server_exceptions=False, base_url=LOCAL, headers=token
    ) as c:
        yield c, url


def test_every_route_is_503_when_the_relational_store_is_down(
    down_client: tuple[TestClient, str], caplog: pytest.LogCaptureFixture
) -> None:
    client, url = down_client
    caplog.set_level(logging.DEBUG)
    routes = every_get_route(client)
    assert len(routes) >= 12
    for route in routes:
        r = client.get(route)
        assert r.status_code == 503, (route, r.status_code, r.text)
        assert "unavailable" in r.text
        for secret in (url, "s3cret", "127.0.0.1", "not-a-database", "sqlite"):
            assert secret not in r.text, (route, r.text)
    assert client.get("/healthz").status_code == 200
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    for secret in (url, "s3cret", "not-a-database"):
        assert secret not in logged


def test_readings_are_503_without_the_influx_address_when_influxdb_is_down(
    seeded_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = seeded_settings.model_copy(update={"influx_url": dead})
    caplog.set_level(logging.DEBUG)
    with TestClient(
        create_app(settings),
        raise_server_exceptions=False,
        base_url=LOCAL,
        headers=admin_headers(settings.database_url),
    ) as c:
        r = c.get(f"{FLATS}/A-1/readings")
        page = c.get("/flats/A-1")
    assert r.status_code == 503 and "unavailable" in r.json()["detail"]
    assert dead not in r.text and "127.0.0.1" not in r.text
    # the flat's page still shows its risk, with a notice in place of the charts
    assert page.status_code == 200 and "unavailable" in page.text
    assert dead not in page.text
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert dead not in logged


def test_an_influxdb_error_is_not_passed_through(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"influx_database": "no_such_database"})
    with TestClient(
        create_app(settings),
        raise_server_exceptions=False,
        base_url=LOCAL,
        headers=admin_headers(settings.database_url),
    ) as c:
        r = c.get(f"{FLATS}/A-1/readings")
    assert r.status_code == 503, r.text
    assert "no_such_database" not in r.text and "database not found" not in r.text


def test_the_readings_store_says_nothing_of_influxdb(sqlite_settings: Settings) -> None:
    from backend.readings import ReadingStore, ReadingsUnavailable
    from dampwatch_core.influx import InfluxClient

    dead = f"http://127.0.0.1:{free_port()}"
    for client in (
        InfluxClient(dead, "dampwatch"),
        InfluxClient(sqlite_settings.influx_url, "no_such_database"),
    ):
        with pytest.raises(ReadingsUnavailable) as caught:
            ReadingStore(client).page("A-1", 1_700_000_000, 1_700_003_600, limit=10)
        client.close()
        assert str(caught.value) == "the readings store is unavailable"
        assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_service_error_is_answered_without_its_words(sqlite_settings: Settings) -> None:
    from dampwatch_core.errors import ServiceUnavailable
    from dampwatch_core.influx import InfluxWriteRejected

    app = create_app(sqlite_settings)
    secret = "postgresql://dampwatch:s3cret-pw@10.0.0.7:5432/dampwatch"

    @app.get("/api/v1/test-unavailable")
    def unavailable() -> None:
        raise ServiceUnavailable(f"cannot reach {secret}")

    @app.get("/api/v1/test-rejected")
    def rejected() -> None:
        raise InfluxWriteRejected(f"query failed: {secret}")

    with TestClient(
        app,
        raise_server_exceptions=False,
        base_url=LOCAL,
        headers=admin_headers(sqlite_settings.database_url),
    ) as c:
        for route in ("/api/v1/test-unavailable", "/api/v1/test-rejected"):
            r = c.get(route)
            assert r.status_code == 503, route
            assert "s3cret" not in r.text and "10.0.0.7" not in r.text
