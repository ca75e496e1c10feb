"""Signing in and out in a real browser (Debian's Chromium driven by Playwright),
against the app served by uvicorn on a free port."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from dampwatch.stack.influxdb import InfluxDB
from dampwatch.stack.ports import free_port

from .conftest import PASSWORD, create_app, make_settings, seed_estate

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)


@pytest.fixture
def live_url(tmp_path: Path, influxdb: InfluxDB) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    seed_estate(url)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(
                make_settings(url, influx_url=influxdb.url, influx_database=influxdb.database)
            ),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the app did not start within 20 s"
        time.sleep(0.1)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
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
        yield b
        b.close()


def _sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    assert page.locator("#signin").count() == 1
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#signin button[type=submit]")


def test_sign_in_see_the_estate_sign_out_back_shows_nothing(  # type: ignore[no-untyped-def]
    live_url: str, browser, tmp_path: Path
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, live_url, "officer@example.org")
    page.wait_for_selector("#flats")
    table = page.locator("#flats").inner_text()
    assert "N-1" in table and "S-1" not in table  # their landlord's flats only
    page.click("text=N-1")
    page.wait_for_url("**/flats/N-1")
    assert "1 North Row" in page.content()
    page.screenshot(path=str(tmp_path / "flat.png"), full_page=True)
    page.click("#signout button[type=submit]")
    page.wait_for_url("**/signin")
    page.go_back()
    page.wait_for_load_state()
    assert "1 North Row" not in page.content()
    assert page.locator("#signin").count() == 1  # the sign-in form, nothing of the flat
    page.go_back()
    page.wait_for_load_state()
    assert "N-1" not in page.locator("main").inner_text()
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_form_posted_without_its_csrf_token_is_refused(  # type: ignore[no-untyped-def]
    live_url: str, browser
) -> None:
    page = browser.new_page()
    _sign_in(page, live_url, "admin@example.org")
    page.wait_for_selector("#flats")
    page.locator("#signout input[name=csrf_token]").evaluate("e => e.remove()")
    page.click("#signout button[type=submit]")
    page.wait_for_load_state()
    assert "security token" in page.content()
    page.goto(live_url + "/")
    assert page.locator("#flats").count() == 1  # still signed in
    # the sign-in form too
    context = browser.new_context()
    other = context.new_page()
    other.goto(live_url + "/signin")
    other.locator("#signin input[name=csrf_token]").evaluate("e => e.value = 'forged'")
    other.fill("#email", "admin@example.org")
    other.fill("#password", PASSWORD)
    other.click("#signin button[type=submit]")
    other.wait_for_load_state()
    assert "form had expired" in other.content()
    other.goto(live_url + "/")
    assert other.locator("#flats").count() == 0
