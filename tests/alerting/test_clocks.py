"""Awaab's Law clocks against dates worked out by hand on a printed calendar."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from alerting.cases.calendar import WorkingCalendar
from alerting.cases.clocks import (
    Severity,
    Step,
    deadlines,
    deadlines_if_pending,
    is_breached,
    time_left,
)
from alerting.errors import AlertingError, CalendarError

UTC = dt.UTC


def _ew() -> WorkingCalendar:
    # Built inside each test, never at import, so that a mutant of the calendar shows.
    return WorkingCalendar.england_and_wales()


def _due(aware: dt.datetime, severity: Severity, step: Step, **kw: dt.datetime) -> dt.date | None:
    found = {d.step: d for d in deadlines(aware, severity, _ew(), **kw)}
    return found[step].due_date


@pytest.mark.parametrize(
    ("aware", "expected"),
    [
        # The regulations' guidance example: aware Monday 3 November 2025.
        (dt.datetime(2025, 11, 3, 9, 0, tzinfo=UTC), dt.date(2025, 11, 17)),
        # Friday before Christmas: 25, 26 Dec and 1 Jan are bank holidays.
        (dt.datetime(2025, 12, 19, 16, 0, tzinfo=UTC), dt.date(2026, 1, 7)),
        # A tenant's report on a Saturday counts from Monday, like one on the Friday.
        (dt.datetime(2025, 11, 8, 11, 0, tzinfo=UTC), dt.date(2025, 11, 21)),
        (dt.datetime(2025, 11, 7, 11, 0, tzinfo=UTC), dt.date(2025, 11, 21)),
        # Easter 2026: Good Friday 3 April and Easter Monday 6 April.
        (dt.datetime(2026, 4, 2, 10, 0, tzinfo=UTC), dt.date(2026, 4, 20)),
        # 23:30 UTC on Monday 2 June is 00:30 BST on Tuesday: the office's day counts.
        (dt.datetime(2025, 6, 2, 23, 30, tzinfo=UTC), dt.date(2025, 6, 17)),
        # Boxing Day 2026 falls on a Saturday: Monday 28 December is the substitute.
        (dt.datetime(2026, 12, 18, 10, 0, tzinfo=UTC), dt.date(2027, 1, 6)),
    ],
)
def test_significant_investigation_due_dates(aware: dt.datetime, expected: dt.date) -> None:
    assert _due(aware, Severity.SIGNIFICANT, Step.INVESTIGATE) == expected


def test_significant_steps_after_the_investigation() -> None:
    aware = dt.datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
    investigated = dt.datetime(2025, 11, 12, 14, 0, tzinfo=UTC)  # a Wednesday
    found = {
        d.step: d for d in deadlines(aware, Severity.SIGNIFICANT, _ew(), investigated=investigated)
    }
    assert found[Step.WRITTEN_SUMMARY].due_date == dt.date(2025, 11, 17)
    assert found[Step.MAKE_SAFE].due_date == dt.date(2025, 11, 19)
    assert found[Step.WORKS_BEGIN].due_date == dt.date(2025, 11, 19)
    assert found[Step.WORKS_START].due_date == dt.date(2026, 2, 4)
    assert found[Step.WORKS_START].due_at == dt.datetime(2026, 2, 5, 0, 0, tzinfo=UTC)
    # "By the 17th" means late from midnight at its end, London time.
    assert found[Step.WRITTEN_SUMMARY].due_at == dt.datetime(2025, 11, 18, 0, 0, tzinfo=UTC)


def test_steps_wait_for_the_investigation() -> None:
    aware = dt.datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
    found = {d.step: d for d in deadlines(aware, Severity.SIGNIFICANT, _ew())}
    assert not found[Step.INVESTIGATE].waiting
    for step in (Step.WRITTEN_SUMMARY, Step.MAKE_SAFE, Step.WORKS_BEGIN, Step.WORKS_START):
        assert found[step].waiting and found[step].due_at is None and found[step].due_date is None
    assert time_left(found[Step.MAKE_SAFE], aware) is None
    assert not is_breached(found[Step.MAKE_SAFE], now=aware + dt.timedelta(days=400))


def test_emergency_runs_in_hours_across_weekends_and_clock_changes() -> None:
    # Saturday 25 October 2025, 03:00 UTC: British Summer Time ends the next morning.
    aware = dt.datetime(2025, 10, 25, 3, 0, tzinfo=UTC)
    found = {d.step: d for d in deadlines(aware, Severity.EMERGENCY, _ew())}
    assert set(found) == {Step.INVESTIGATE, Step.MAKE_SAFE, Step.WORKS_BEGIN, Step.WORKS_START}
    assert found[Step.INVESTIGATE].due_at == dt.datetime(2025, 10, 26, 3, 0, tzinfo=UTC)
    assert found[Step.MAKE_SAFE].due_at == found[Step.INVESTIGATE].due_at


def test_pending_severity_shows_both_clocks() -> None:
    aware = dt.datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
    both = deadlines_if_pending(aware, _ew())
    assert both[Severity.EMERGENCY][0].due_at == aware + dt.timedelta(hours=24)
    assert both[Severity.SIGNIFICANT][0].due_date == dt.date(2025, 11, 17)


def test_breach_is_from_the_due_instant() -> None:
    aware = dt.datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
    investigate = deadlines(aware, Severity.SIGNIFICANT, _ew())[0]
    assert investigate.due_at is not None
    just_before = investigate.due_at - dt.timedelta(seconds=1)
    assert not is_breached(investigate, now=just_before)
    assert is_breached(investigate, now=investigate.due_at)
    assert not is_breached(investigate, now=investigate.due_at, done_at=just_before)
    assert is_breached(investigate, now=just_before, done_at=investigate.due_at)
    assert time_left(investigate, just_before) == dt.timedelta(seconds=1)
    late = investigate.due_at + dt.timedelta(hours=2)
    assert time_left(investigate, late) == dt.timedelta(hours=-2)


def test_times_without_a_zone_and_backwards_investigations_are_refused() -> None:
    naive = dt.datetime(2025, 11, 3, 9, 0)
    with pytest.raises(AlertingError, match=r"^aware must carry a time zone"):
        deadlines(naive, Severity.SIGNIFICANT, _ew())
    aware = dt.datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
    with pytest.raises(AlertingError, match=r"^investigated must carry"):
        deadlines(aware, Severity.SIGNIFICANT, _ew(), investigated=naive)
    investigate = deadlines(aware, Severity.SIGNIFICANT, _ew())[0]
    with pytest.raises(AlertingError, match=r"^now must carry"):
        time_left(investigate, naive)
    with pytest.raises(AlertingError, match=r"^now must carry"):
        is_breached(investigate, now=naive)
    with pytest.raises(AlertingError, match=r"^done_at must carry"):
        is_breached(investigate, now=aware, done_at=naive)
    with pytest.raises(AlertingError, match="before"):
        deadlines(aware, Severity.SIGNIFICANT, _ew(), investigated=aware - dt.timedelta(hours=1))


def _govuk_file(tmp_path: Path, dates: list[str]) -> Path:
    path = tmp_path / "bank-holidays.json"
    events = [{"title": "Holiday", "date": d, "notes": "", "bunting": True} for d in dates]
    path.write_text(
        json.dumps({"england-and-wales": {"division": "england-and-wales", "events": events}})
    )
    return path


def test_a_landlords_own_list_replaces_the_package_and_knows_its_years(tmp_path: Path) -> None:
    # The 2025 list plus a Christmas Eve closure; nothing for 2026.
    listed = [
        "2025-01-01",
        "2025-04-18",
        "2025-04-21",
        "2025-05-05",
        "2025-05-26",
        "2025-08-25",
        "2025-12-25",
        "2025-12-26",
    ]
    own = WorkingCalendar.from_govuk_json(
        _govuk_file(tmp_path, listed), extra_closures=[dt.date(2025, 12, 24)]
    )
    aware = dt.datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
    assert deadlines(aware, Severity.SIGNIFICANT, own)[0].due_date == dt.date(2025, 11, 17)
    late = dt.datetime(2025, 12, 10, 9, 0, tzinfo=UTC)
    # 11 Dec + 10 working days without 24-26 Dec: 11,12,15,16,17,18,19,22,23,29.
    assert deadlines(late, Severity.SIGNIFICANT, own)[0].due_date == dt.date(2025, 12, 29)
    with pytest.raises(CalendarError, match="covers 2025–2025; 2026-01-01 is outside it"):
        deadlines(dt.datetime(2025, 12, 19, 9, 0, tzinfo=UTC), Severity.SIGNIFICANT, own)
    assert own.name == "bank-holidays.json (england-and-wales)"
    # Its days are London days too (23:30 UTC on 2 June is Tuesday in BST).
    bst = dt.datetime(2025, 6, 2, 23, 30, tzinfo=UTC)
    assert deadlines(bst, Severity.SIGNIFICANT, own)[0].due_date == dt.date(2025, 6, 17)


def test_a_list_over_several_years_covers_them_all(tmp_path: Path) -> None:
    own = WorkingCalendar.from_govuk_json(_govuk_file(tmp_path, ["2024-12-25", "2026-12-25"]))
    assert own.covers == (2024, 2026)
    assert own.is_working_day(dt.date(2024, 12, 24))
    assert not own.is_working_day(dt.date(2024, 12, 25))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "cannot read"),
        ('{"scotland": {"events": []}}', "no division"),
        ('{"england-and-wales": {"events": []}}', "no events"),
        ('{"england-and-wales": {"events": [{"date": "25/12/2025"}]}}', "event 1"),
        ('{"england-and-wales": ["2025-12-25"]}', "no events"),
        ('{"england-and-wales": {"events": ["2025-12-25"]}}', "event 1"),
    ],
)
def test_a_bad_holiday_list_says_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "h.json"
    path.write_text(content)
    with pytest.raises(CalendarError, match=message):
        WorkingCalendar.from_govuk_json(path)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dampwatch.cli", "cases", "deadlines", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_deadlines_command() -> None:
    done = _cli(
        "--aware",
        "2025-12-19T16:00Z",
        "--severity",
        "significant",
        "--investigated",
        "2026-01-05T12:00+00:00",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    rows = {r["step"]: r for r in json.loads(done.stdout)["deadlines"]}
    assert rows["investigate"]["due_date"] == "2026-01-07"
    assert rows["written_summary"]["due_date"] == "2026-01-08"
    text = _cli("--aware", "2025-11-03T09:00Z", "--severity", "significant")
    assert "by the end of Mon 17 Nov 2025" in text.stdout
    assert "waits for the investigation" in text.stdout
    naive = _cli("--aware", "2025-11-03T09:00", "--severity", "significant")
    assert naive.returncode == 2 and "no UTC offset" in naive.stderr


def test_only_england_and_wales_holidays_count() -> None:
    ew = _ew()
    assert ew.name.startswith("England and Wales")
    assert not ew.is_working_day(dt.date(2025, 12, 26))  # Boxing Day, a Friday
    assert not ew.is_working_day(dt.date(2025, 12, 27))  # a Saturday
    # Scotland's 2 January, its August bank holiday, and St Patrick's Day (Northern
    # Ireland) are working days for a landlord in England.
    for day in (dt.date(2026, 1, 2), dt.date(2026, 8, 3), dt.date(2026, 3, 17)):
        assert ew.is_working_day(day), day


def test_working_day_periods_count_from_the_next_day() -> None:
    ew = _ew()
    friday = dt.date(2025, 11, 7)
    assert ew.add_working_days(friday, 1) == dt.date(2025, 11, 10)
    assert ew.add_working_days(dt.date(2025, 11, 10), 1) == dt.date(2025, 11, 11)
    with pytest.raises(CalendarError, match="at least 1"):
        ew.add_working_days(friday, 0)


def test_each_deadline_says_what_it_is() -> None:
    aware = dt.datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
    investigate, *_ = deadlines(aware, Severity.SIGNIFICANT, _ew(), investigated=aware)
    assert (investigate.severity, investigate.period, investigate.runs_from) == (
        Severity.SIGNIFICANT,
        "10 working days",
        "aware",
    )
    assert investigate.starts_at == aware
    emergency = deadlines(aware, Severity.EMERGENCY, _ew(), investigated=aware)
    assert [(d.step, d.period, d.runs_from) for d in emergency] == [
        (Step.INVESTIGATE, "24 hours", "aware"),
        (Step.MAKE_SAFE, "24 hours", "aware"),
        (Step.WORKS_BEGIN, "5 working days", "investigation concluded"),
        (Step.WORKS_START, "12 weeks", "investigation concluded"),
    ]
    assert emergency[0].due_date == dt.date(2025, 11, 4)
    # An investigation concluding the moment the landlord became aware is allowed.
    assert emergency[2].starts_at == aware and emergency[2].due_date == dt.date(2025, 11, 10)
