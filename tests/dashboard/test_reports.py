"""The evidence pack (HTML and PDF), the estate's risk bands and filters, device health
exceptions first with coverage, the CSV exports and the KPIs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time

from apiharness import admin_headers, write_readings
from dashharness import DESK, act, add_contractor, add_person, now, open_case, signed_in, store
from fastapi.testclient import TestClient

from alerting.cases.clocks import Severity
from alerting.cases.states import CaseState, TriggerSource
from backend.app import create_app
from backend.dashboard.evidence import find_gaps
from backend.dashboard.exports import safe_cell
from backend.dashboard.kpis import compute_kpis, load_cases
from backend.readings import ReadingRow
from backend.registry import add_device, add_flat
from dampwatch_core.models import Device
from dampwatch_core.settings import Settings


def test_gaps_are_found_per_device_including_the_edges() -> None:
    rows = [ReadingRow(t, "d1", "bedroom", 18.0, 60.0, None) for t in (3600, 7200, 20000)]
    gaps = find_gaps(rows, 0, 30000, gap_s=7200)
    assert [(int(g.start.timestamp()), int(g.end.timestamp())) for g in gaps] == [
        (7200, 20000),
        (20000, 30000),
    ]
    assert find_gaps(rows, 0, 27000, gap_s=7200) == gaps[:1]
    # an hourly mean covers its hour: 02:00 to 08:00 is a six-hour gap, not seven
    hourly = [ReadingRow(h * 3600, "d1", "bedroom", 18.0, 60.0, None) for h in (0, 1, 8, 9)]
    (gap,) = find_gaps(hourly, 0, 10 * 3600, gap_s=7200, step_s=3600)
    assert gap.hours == 6.0


def test_the_evidence_pack_holds_the_record_and_prints_to_pdf(seeded_settings: Settings) -> None:
    with store(seeded_settings) as s:
        add_contractor(s)
        ref = open_case(s, "B-2", hours_ago=30).reference
    t = int(time.time())
    aware = t - 30 * 3600
    # readings from two days before awareness, with a gap of six whole clock hours (the
    # pack reads hourly means: a gap not on the hour would show as 5 h or 6 h by the time
    # of day the test runs)
    hour = aware - aware % 3600
    times = [
        x for x in range(aware - 2 * 86400, t, 900) if not hour - 12 * 3600 <= x < hour - 6 * 3600
    ]
    write_readings(seeded_settings, "B-2", "esp32-bbbb00000002", "bedroom", range(0))
    from dampwatch_core.influx import InfluxClient, format_line

    with InfluxClient(seeded_settings.influx_url, seeded_settings.influx_database) as c:
        c.write_lines(
            [
                format_line(
                    "climate",
                    {
                        "device": "esp32-bbbb00000002",
                        "flat": "B-2",
                        "room": "bedroom",
                        "landlord": "default",
                    },
                    {"temp_c": 16.5, "rh_pct": 78.0, "surface_c": 12.5},
                    x,
                )
                for x in times
            ]
        )
    add_person(seeded_settings, "ann@council.example", "officer")
    with signed_in(seeded_settings, "ann@council.example") as c:
        assert act(c, ref, "acknowledge")[0] == 303
        assert act(c, ref, "assess", severity="emergency", reason="child with asthma")[0] == 303
        assert act(c, ref, "record_investigation", root_cause="ventilation")[0] == 303
        html = c.get(f"/cases/{ref}/evidence")
        assert html.status_code == 200
        text = html.text
        assert f"Evidence pack: case {ref}" in text
        assert "Assessed <strong>emergency</strong> by ann@council.example" in text
        assert "child with asthma" in text
        assert "Root cause: Ventilation defect" in text
        assert "esp32-bbbb00000002" in text and "Acme Damp Ltd" in text
        assert "bedroom wall wet for 41 h" in text  # the trigger's reasons
        assert re.search(r"Gaps in the readings.*\(6 h\)", text, re.S)
        assert "<svg" in text
        # the investigation was recorded 30 h after awareness: its emergency clock missed
        assert re.search(r"<td>investigate</td><td>emergency</td>.*?<td>met late</td>", text, re.S)
        assert "To come with the messages work" in text  # the seam, marked
        pdf = c.get(f"/cases/{ref}/evidence.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-") and len(pdf.content) > 10_000
        assert f"evidence-{ref}.pdf" in pdf.headers["content-disposition"]


def test_estate_bands_and_filters(seeded_settings: Settings) -> None:
    with store(seeded_settings) as s:
        add_flat(s, "N-1", "1 North Road", block="North", landlord="north")
        s.flush()
        add_contractor(s)
        open_case(s, "A-1", hours_ago=1)
    with TestClient(
        create_app(seeded_settings),
        base_url="http://127.0.0.1",
        headers=admin_headers(seeded_settings.database_url),
    ) as c:
        html = c.get("/").text
        # B-2 high, A-1 low, C-3 and N-1 not assessed (pending)
        assert re.search(r'id="band-high">1<', html) and re.search(r'id="band-low">1<', html)
        assert re.search(r'id="band-pending">2<', html)
        ids = re.findall(r'<tr>\s*<td><a href="/flats/([^"]+)">', html)
        assert ids == ["B-2", "A-1", "C-3", "N-1"]
        pending = c.get("/", params={"band": "pending"}).text
        assert re.findall(r'<tr>\s*<td><a href="/flats/([^"]+)">', pending) == ["C-3", "N-1"]
        with_case = c.get("/", params={"case": "open"}).text
        assert re.findall(r'<tr>\s*<td><a href="/flats/([^"]+)">', with_case) == ["A-1"]
        north = c.get("/", params={"landlord": "north"}).text
        assert re.findall(r'<tr>\s*<td><a href="/flats/([^"]+)">', north) == ["N-1"]
        assert c.get("/", params={"band": "purple"}).status_code == 422
        flats = list(csv.DictReader(io.StringIO(c.get("/exports/flats.csv").text)))
        assert [f["flat_id"] for f in flats] == ["B-2", "A-1", "C-3", "N-1"]
        assert flats[0]["band"] == "high" and flats[2]["band"] == "pending"
        only = c.get("/exports/flats.csv", params={"band": "pending", "landlord": "north"}).text
        assert [f["flat_id"] for f in csv.DictReader(io.StringIO(only))] == ["N-1"]
        cases = list(csv.DictReader(io.StringIO(c.get("/exports/cases.csv").text)))
        assert [(x["flat_id"], x["state"], x["next_step"]) for x in cases] == [
            ("A-1", "open", "investigate")
        ]
        assert cases[0]["contractor"] == "Acme Damp Ltd" and cases[0]["breached"] == "no"
    add_person(seeded_settings, "nora@north.example", "officer", landlord="north")
    with signed_in(seeded_settings, "nora@north.example") as c:
        # the landlord filter cannot widen a scoped user's view
        html = c.get("/", params={"landlord": "default"}).text
        assert re.findall(r'<tr>\s*<td><a href="/flats/([^"]+)">', html) == ["N-1"]
        assert [
            r["flat_id"] for r in csv.DictReader(io.StringIO(c.get("/exports/flats.csv").text))
        ] == ["N-1"]
        assert list(csv.DictReader(io.StringIO(c.get("/exports/cases.csv").text))) == []


def test_a_cell_a_spreadsheet_would_run_is_neutralised() -> None:
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-2.5") == "-2.5" and safe_cell(None) == ""


def test_devices_exceptions_first_with_coverage(
    client: TestClient, seeded_settings: Settings
) -> None:
    t = now()
    with store(seeded_settings) as s:
        add_device(s, "esp32-cccc00000004", "C-3", "bedroom")
        s.flush()
        seen = {
            "esp32-aaaa00000001": (t - dt.timedelta(minutes=5), 3000, 0),  # healthy
            "esp32-bbbb00000002": (t - dt.timedelta(days=9), 3000, 0),  # offline a week
            "esp32-bbbb00000003": (t - dt.timedelta(hours=30), 3000, 0),  # offline a day
            "esp32-cccc00000004": (t - dt.timedelta(minutes=5), 2400, 12),  # battery, drops
        }
        for device_id, (last, mv, drops) in seen.items():
            d = s.get(Device, device_id)
            assert d is not None
            d.last_seen, d.batt_mv, d.drops = last, mv, drops
    html = client.get("/devices").text
    order = re.findall(r"<tr><td>(esp32-[a-z0-9]+)</td>", html)
    assert order == [
        "esp32-bbbb00000002",
        "esp32-bbbb00000003",
        "esp32-cccc00000004",
        "esp32-aaaa00000001",
    ]
    # A-1 and C-3 reported in the last 24 h; B-2's two sensors did not: 2 of 3 homes
    assert "66.7 %" in html and "(2 of 3)" in html
    only = client.get("/devices", params={"problem": "low_battery"}).text
    assert re.findall(r"<tr><td>(esp32-[a-z0-9]+)</td>", only) == ["esp32-cccc00000004"]
    assert client.get("/devices", params={"problem": "bogus"}).status_code == 422


def test_kpis_from_the_case_records(seeded_settings: Settings) -> None:
    t = now()
    with store(seeded_settings) as s:
        add_contractor(s)
        first = open_case(s, "A-1", hours_ago=24 * 40)
        from backend.auth.deps import Principal
        from backend.dashboard.actions import ActionRequest, apply_action

        officer = Principal(1, "ann@x", "officer", "default", None, "session", "x")
        at = t - dt.timedelta(days=39)  # investigated a day after awareness
        DESK.assess(s, first, Severity.SIGNIFICANT, actor="ann@x", now=at)
        for action in ("acknowledge", "record_investigation"):
            apply_action(
                s,
                DESK,
                first,
                ActionRequest.from_form({"action": action, "root_cause": "condensation"}),
                user=officer,
                landlord="default",
                now=at,
            )
        DESK.move(s, first, CaseState.MADE_SAFE, actor="ann@x", now=at)
        DESK.move(s, first, CaseState.RESOLVED, actor="ann@x", now=t - dt.timedelta(days=30))
        again = open_case(s, "A-1", hours_ago=24 * 10, trigger=TriggerSource.TENANT_REPORT)
        s.flush()
        k = compute_kpis(load_cases(s, since=t - dt.timedelta(days=365), landlord=None), t)
    assert k.cases == 2 and k.open == 1
    assert k.days_to_investigate is not None and abs(k.days_to_investigate - 1.0) < 0.01
    assert k.days_to_resolve is not None and abs(k.days_to_resolve - 10.0) < 0.01
    assert k.root_causes == {"condensation": 1}
    assert k.triggers == {"sensor": 1, "tenant_report": 1}
    assert (k.reopened, k.reopen_base) == (1, 1)  # A-1 had a new repair case within a year
    # the first, assessed significant, was investigated within 10 working days and made
    # safe in time, its written summary never sent; resolved without further works, so
    # those clocks do not count; the second, still pending, counts nowhere yet
    assert k.within == {"investigate": (1, 0), "make_safe": (1, 0), "written_summary": (0, 1)}
    assert k.within_pct("investigate") == 100.0
    assert again.reference
