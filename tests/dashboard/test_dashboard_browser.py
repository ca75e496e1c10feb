"""The officers' dashboard in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from apiharness import LiveServer, sign_in_page, write_readings

from backend.app import create_app
from backend.auth.bootstrap import FIRST_ADMIN_EMAIL, FIRST_ADMIN_SECRET
from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.local import LocalStack
from dampwatch_core.contract import Reading
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models import RISK_LEVELS, FlatRisk, RiskAssessment
from dampwatch_core.settings import Settings
from simulators.publisher import DeviceCredential, DevicePublisher

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def poll(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Wait until ``check()`` is true (an exception counts as not yet), or fail."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"gave up after {timeout_s} s waiting for {what} (last error: {last})")


def assess(session, flat_id: str, damp: str, cold: str, reasons: list[str]) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    a = RiskAssessment(
        flat_id=flat_id,
        assessed_at=now,
        damp_level=damp,
        cold_level=cold,
        score=1.0,
        reasons=[{"code": "test", "message": m} for m in reasons],
        flags=[],
        rooms=[],
        thresholds_version="test-1",
    )
    session.add(a)
    session.flush()
    session.merge(
        FlatRisk(
            flat_id=flat_id,
            assessment_id=a.id,
            assessed_at=now,
            damp_level=damp,
            cold_level=cold,
            rank=max(RISK_LEVELS.index(damp), RISK_LEVELS.index(cold)),
            score=1.0,
        )
    )


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_officer_finds_the_worst_flat_and_sees_why(stack: LocalStack, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    sessions = make_sessionmaker(make_engine(stack.database_url))
    with sessions.begin() as session:
        for flat in ("A-1", "B-2", "C-3"):
            add_flat(session, flat, f"{flat} Lindsey Court", block="Lindsey Court")
        session.flush()
        device, pw = add_device(session, "esp32-dash00000001", "B-2", "bedroom")
        session.flush()
        sync_broker_credentials(session, stack.mosquitto.password_file, stack.mosquitto.pid_file)
        assess(session, "A-1", "low", "none", ["RH over 70 % for 20 h"])
        assess(
            session,
            "B-2",
            "high",
            "medium",
            ["Surface RH ≥ 80 % for 41 h in the last 7 days at the bedroom wall"],
        )
    now = int(time.time())
    publisher = DevicePublisher(stack.host, stack.ports.mqtt, DeviceCredential(device.id, pw))
    readings = [Reading(now - 600 + 60 * i, 17.0 + 0.1 * i, 80.0) for i in range(10)]
    # until the broker has reloaded its passwords the upload is refused; resending is
    # harmless (a reading is identified by device and time)
    poll(lambda: publisher.upload(readings) is not None, 15, "the broker to accept the device")
    poll(
        lambda: (
            httpx.get(
                f"{stack.api_url}/api/v1/flats/B-2/readings",
                headers=stack.api_headers,
                timeout=5,
            ).json()["count"]
            == 10
        ),
        20,
        "the readings to be stored",
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.goto(stack.api_url + "/")
        # signed out: the sign-in form; the stack's first admin signs in
        secrets = json.loads((stack.state_dir / "secrets.json").read_text())
        page.fill("#email", FIRST_ADMIN_EMAIL)
        page.fill("#password", secrets[FIRST_ADMIN_SECRET])
        page.click("#signin button[type=submit]")
        page.wait_for_selector("#flats")
        rows = page.locator("#flats tbody tr")
        assert rows.count() == 3
        assert rows.nth(0).inner_text().startswith("B-2")
        assert rows.nth(1).inner_text().startswith("A-1")
        assert "not assessed" in rows.nth(2).inner_text()
        page.screenshot(path=str(tmp_path / "estate.png"), full_page=True)
        page.click("text=B-2")
        page.wait_for_url("**/flats/B-2")
        assert "Surface RH ≥ 80 % for 41 h" in page.locator("#reasons").inner_text()
        expect(page.locator("svg.chart")).to_have_count(2)
        assert page.locator("svg.chart polyline").count() >= 2
        page.screenshot(path=str(tmp_path / "flat.png"), full_page=True)
        page.goto(stack.api_url + "/devices")
        assert "esp32-dash00000001" in page.locator("#devices").inner_text()
        page.goto(stack.api_url + "/flats/NOPE")
        assert "not found" in page.content()
        browser.close()


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


@pytest.fixture
def estate_server(sqlite_settings: Settings) -> Iterator[LiveServer]:
    """The seeded estate plus 150 flats in "Ash & Oak House" (151 with C-3), under uvicorn."""
    from apiharness import serve

    sessions = make_sessionmaker(make_engine(sqlite_settings.database_url))
    with sessions.begin() as session:
        for i in range(150):
            add_flat(session, f"X-{i:03d}", f"{i} Ash & Oak House", block="Ash & Oak House")
        session.flush()
        assess(session, "X-007", "high", "none", ["Surface RH ≥ 80 % at the bathroom wall"])
    now = int(time.time())
    write_readings(
        sqlite_settings,
        "X-007",
        "esp32-x00700000001",
        "bathroom",
        range(now - 20 * 86400, now, 900),
    )
    yield from serve(create_app(sqlite_settings))


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_officer_filters_by_block_and_pages_through_it(
    estate_server: LiveServer, browser_page
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in_page(page, estate_server.url)
    page.goto(estate_server.url + "/")
    rows = page.locator("#flats tbody tr")
    expect(rows).to_have_count(100)
    page.select_option("#block", "Ash & Oak House")
    page.click("text=Show")
    page.wait_for_url("**block=Ash*")
    expect(rows.first).to_contain_text("X-007")  # the one assessed flat of the block first
    first_page = rows.all_inner_texts()
    assert len(first_page) == 100 and all("Ash & Oak House" in r for r in first_page)
    page.click("a[rel=next]")
    page.wait_for_url("**page=2*")
    expect(rows).to_have_count(51)
    assert all("Ash & Oak House" in r for r in rows.all_inner_texts())
    assert not set(rows.all_inner_texts()) & set(first_page)
    expect(page.locator("#block")).to_have_value("Ash & Oak House")
    expect(page.locator("a[rel=next]")).to_have_count(0)
    page.click("a[rel=prev]")
    page.wait_for_url("**page=1*")
    expect(rows).to_have_count(100)

    page.click("text=X-007")
    page.wait_for_url("**/flats/X-007")
    page.click("text=30")
    page.wait_for_url("**days=30")
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("svg.chart polyline").first).to_be_visible()
    assert "bathroom wall" in page.locator("#reasons").inner_text()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_officer_filters_the_quarantine_by_reason(live_api: LiveServer, browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in_page(page, live_api.url)
    page.goto(live_api.url + "/quarantine")
    rows = page.locator("#quarantine tbody tr")
    expect(rows).to_have_count(2)
    page.click("a[href='?reason=not_json']")
    page.wait_for_url("**reason=not_json")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("esp32-bbbb00000002")
    expect(rows.first).to_contain_text("not_json")
    page.goto(live_api.url + "/quarantine?reason=%00")
    expect(page.locator("#error")).to_contain_text("reason")
