"""The dashboard's pages without a browser: filters, paging, the quarantine page, and no
server error from any ``page``, filter or flat id (issue 10 item 4, issue 20)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from apiharness import admin_headers, assess
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.app import create_app
from backend.registry import add_flat
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.settings import Settings

ROW = re.compile(r'<tr>\s*<td><a href="/flats/([^"]+)">')


def flat_ids(html: str) -> list[str]:
    return ROW.findall(html)


def links(html: str, rel: str) -> dict[str, list[str]] | None:
    m = re.search(rf'<a rel="{rel}" href="([^"]+)"', html)
    return None if m is None else parse_qs(urlsplit(m.group(1).replace("&amp;", "&")).query)


ODD_TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
NUMBERISH = st.one_of(
    st.integers(), st.integers(min_value=2**62, max_value=2**80).map(str), ODD_TEXT
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/", "/quarantine", "/devices", "/flats/B-2"]),
    params=st.dictionaries(
        st.sampled_from(["page", "block", "reason", "days"]),
        st.one_of(NUMBERISH, ODD_TEXT),
        max_size=3,
    ),
)
def test_no_server_error_from_any_page_or_filter(
    client: TestClient, path: str, params: dict[str, Any]
) -> None:
    r = client.get(path, params=params)
    assert r.status_code in (200, 422), (path, params, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(flat=ODD_TEXT.filter(lambda s: s not in ("", ".", "..")))
def test_no_server_error_from_any_flat_id(client: TestClient, flat: str) -> None:
    r = client.get(f"/flats/{quote(flat, safe='')}")
    assert r.status_code in (200, 404, 422), (flat, r.status_code)
    assert r.headers["content-type"].startswith("text/html")


def test_an_unknown_flat_is_a_404_page(client: TestClient) -> None:
    r = client.get("/flats/NOPE")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "not found" in r.text and 'id="error"' in r.text


def test_the_block_filter_shows_only_that_block(client: TestClient) -> None:
    every = client.get("/").text
    assert flat_ids(every) == ["B-2", "A-1", "C-3"]  # risk order, not assessed last
    only = client.get("/", params={"block": "Ash & Oak House"}).text
    assert flat_ids(only) == ["C-3"]
    assert '<option value="Ash &amp; Oak House" selected>' in only
    assert flat_ids(client.get("/", params={"block": "Lindsey Court"}).text) == ["B-2", "A-1"]
    assert "No flats" in client.get("/", params={"block": "Nowhere"}).text


def estate_with(settings: Settings, flats: int, assessed: int = 20) -> TestClient:
    """``flats`` more flats in the block "Ash & Oak House" (one more with C-3), the
    first ``assessed`` of them assessed."""
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine).begin() as session:
        for i in range(flats):
            add_flat(session, f"X-{i:03d}", f"{i} Ash & Oak House", block="Ash & Oak House")
        session.flush()
        for i in range(assessed):
            assess(session, f"X-{i:03d}", "medium", "none", ["test"], score=float(i))
    engine.dispose()
    return TestClient(
        create_app(settings),
        base_url="http://localhost",
        headers=admin_headers(settings.database_url),
    )


def test_paging_through_a_block_keeps_the_filter_and_ends(sqlite_settings: Settings) -> None:
    with estate_with(sqlite_settings, 250) as c:
        seen: list[str] = []
        params: dict[str, Any] = {"block": "Ash & Oak House"}
        pages = 0
        while True:
            html = c.get("/", params=params).text
            pages += 1
            ids = flat_ids(html)
            assert len(ids) == (100 if pages < 3 else 51)
            seen += ids
            assert (links(html, "prev") is None) == (pages == 1)
            nxt = links(html, "next")
            if nxt is None:
                break
            assert nxt["block"] == ["Ash & Oak House"]  # the filter survives its '&'
            params = {k: v[0] for k, v in nxt.items()}
        assert pages == 3
        assert len(seen) == len(set(seen)) == 251
        # the assessed flats first, highest score first
        assert seen[:20] == [f"X-{i:03d}" for i in range(19, -1, -1)]


def test_no_next_link_after_an_exactly_full_last_page(sqlite_settings: Settings) -> None:
    with estate_with(sqlite_settings, 199) as c:  # 200 with C-3
        html = c.get("/", params={"block": "Ash & Oak House", "page": 2}).text
        assert len(flat_ids(html)) == 100
        assert links(html, "next") is None and links(html, "prev") is not None


def test_the_quarantine_page_lists_and_filters_by_reason(client: TestClient) -> None:
    html = client.get("/quarantine").text
    assert 'href="?reason=not_json"' in html and 'href="?reason=out_of_range"' in html
    assert "a not_json payload" in html and "a out_of_range payload" in html
    only = client.get("/quarantine", params={"reason": "not_json"}).text
    assert "a not_json payload" in only and "a out_of_range payload" not in only
    assert "esp32-bbbb00000002" in only
    assert client.get("/quarantine", params={"reason": "Not Json!"}).status_code == 422
