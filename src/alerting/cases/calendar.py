"""Working days for statutory clocks: weekends and bank holidays skipped.

A working day is Monday to Friday and not a bank holiday of the calendar in use.
The default calendar is England and Wales from the ``holidays`` package; a landlord
can load its own list in the format GOV.UK publishes at
https://www.gov.uk/bank-holidays.json (one division's ``events``), for instance to
pin the list its legal team signed off, or to add its own closure days.

Dates here are civil dates in the landlord's time zone (Europe/London by default):
"the day after the landlord became aware" is a day on the office calendar, not a
UTC date.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

from alerting.errors import CalendarError

__all__ = ["LONDON", "WorkingCalendar"]

LONDON = ZoneInfo("Europe/London")

#: The GOV.UK division for England and Wales, whose bank holidays Awaab's Law uses.
GOVUK_DIVISION = "england-and-wales"


class WorkingCalendar:
    """Which civil dates are working days.

    ``closures`` are the non-working weekdays (bank holidays and any closure days);
    with ``covers`` set, asking about a date outside those years is an error rather
    than a silent guess (a loaded list ends somewhere; the package's does not).
    """

    def __init__(
        self,
        closures: holidays.HolidayBase | Iterable[dt.date],
        *,
        name: str,
        covers: tuple[int, int] | None = None,
        tz: dt.tzinfo = LONDON,
    ) -> None:
        self._closures: holidays.HolidayBase | frozenset[dt.date] = (
            closures if isinstance(closures, holidays.HolidayBase) else frozenset(closures)
        )
        self.name = name
        self.covers = covers
        self.tz = tz

    @classmethod
    def england_and_wales(cls, tz: dt.tzinfo = LONDON) -> WorkingCalendar:
        """Bank holidays of England and Wales from the ``holidays`` package."""
        return cls(
            holidays.country_holidays("GB", subdiv="ENG"),
            name="England and Wales bank holidays (holidays package)",
            tz=tz,
        )

    @classmethod
    def from_govuk_json(
        cls,
        path: Path,
        *,
        division: str = GOVUK_DIVISION,
        extra_closures: Iterable[dt.date] = (),
        tz: dt.tzinfo = LONDON,
    ) -> WorkingCalendar:
        """A calendar from a file in GOV.UK's bank-holidays JSON format.

        The file's list replaces the package's; it covers the years from its first to
        its last event. ``extra_closures`` adds the landlord's own closure days.
        """
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CalendarError(f"cannot read holiday list {path}: {exc}") from exc
        if not isinstance(document, dict) or division not in document:
            raise CalendarError(f"holiday list {path} has no division {division!r}")
        events = document[division].get("events") if isinstance(document[division], dict) else None
        if not isinstance(events, list) or not events:
            raise CalendarError(f"holiday list {path}: division {division!r} has no events")
        dates: list[dt.date] = []
        for number, event in enumerate(events, start=1):
            raw = event.get("date") if isinstance(event, dict) else None
            try:
                dates.append(dt.date.fromisoformat(str(raw)))
            except ValueError as exc:
                raise CalendarError(
                    f"holiday list {path}: event {number} of {division!r} has no valid "
                    f"date ({raw!r})"
                ) from exc
        closures = [*dates, *extra_closures]
        return cls(
            closures,
            name=f"{path.name} ({division})",
            covers=(min(dates).year, max(dates).year),
            tz=tz,
        )

    def is_working_day(self, day: dt.date) -> bool:
        if self.covers is not None and not self.covers[0] <= day.year <= self.covers[1]:
            raise CalendarError(
                f"{self.name} covers {self.covers[0]}–{self.covers[1]}; {day.isoformat()} is "
                "outside it: load a list that includes that year"
            )
        return day.weekday() < 5 and day not in self._closures

    def local_date(self, instant: dt.datetime) -> dt.date:
        """The civil date of an instant in this calendar's time zone."""
        return instant.astimezone(self.tz).date()

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start`` (counting starts the day after)."""
        if days < 1:
            raise CalendarError(f"a working-day period must be at least 1 day, not {days}")
        day, counted = start, 0
        while counted < days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def end_of_day(self, day: dt.date) -> dt.datetime:
        """The instant a date ends in this time zone: a deadline "by" that day."""
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=self.tz)
