"""The housing officer's morning in a real browser (Debian's Chromium driven by
Playwright): sign in, open the most urgent case, see the flat's charts drawn,
acknowledge and record the investigation, download the evidence pack, sign out; the
case queue by keyboard alone; axe-core on the main pages. Each main page's screenshot
is taken; with DAMPWATCH_UPDATE_SCREENSHOTS=1 they are written to docs/screenshots."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiharness import LiveServer, serve, sign_in_page, write_readings
from dashharness import add_contractor, open_case, store

from alerting.cases.states import CaseKind
from backend.app import create_app
from backend.dashboard.assets import NODE_MODULES
from backend.registry import add_device
from dampwatch_core.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)


@pytest.fixture
def morning(sqlite_settings: Settings) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """The seeded estate with three open cases (one overdue) and a month of readings
    for the overdue case's flat, its block's outdoor sensor among them."""
    with store(sqlite_settings) as s:
        add_contractor(s)
        add_device(s, "esp32-out000000001", "A-1", "outdoor")
        urgent = open_case(s, "B-2", hours_ago=26).reference
        soon = open_case(s, "A-1", hours_ago=3).reference
        cold = open_case(s, "C-3", hours_ago=1, kind=CaseKind.OUTREACH).reference
    now = int(time.time())
    start = now - 30 * 86400
    for device, flat, room in (
        ("esp32-bbbb00000002", "B-2", "bedroom"),
        ("esp32-bbbb00000003", "B-2", "kitchen"),
        ("esp32-out000000001", "A-1", "outdoor"),
    ):
        write_readings(sqlite_settings, flat, device, room, range(start, now, 1800))
    for server in serve(create_app(sqlite_settings)):
        yield server, {"urgent": urgent, "soon": soon, "cold": cold}


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("DAMPWATCH_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / f"{name}.png")


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical WCAG 2.2 A/AA violations on the page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: "tag",
                values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}});
            return r.violations.map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['nodes']}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


@needs_chromium
def test_the_officers_morning(
    morning: tuple[LiveServer, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    server, refs = morning
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: errors.append(f"failed {r.url}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    sign_in_page(page, server.url)
    page.goto(server.url + "/cases")
    expect(page.locator("#count-overdue")).to_have_text("1")
    first = page.locator("#queue tbody tr").first
    expect(first).to_contain_text(refs["urgent"])
    expect(first).to_contain_text("overdue")
    shot(page, tmp_path, "case-queue")
    first.locator(f"a[href='/cases/{refs['urgent']}']").click()
    page.wait_for_url(f"**/cases/{refs['urgent']}")
    expect(page.locator("#case-state")).to_have_text("open")

    # the flat's story: uPlot draws four charts per room from the chart endpoint
    page.click("#case-summary a[href='/flats/B-2']")
    page.wait_for_url("**/flats/B-2")
    expect(page.locator("#room-charts")).to_have_attribute("data-drawn", "2")
    expect(page.locator("#room-charts canvas")).to_have_count(8)
    expect(page.locator("#room-charts")).to_contain_text("bedroom")
    expect(page.locator("#room-charts")).to_contain_text("outdoor °C")
    expect(page.locator("#messages-seam")).to_be_visible()
    shot(page, tmp_path, "flat")
    page.go_back()
    page.wait_for_url(f"**/cases/{refs['urgent']}")

    page.click("#action-acknowledge button")
    expect(page.locator("#done")).to_contain_text("Acknowledge recorded")
    expect(page.locator("#case-state")).to_have_text("acknowledged")
    page.select_option("#root_cause", "ventilation")
    page.fill("#investigation-reason", "extractor fan broken; black mould behind the wardrobe")
    page.click("#action-record_investigation button")
    expect(page.locator("#done")).to_contain_text("Record investigation recorded")
    expect(page.locator("#case-state")).to_have_text("investigating")
    expect(page.locator("#timeline")).to_contain_text("extractor fan broken")
    shot(page, tmp_path, "case")

    with page.expect_download() as download:
        page.click("#evidence-pdf")
    pdf = tmp_path / "pack.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert download.value.suggested_filename == f"evidence-{refs['urgent']}.pdf"
    page.goto(server.url + f"/cases/{refs['urgent']}/evidence")
    expect(page.locator("#pack-investigation")).to_contain_text("Ventilation defect")
    shot(page, tmp_path, "evidence-pack")

    for path, name in (("/", "estate"), ("/devices", "devices"), ("/kpis", "kpis")):
        page.goto(server.url + path)
        shot(page, tmp_path, name)
    expect(page.locator("#kpi-charts")).to_have_attribute("data-drawn", "2")

    assert not errors, errors  # no script error, no page or asset that failed to load
    page.click("#signout button")
    page.wait_for_url("**/signin")
    page.goto(server.url + "/cases")
    expect(page.locator("#signin")).to_be_visible()
    context.close()


@needs_chromium
def test_the_case_queue_by_keyboard_alone(
    morning: tuple[LiveServer, dict[str, str]], browser: Any
) -> None:
    from playwright.sync_api import expect

    server, refs = morning
    page = browser.new_page(viewport={"width": 1024, "height": 768})  # a tablet's width
    page.set_default_timeout(15_000)
    sign_in_page(page, server.url)
    page.goto(server.url + "/cases")

    def tab_to(selector: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("s => document.activeElement.matches(s)", selector):
                # the focus is visible: GOV.UK's yellow focus colour
                outline = page.evaluate(
                    "() => { const s = getComputedStyle(document.activeElement);"
                    " return s.outlineStyle + ' ' + s.boxShadow + ' ' + s.backgroundColor; }"
                )
                assert "none none" not in outline, (selector, outline)
                return
        raise AssertionError(f"{selector} not reached by Tab")

    tab_to(".govuk-skip-link")
    tab_to("#kind")
    page.keyboard.press("ArrowDown")  # first option after "All kinds": outreach? repair?
    chosen = page.eval_on_selector("#kind", "e => e.value")
    assert chosen in ("repair", "outreach")
    tab_to("#apply-filters")
    page.keyboard.press("Enter")
    # htmx swaps the results in and puts the filters in the address (no reload)
    expect(page).to_have_url(re.compile(rf"/cases\?kind={chosen}&"))
    rows = page.locator("#queue tbody tr")
    expected = [refs["cold"]] if chosen == "outreach" else [refs["urgent"], refs["soon"]]
    expect(rows).to_have_count(len(expected))
    tab_to(f"#queue a[href='/cases/{expected[0]}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{expected[0]}")
    tab_to("#action-acknowledge button")
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#case-state")).to_have_text("acknowledged")
    tab_to("#severity-emergency")  # a radio group is one Tab stop; arrows move in it
    page.keyboard.press("ArrowRight")
    assert page.eval_on_selector("#severity-significant", "e => e.checked")
    tab_to("#action-assess button")
    page.keyboard.press("Enter")
    expect(page.locator("#case-severity")).to_contain_text("significant")


@needs_chromium
def test_axe_finds_no_serious_violation_on_the_main_pages(
    morning: tuple[LiveServer, dict[str, str]], browser: Any
) -> None:
    server, refs = morning
    # axe is injected as a script: the pages' own policy allows only their own files
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in_page(page, server.url)
    found: dict[str, list[str]] = {}
    for path in (
        "/cases",
        f"/cases/{refs['urgent']}",
        f"/cases/{refs['urgent']}/evidence",
        "/flats/B-2",
        "/",
        "/devices",
        "/kpis",
    ):
        page.goto(server.url + path)
        if path == "/flats/B-2":
            page.wait_for_selector("#room-charts[data-drawn]")
        bad = serious_violations(page)
        if bad:
            found[path] = bad
    context.close()
    assert not found, found
