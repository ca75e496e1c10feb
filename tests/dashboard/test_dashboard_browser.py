"""The officers' dashboard in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.auth.bootstrap import FIRST_ADMIN_EMAIL, FIRST_ADMIN_SECRET
from backend.registry import add_device, add_flat, sync_broker_credentials
from dampwatch.stack.local import LocalStack
from dampwatch_core.contract import Reading
from dampwatch_core.db import make_engine, make_sessionmaker
from dampwatch_core.models import RISK_LEVELS, FlatRisk, RiskAssessment
from simulators.publisher import DeviceCredential, DevicePublisher

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


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
    from playwright.sync_api import sync_playwright

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
    time.sleep(0.3)
    now = int(time.time())
    DevicePublisher(stack.host, stack.ports.mqtt, DeviceCredential(device.id, pw)).upload(
        [Reading(now - 600 + 60 * i, 17.0 + 0.1 * i, 80.0) for i in range(10)]
    )
    time.sleep(1.5)

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
        assert page.locator("svg.chart").count() == 2
        assert page.locator("svg.chart polyline").count() >= 2
        page.screenshot(path=str(tmp_path / "flat.png"), full_page=True)
        page.goto(stack.api_url + "/devices")
        assert "esp32-dash00000001" in page.locator("#devices").inner_text()
        page.goto(stack.api_url + "/flats/NOPE")
        assert "not found" in page.content()
        browser.close()
